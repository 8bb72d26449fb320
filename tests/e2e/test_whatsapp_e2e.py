"""WhatsApp end to end: a citizen on WhatsApp (the fake Graph API server plays Meta: signed
webhooks in, Cloud API messages out) completes an SKM questionnaire by tapping list rows and reply
buttons — the ids the bot sent — and files a complaint; an OPD officer on Telegram (the fake Bot
API server) answers it; the answer reaches the citizen on WhatsApp, free-form inside the 24-hour
customer-service window and as the approved template once the window has closed."""

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

WA_TOKEN = "EAAKanalE2eTokenQ7x2Lm9Pv4Rt8Yw1"
APP_SECRET = "5b1e9c07d3a24f68b0c1e2d3f4a5b6c7"
VERIFY_TOKEN = "kanal-e2e-verify-4Tq9"
PNID = "106540352242922"
CITIZEN = "6281311112222"
UNIT = "DISDUKCAPIL-PST"
ANSWERS = [4, 3, 3, 4, 2, 4, 3, 3, 4]  # U1..U9
ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."


@asynccontextmanager
async def both_channels(settings: Settings, clock, **extra):
    """One KanalApp with Telegram and WhatsApp, each against its fake server (no rate limits)."""
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
                "whatsapp_template_notice": "kanal_notice",
                "whatsapp_global_rate": 0.0,
                "whatsapp_user_rate": 0.0,
                **extra,
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


class WaCitizen:
    """A person on WhatsApp. Every action returns what the bot sent them for it."""

    def __init__(self, wa: FakeWhatsAppServer, app: KanalApp, wa_id: str, name: str) -> None:
        self.wa, self.app, self.id, self.name = wa, app, wa_id, name
        self.seen = 0

    def new(self) -> list[dict]:
        sent = self.wa.sent(to=self.id)
        fresh = sent[self.seen :]
        self.seen = len(sent)
        return fresh

    async def settle(self, expect_new: bool = True) -> list[dict]:
        if expect_new:
            await self.wa.wait_for_sent(self.seen + 1, to=self.id, timeout=10)
        await quiet(self.wa, self.app)
        return self.new()

    @property
    def last(self) -> dict:
        return self.wa.sent(to=self.id)[-1]

    async def send(self, text: str) -> list[dict]:
        await self.wa.push_text(self.id, text, name=self.name)
        return await self.settle()

    async def tap(self, value: str) -> list[dict]:
        """Tap the reply button / list row with this id on the newest interactive message (the
        fake refuses ids that message does not offer)."""
        await self.wa.push_choice(self.id, value, name=self.name)
        return await self.settle()

    async def tap_label(self, label: str) -> list[dict]:
        """Tap by what the person reads (a row title or button title)."""
        last = self.last
        assert last["type"] == "interactive", last
        for value, title in zip(last["choices"], last["titles"], strict=False):
            if title == label:
                return await self.tap(value)
        raise AssertionError(f"no {label!r} in {last['titles']}")


def kind_of(message: dict) -> str:
    """ "button", "list", "text", "template", "image" …"""
    return message["body"]["interactive"]["type"] if message["type"] == "interactive" else message["type"]


def rows_of(message: dict) -> dict[str, str]:
    return dict(zip(message["choices"], message["titles"], strict=False))


async def outbox_rows(app: KanalApp, address: str) -> list[OutboxMessage]:
    async with app.db.unit_of_work() as uow:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.channel == "whatsapp", OutboxMessage.address == address)
            .order_by(OutboxMessage.id)
        )
        return list((await uow.session.execute(stmt)).scalars().all())


async def test_citizen_on_whatsapp_surveys_and_complains_officer_answers_on_telegram(world, db, clock):
    tg, wa, app = world
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    ani = WaCitizen(wa, app, CITIZEN, "Ani Wijaya")

    # ---- consent and menu: reply buttons, then a list message --------------------------------
    out = await ani.send("Halo")
    assert kind_of(out[-1]) == "button" and "UU No. 27/2022" in out[-1]["text"]
    assert out[-1]["choices"] == ["consent:yes", "consent:no", "consent:more"]
    out = await ani.tap("consent:yes")
    menu = out[-1]
    assert kind_of(menu) == "list" and menu["body"]["interactive"]["action"]["button"] == "Pilih"
    assert {"/survei", "/lapor", "/status"} <= set(menu["choices"])

    # ---- SKM: OPD → unit → service → profile → nine questions, all lists ------------------------
    out = await ani.tap("/survei")
    opds = out[-1]
    assert kind_of(opds) == "list" and "skm:opd:DISDUKCAPIL" in opds["choices"] and len(opds["choices"]) <= 10
    assert all(len(t) <= 24 for t in opds["titles"])
    out = await ani.tap("skm:opd:DISDUKCAPIL")
    units = out[-1]
    assert kind_of(units) == "list" and f"skm:unit:{UNIT}" in units["choices"]
    # two unit names share their first 24 characters: the rows are numbered, the full names are the descriptions
    unit_rows = units["body"]["interactive"]["action"]["sections"][0]["rows"]
    assert [r["title"][:2] for r in unit_rows][:3] == ["1.", "2.", "3."]
    assert any("Kecamatan Cijambu" in r.get("description", "") for r in unit_rows)
    assert unit_rows[-1] == {"id": "/batal", "title": "4. ❌ Batal"}  # not cut: no description
    # a typed number picks that row, like a tap
    position = units["choices"].index(f"skm:unit:{UNIT}") + 1
    out = await ani.send(str(position))
    services = out[-1]
    assert kind_of(services) in ("list", "button") and f"skm:svc:{UNIT}-02" in services["choices"]
    out = await ani.tap(f"skm:svc:{UNIT}-02")
    assert "sekali" in out[-1]["text"] and kind_of(out[-1]) == "list"
    for index, pick in enumerate((1, 1, 2, 3)):  # umur, jenis kelamin, pendidikan, pekerjaan
        out = await ani.tap(f"skm:p:{index}:{pick}")

    for i, value in enumerate(ANSWERS):
        question = out[-1]
        assert kind_of(question) == "list", question
        assert f"Pertanyaan {i + 1} dari 9" in question["text"]
        assert question["choices"][:4] == [f"skm:a:{i}:{v}" for v in (1, 2, 3, 4)]
        assert (question["choices"][4:] == ["skm:back"]) == (i > 0)
        if i == 1:  # answered wrongly, then Kembali, then again
            out = await ani.tap("skm:a:1:1")
            assert "Pertanyaan 3 dari 9" in out[-1]["text"]
            out = await ani.tap("skm:back")
            assert "Pertanyaan 2 dari 9" in out[-1]["text"]
            question = out[-1]
        if i == 3:
            # Meta re-delivers the same webhook (same wamid): one effect, one answer
            fields = {
                "context": {"from": wa.display_phone_number, "id": question["id"]},
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": f"skm:a:3:{value}", "title": rows_of(question)[f"skm:a:3:{value}"]},
                },
            }
            wamid = wa.new_wamid()
            await wa.push(CITIZEN, fields, wamid=wamid)
            out = await ani.settle()
            await wa.push(CITIZEN, fields, wamid=wamid)
            await quiet(wa, app)
            assert ani.new() == []  # the second copy: no second answer, no next question skipped
            assert "Pertanyaan 5 dari 9" in out[-1]["text"]
        elif i == 5:
            out = await ani.send(str(value))  # typed, as the question's own hint allows
        else:
            out = await ani.tap(f"skm:a:{i}:{value}")
    assert kind_of(out[-1]) == "button" and out[-1]["choices"] == ["skm:nosaran"]
    out = await ani.send("Antrean di loket 3 terlalu lama, mohon tambah petugas pada jam sibuk.")
    assert "Terima kasih" in text_of_wa(out) and kind_of(out[-1]) == "list"  # thanks, and the menu again

    async with db.unit_of_work() as uow:
        (survey,) = (await uow.session.execute(select(SurveyResponse))).scalars().all()
    assert (survey.channel, survey.status, survey.unit_code, survey.service_code) == (
        "whatsapp",
        "complete",
        UNIT,
        f"{UNIT}-02",
    )
    assert [getattr(survey, f"u{n}") for n in range(1, 10)] == ANSWERS
    assert survey.saran.startswith("Antrean di loket 3")

    # ---- complaint: text, a photo, a location, privacy from a list, summary list ------------------
    out = await ani.tap("/lapor")
    assert "Ceritakan masalah" in out[-1]["text"]
    out = await ani.send(ROAD)
    assert kind_of(out[-1]) == "button" and out[-1]["choices"] == ["lapor:next", "/batal"]
    await wa.push_image(CITIZEN, caption="lubang di depan sekolah")
    out = await ani.settle()
    assert "Foto 1 dari maks. 5" in out[-1]["text"]
    out = await ani.tap("lapor:next")
    assert "lapor:skip" in out[-1]["choices"]
    await wa.push_location(CITIZEN, -6.914744, 107.60981, name="SDN 2 Sukamaju", address="Jl. Merdeka No. 5, Sukamaju")
    out = await ani.settle()
    privacy = out[-1]
    assert kind_of(privacy) == "list" and privacy["choices"][:3] == [
        "lapor:privacy:biasa",
        "lapor:privacy:rahasia",
        "lapor:privacy:anonim",
    ]
    assert "Anonim" in privacy["text"]
    out = await ani.tap_label("Biasa")  # by what the person reads
    summary = out[-1]
    assert kind_of(summary) == "list" and "lapor:send" in summary["choices"] and "Jl. Merdeka No. 5" in text_of_wa(out)
    out = await ani.tap("lapor:send")
    (number,) = set(NUMBER_RE.findall(text_of_wa(out)))

    # ---- the officer on Telegram: notified, views it, answers -----------------------------------
    note = await officer.settle()
    assert number in text_of(note) and "Ani Wijaya" in text_of(note)
    out = await officer.send(f"/lihat {number}")
    assert "Jl. Merdeka No. 5" in text_of(out) and "dikirim lewat kanal lain" in text_of(out)  # no public URL here

    out = await officer.send(f"/balas {number} Terima kasih, tim kami meninjau lokasi besok pagi.")
    assert "Jawaban terkirim" in text_of(out)
    got = await ani.settle()
    assert [kind_of(m) for m in got] == ["button"] and "tim kami meninjau lokasi besok pagi" in got[0]["text"]
    assert got[0]["template"] is None  # inside the 24-hour window: free-form

    # ---- 25 hours later the window has closed: the resolution goes out as the template --------
    clock.advance(timedelta(hours=25))
    wa.expire_window(CITIZEN)  # Meta agrees: a free-form message now would fail with 131047
    out = await officer.send(f"/selesai {number} Lubang sudah ditambal dengan aspal hari ini.")
    assert "ditandai selesai" in text_of(out)
    got = await ani.settle()
    assert [kind_of(m) for m in got] == ["template"]
    template = got[0]
    assert template["template"] == "kanal_notice" and template["body"]["template"]["language"] == {"code": "id"}
    (param,) = template["params"]
    assert number in param and "Lubang sudah ditambal dengan aspal hari ini." in param and "\n" not in param
    await quiet(wa, app)  # (a free-form message would be reported failed with 131047 by now)
    assert wa.rejected(131047) == [] and ani.new() == []
    rows = await outbox_rows(app, CITIZEN)
    notice = [r for r in rows if r.purpose == "notification"]
    assert [r.status for r in notice] == ["sent", "sent"]  # the answer (free-form), the resolution (template)
    assert all(r.delivery_status != "failed" for r in rows)

    # ---- the citizen writes again (the window reopens) and rates the resolution ---------------
    out = await ani.send(f"/status {number}")
    assert "Lubang sudah ditambal" in text_of_wa(out)
    assert kind_of(out[-1]) == "button" and out[-1]["choices"] == [f"/nilai {number} puas", f"/nilai {number} tidak"]
    out = await ani.tap(f"/nilai {number} puas")
    assert "ditutup" in text_of_wa(out)
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
    assert (c.channel, c.state, c.rating, c.opd_code, c.address) == (
        "whatsapp",
        "ditutup",
        "puas",
        "PUPR",
        "Jl. Merdeka No. 5, Sukamaju",
    )


def text_of_wa(messages: list[dict]) -> str:
    return "\n---\n".join(m.get("text") or "" for m in messages)


async def test_notification_to_a_closed_window_fails_clearly_without_a_template(settings, clock):
    """Without KANAL_WHATSAPP_TEMPLATE_NOTICE an answer to a citizen whose window has closed is
    not sent free-form (Meta would refuse it with 131047): it is recorded as failed, with why."""
    async with both_channels(settings, clock, whatsapp_template_notice=None) as (tg, wa, app):
        officer = await person(tg, app, 502, "Bu Sari", role="officer", opd="PUPR")
        ani = WaCitizen(wa, app, CITIZEN, "Ani")
        await ani.send("/start")
        await ani.tap("consent:yes")
        await ani.send(f"/lapor {ROAD}")
        await ani.tap("lapor:next")
        await ani.tap("lapor:skip")
        await ani.tap("lapor:privacy:anonim")
        out = await ani.tap("lapor:send")
        (number,) = set(NUMBER_RE.findall(text_of_wa(out)))
        await officer.settle()
        clock.advance(timedelta(hours=30))
        wa.expire_window(CITIZEN)
        await officer.send(f"/balas {number} Sedang kami tangani.")
        await quiet(wa, app)
        assert ani.new() == []
        (row,) = [r for r in await outbox_rows(app, CITIZEN) if r.purpose == "notification"]
        assert (
            row.status == "failed"
            and "24-hour window" in row.last_error
            and "KANAL_WHATSAPP_TEMPLATE_NOTICE" in row.last_error
        )
        assert "re-engagement required" in row.last_error and wa.rejected(131047) == []
