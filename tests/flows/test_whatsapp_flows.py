"""Issue 6 acceptance, the whole path across both channels: a citizen on WhatsApp (the fake Graph API
server plays Meta — signed webhooks in, Cloud API requests out) answers every menu with the
interactive ``list_reply`` / ``button_reply`` Meta would send for a tap on the row or button the bot
really offered (ids and titles read from the bot's captured outbound request), completes an SKM
questionnaire and files a complaint that routes to PDAM; the PDAM officer on Telegram (the fake Bot
API server) answers with ``/balas`` — free-form on WhatsApp while the 24-hour window is open — and
closes it with ``/selesai`` after the window has closed — the approved template message."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import KanalApp
from bot.settings import Settings
from storage.models import Complaint, OutboxMessage, SurveyResponse
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.fakes.whatsapp_api import FakeWhatsAppServer
from testkit.tg_chat import NUMBER_RE, person, text_of
from testkit.tg_chat import TOKEN as TG_TOKEN

WA_TOKEN = "EAAKanalFlowsTokenM4n8Qe2Wx7Kp3Zd"
APP_SECRET = "9d2c7e41a0b35f68c1d2e3f4a5b60718"
VERIFY_TOKEN = "kanal-flows-verify-8Rk3"
PNID = "106540352242922"
TEMPLATE = "kanal_notice"
CITIZEN, CITIZEN_NAME = "6285712345678", "Dewi Lestari"
ANON, ANON_NAME = "6287798765432", "Joko Prasetyo"
UNIT, SERVICE = "PDAM-PUSAT", "PDAM-PUSAT-03"
ANSWERS = [3, 4, 2, 3, 3, 4, 1, 3, 4]  # U1..U9
WATER = "Air PDAM tidak mengalir sejak tiga hari di rumah kami"
LEAK = "Pipa bocor di depan gang Melati, air bersih terbuang dan tekanan air kecil sekali"


@asynccontextmanager
async def both_channels(settings: Settings, clock):
    """One KanalApp on Telegram and WhatsApp, each against its fake server (no rate limits)."""
    async with (
        FakeTelegramServer(token=TG_TOKEN) as tg,
        FakeWhatsAppServer(token=WA_TOKEN, phone_number_id=PNID, app_secret=APP_SECRET) as wa,
    ):
        s = Settings(
            **{
                **settings.__dict__,
                "telegram_token": TG_TOKEN,
                "telegram_base_url": tg.base_url,
                "telegram_global_rate": 0.0,
                "telegram_chat_rate": 0.0,
                "whatsapp_token": WA_TOKEN,
                "whatsapp_phone_number_id": PNID,
                "whatsapp_app_secret": APP_SECRET,
                "whatsapp_verify_token": VERIFY_TOKEN,
                "whatsapp_api_base_url": wa.base_url,
                "whatsapp_template_notice": TEMPLATE,
                "whatsapp_global_rate": 0.0,
                "whatsapp_user_rate": 0.0,
            }
        )
        app = KanalApp(s, clock=clock)
        await app.start()
        wa.webhook_url = f"http://127.0.0.1:{app.port}/webhooks/whatsapp"
        try:
            yield tg, wa, app
        finally:
            await app.stop()


@pytest.fixture
async def world(settings, clock):
    async with both_channels(settings, clock) as w:
        yield w


def kind(message: dict) -> str:
    """ "button", "list", "text", "template", …"""
    return message["body"]["interactive"]["type"] if message["type"] == "interactive" else message["type"]


def offered(message: dict) -> list[dict]:
    """The rows / reply buttons of an interactive message, as the bot put them in its request:
    ``{"id", "title", "description"?}``."""
    inter = message["body"]["interactive"]
    if inter["type"] == "button":
        return [dict(b["reply"]) for b in inter["action"]["buttons"]]
    return [dict(row) for section in inter["action"]["sections"] for row in section["rows"]]


def texts(messages: list[dict]) -> str:
    return "\n---\n".join(m.get("text") or "" for m in messages)


class WaPerson:
    """A person on WhatsApp; every action returns what the bot sent them for it."""

    def __init__(self, wa: FakeWhatsAppServer, app: KanalApp, wa_id: str, name: str) -> None:
        self.wa, self.app, self.id, self.name = wa, app, wa_id, name
        self.seen = 0

    def new(self) -> list[dict]:
        sent = self.wa.sent(to=self.id)
        fresh, self.seen = sent[self.seen :], len(sent)
        return fresh

    async def settle(self) -> list[dict]:
        await self.wa.wait_for_sent(self.seen + 1, to=self.id, timeout=10)
        await quiet(self.wa, self.app)
        return self.new()

    async def send(self, text: str) -> list[dict]:
        await self.wa.push_text(self.id, text, name=self.name)
        return await self.settle()

    async def tap(self, *, value: str | None = None, title: str | None = None) -> list[dict]:
        """Tap a row or button of the newest interactive message, chosen by its id or by the title
        the person reads: the webhook carries exactly what Meta would — the ``list_reply`` /
        ``button_reply`` with that id and title, in reply to (``context``) that message."""
        menus = [m for m in self.wa.sent(to=self.id) if m["type"] == "interactive"]
        assert menus, "no interactive message to tap on"
        menu = menus[-1]
        rows = offered(menu)
        hits = [r for r in rows if (value is None or r["id"] == value) and (title is None or r["title"] == title)]
        assert len(hits) == 1, f"{value or title!r} not offered once by the last menu: {rows}"
        (row,) = hits
        if kind(menu) == "button":
            await self.wa.push_button_reply(self.id, row["id"], row["title"], context=menu["id"], name=self.name)
        else:
            await self.wa.push_list_reply(
                self.id, row["id"], row["title"], row.get("description"), context=menu["id"], name=self.name
            )
        return await self.settle()


async def quiet(wa: FakeWhatsAppServer, app: KanalApp, window: float = 0.15) -> None:
    """Nothing pending: webhooks handled, outbox empty, no new message for ``window``."""
    last = -1
    for _ in range(200):
        await app.whatsapp.idle()
        await app.outbox.drain()
        now = len(wa.sent())
        if now == last:
            return
        last = now
        await asyncio.sleep(window)
    raise AssertionError("WhatsApp traffic did not settle")


async def notifications(app: KanalApp, address: str) -> list[OutboxMessage]:
    async with app.db.unit_of_work() as uow:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == "whatsapp",
                OutboxMessage.address == address,
                OutboxMessage.purpose == "notification",
            )
            .order_by(OutboxMessage.id)
        )
        return list((await uow.session.execute(stmt)).scalars().all())


async def file_complaint(citizen: WaPerson, text: str, privacy: str) -> tuple[str, list[dict]]:
    """/lapor from the menu, the text, no photo, no location, ``privacy`` (tapped by its label), Kirim.
    Returns the number and the summary the citizen saw."""
    out = await citizen.tap(value="/lapor")
    assert "Ceritakan masalah" in texts(out)
    out = await citizen.send(text)
    assert kind(out[-1]) == "button" and [r["id"] for r in offered(out[-1])] == ["lapor:next", "/batal"]
    out = await citizen.tap(value="lapor:next")  # no photos
    assert "lapor:skip" in [r["id"] for r in offered(out[-1])]
    out = await citizen.tap(value="lapor:skip")  # no location
    assert "Biasa" in out[-1]["text"] and "Anonim" in out[-1]["text"]
    out = await citizen.tap(title=privacy)  # by what the person reads
    summary = out[-1]
    assert kind(summary) == "list" and "Ringkasan laporan" in summary["text"]
    out = await citizen.tap(value="lapor:send")
    numbers = set(NUMBER_RE.findall(texts(out)))
    assert len(numbers) == 1, texts(out)
    return numbers.pop(), [summary, *out]


async def test_whatsapp_citizen_survey_complaint_answered_on_telegram_free_form_then_template(world, db, clock):
    tg, wa, app = world
    officer = await person(tg, app, 601, "Bu Ratna", role="officer", opd="PDAM")
    other = await person(tg, app, 602, "Pak Rudi", role="officer", opd="PUPR")
    dewi = WaPerson(wa, app, CITIZEN, CITIZEN_NAME)

    # ---- consent (reply buttons), then the menu (a list) --------------------------------------
    out = await dewi.send("Halo")
    assert kind(out[-1]) == "button" and "UU No. 27/2022" in out[-1]["text"]
    out = await dewi.tap(value="consent:yes")
    assert kind(out[-1]) == "list" and {"/survei", "/lapor"} <= {r["id"] for r in offered(out[-1])}

    # ---- 1. SKM: OPD (second page) → unit → service, profile skipped, nine answers, no saran ----
    out = await dewi.tap(value="/survei")
    page = out[-1]
    ids = [r["id"] for r in offered(page)]
    assert kind(page) == "list" and len(ids) == 10 and "skm:opd:PDAM" not in ids  # 8 OPDs, Berikutnya, Batal
    out = await dewi.tap(value="skm:opdpage:1")
    page = out[-1]
    assert kind(page) == "list" and {"skm:opd:PDAM", "skm:opdpage:0", "/batal"} <= {r["id"] for r in offered(page)}
    pdam = next(r for r in offered(page) if r["id"] == "skm:opd:PDAM")
    assert len(pdam["title"]) <= 24 and pdam.get("description", pdam["title"]).startswith("Perumda Air Minum")
    out = await dewi.tap(value="skm:opd:PDAM")
    units = out[-1]
    assert kind(units) == "list" and sorted(r["id"] for r in offered(units)) == [
        "/batal",
        "skm:unit:PDAM-CJB",
        "skm:unit:PDAM-PUSAT",
    ]
    out = await dewi.tap(value=f"skm:unit:{UNIT}")
    services = out[-1]
    assert "Layanan apa yang Anda terima?" in services["text"] and kind(services) == "list"
    assert [r["id"] for r in offered(services)] == [f"skm:svc:{UNIT}-0{n}" for n in range(1, 5)] + [
        "skm:svc:-",
        "/batal",
    ]
    out = await dewi.tap(value=f"skm:svc:{SERVICE}")
    profile = out[-1]
    assert "boleh dilewati" in profile["text"] and "skm:p:all" in [r["id"] for r in offered(profile)]
    out = await dewi.tap(value="skm:p:all")  # the whole profile skipped
    for i, value in enumerate(ANSWERS):
        question = out[-1]
        assert kind(question) == "list" and f"Pertanyaan {i + 1} dari 9" in question["text"], question
        assert [r["id"] for r in offered(question)][:4] == [f"skm:a:{i}:{v}" for v in (1, 2, 3, 4)]
        out = await dewi.tap(value=f"skm:a:{i}:{value}")
    saran = out[-1]
    assert kind(saran) == "button" and [r["id"] for r in offered(saran)] == ["skm:nosaran"]
    out = await dewi.tap(value="skm:nosaran")  # saran skipped
    assert "Terima kasih! Jawaban Anda sudah kami simpan" in texts(out) and "Layanan Pelanggan Kantor Pusat" in texts(
        out
    )
    assert kind(out[-1]) == "list" and "/lapor" in [r["id"] for r in offered(out[-1])]  # the menu again

    async with db.unit_of_work() as uow:
        (survey,) = (await uow.session.execute(select(SurveyResponse))).scalars().all()
    assert (survey.channel, survey.status, survey.opd_code, survey.unit_code, survey.service_code) == (
        "whatsapp",
        "complete",
        "PDAM",
        UNIT,
        SERVICE,
    )
    assert [getattr(survey, f"u{n}") for n in range(1, 10)] == ANSWERS
    assert survey.saran is None and survey.finished_at is not None

    # ---- 2. the complaint: routed to PDAM, an ADU-… number ----------------------------------------
    number, seen = await file_complaint(dewi, WATER, "Biasa")
    assert "Perumda Air Minum Tirta Sukamaju" in seen[0]["text"]  # the summary's proposed OPD
    assert "langsung diteruskan ke Perumda Air Minum Tirta Sukamaju" in texts(seen[1:])
    note = await officer.settle()
    assert number in text_of(note) and f"Pelapor: {CITIZEN_NAME}" in text_of(note)  # the officer sees who filed it
    assert other.new() == []  # PUPR is not told
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert (c.channel, c.opd_code, c.state, c.privacy, c.text) == ("whatsapp", "PDAM", "disposisi", "biasa", WATER)

    # ---- 3. the officer answers on Telegram, 23 hours later: still inside the window ------------
    clock.advance(timedelta(hours=23))
    out = await officer.send(f"/balas {number} Petugas kami memperbaiki pipa distribusi di wilayah Anda hari ini.")
    assert "Jawaban terkirim" in text_of(out)
    got = await dewi.settle()
    # free-form inside the window, with the "Tanggapi" reply button (a typed answer works too)
    assert [kind(m) for m in got] == ["button"] and got[0]["template"] is None
    assert number in got[0]["text"] and "memperbaiki pipa distribusi di wilayah Anda hari ini" in got[0]["text"]

    # ---- 4. another 90 minutes: the window has closed; /selesai goes out as the template ---------
    clock.advance(timedelta(minutes=90))
    wa.window = "error"  # Meta's side too: a free-form message would now be refused with 131047
    wa.expire_window(CITIZEN)
    out = await officer.send(f"/selesai {number} Aliran air sudah normal kembali sejak pukul 10.00.")
    assert "ditandai selesai" in text_of(out)
    got = await dewi.settle()
    assert [kind(m) for m in got] == ["template"]
    (template,) = got
    assert template["template"] == TEMPLATE and template["body"]["template"]["name"] == TEMPLATE
    assert template["body"]["template"]["language"] == {"code": "id"}
    (param,) = template["params"]
    assert number in param and "Aliran air sudah normal kembali sejak pukul 10.00." in param and "\n" not in param
    await quiet(wa, app)
    assert wa.rejected(131047) == [] and dewi.new() == []  # nothing was tried free-form
    rows = await notifications(app, CITIZEN)
    assert [r.status for r in rows] == ["sent", "sent"]  # the answer (free-form), the resolution (as the template)
    assert [r.platform_message_id for r in rows] == [m["id"] for m in wa.sent(to=CITIZEN)[-2:]]
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert c.state == "selesai"


async def anonymous_leak_report(world, officer_chat: int):
    """A PDAM officer on Telegram; Joko on WhatsApp consents and files the leak anonymously."""
    tg, wa, app = world
    officer = await person(tg, app, officer_chat, "Bu Ratna", role="officer", opd="PDAM")
    joko = WaPerson(wa, app, ANON, ANON_NAME)
    await joko.send("/start")
    await joko.tap(value="consent:yes")
    number, _ = await file_complaint(joko, LEAK, "Anonim")
    return officer, joko, number


async def test_anonim_complaint_from_whatsapp_shows_the_officer_no_name_and_no_number(world, db):
    officer, joko, number = await anonymous_leak_report(world, 611)

    seen = await officer.settle()
    seen += await officer.send(f"/lihat {number}")
    seen += await officer.send("/antrian")
    shown = text_of(seen)
    assert number in shown and "Pelapor: Anonim" in shown and "pipa bocor" in shown.lower()
    for secret in (ANON, ANON[2:], "0" + ANON[2:], ANON_NAME, ANON_NAME.split()[0]):
        assert secret not in shown, secret

    out = await officer.send(f"/balas {number} Tim kami menuju gang Melati untuk menutup kebocoran.")
    assert "Jawaban terkirim" in text_of(out)
    got = await joko.settle()  # the answer still reaches the anonymous citizen, on WhatsApp
    assert [kind(m) for m in got] == ["button"] and "menutup kebocoran" in got[0]["text"]
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert (c.privacy, c.opd_code, c.channel) == ("anonim", "PDAM", "whatsapp")


async def test_an_answer_whatsapp_reports_failed_later_is_reported_to_the_officer(world, db):
    """WhatsApp accepts the officer's answer, then reports it failed through a status webhook (here:
    the person's 24-hour window had closed on Meta's side, 131047). The officer hears of it once,
    without the anonymous citizen's name or number; the row keeps the failure."""
    tg, wa, app = world
    officer, _, number = await anonymous_leak_report(world, 621)
    await officer.settle()

    wa.window = "status"
    wa.expire_window(ANON)  # Meta's clock says closed; ours (a margin inside 24 h) still says open
    out = await officer.send(f"/balas {number} Tim kami menuju gang Melati untuk menutup kebocoran.")
    assert "Jawaban terkirim" in text_of(out)
    if "tidak sampai" not in text_of(out):  # the report follows the status webhook
        out += await officer.settle()
    body = text_of(out)
    assert f"tentang laporan {number} tidak sampai ke pelapor" in body
    for secret in (ANON, ANON[2:], ANON_NAME, ANON_NAME.split()[0]):
        assert secret not in body, secret
    await quiet(wa, app)
    assert sum("tidak sampai" in (m.get("visible_text") or "") for m in tg.sent(621)) == 1
    rows = await notifications(app, ANON)
    answer = [r for r in rows if "menutup kebocoran" in str(r.payload)]
    assert len(answer) == 1 and answer[0].delivery_status == "failed" and "131047" in (answer[0].last_error or "")
