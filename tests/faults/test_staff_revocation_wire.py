"""Issue 17, staff lifecycle: a revoked officer keeps nothing, at once, on every channel.

Three PUPR officers — on Telegram, on WhatsApp and on the web chat, each through its real protocol
against the fake servers — see a Rahasia complaint. Then one is revoked by the coordinator's /cabut
(buttons), one by ``kanal staff revoke`` (the CLI, in-process) and one by /cabut answered with a
typed "ya". Afterwards every staff command the router registers (enumerated from it: every
command a citizen may not use, under every name) is refused to each of them with "hanya untuk", a
/balas that was waiting for its text answers nothing, and the complaint text reaches none of them.
``kanal staff list`` shows the staff with masked addresses; revocations are audited.

/gabung with a code that would change an existing staff role asks first (Ya/Tidak, typed or pressed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest
from sqlalchemy import select

from bot.cli import _dispatch, build_parser
from bot.domain.complaint_rules import Role
from handlers import build_router
from storage.models import AuditEvent, Complaint, User
from testkit.tg_chat import buttons, invite_code, person, text_of
from tests.flows.test_complaints_e2e import file_complaint
from tests.flows.test_whatsapp_flows import WaPerson, both_channels, offered, texts

SECRET = "Pengawas proyek meminta pungutan liar untuk perbaikan jalan rusak di depan SDN 2, saya saksinya."
REFUSED = ("hanya untuk", "tidak ditemukan")


def staff_commands() -> list[tuple[str, ...]]:
    """Every command of the router a citizen may not use, with all its names."""
    cmds = [c.names for c in build_router().ordered if Role.CITIZEN not in c.roles]
    assert len(cmds) >= 10, cmds  # the officer and coordinator commands are there
    return cmds


@pytest.fixture
def settings(settings):
    """The web chat's turn limits off: these officers type far faster than people do."""
    return dataclasses.replace(settings, web_turns_per_identity=0, web_turns_per_address=0)


class WebPerson:
    """A browser tab on the web chat: every action returns the message frames it brought."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.n = 0
        self.last = 0  # the newest message id seen (replay after a reconnect starts there)

    async def open(self) -> list[dict]:
        async with self.session.get(self.base + "/") as resp:
            assert resp.status == 200
        async with self.session.post(self.base + "/session") as resp:  # the server issues the identity
            assert resp.status == 204
        self.ws = await self.session.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "start": None, "last_seen": 0})
        return await self.settle()

    async def settle(self) -> list[dict]:
        got: list[dict] = []
        timeout = 10.0
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout)
            except TimeoutError:
                break
            if msg.type != aiohttp.WSMsgType.TEXT:  # closed after "rotate": a new identity waits
                await self.reconnect()
                continue
            frame = json.loads(msg.data)
            if frame["type"] == "message":
                got.append(frame)
                self.last = max(self.last, frame["id"]) if isinstance(frame.get("id"), int) else self.last
                timeout = 0.6  # the first answer came: wait for the rest of the turn
        assert got, "the web chat answered nothing"
        return got

    async def reconnect(self) -> None:
        """What the page does when told ``rotate``: fetch the new cookie, reconnect, replay what it missed."""
        async with self.session.post(self.base + "/session") as resp:
            assert resp.status == 204
        self.ws = await self.session.ws_connect(self.base + "/ws")
        await self.ws.send_json({"type": "hello", "start": None, "last_seen": self.last})

    async def send(self, text: str) -> list[dict]:
        self.n += 1
        await self.ws.send_json({"type": "text", "id": f"t-{self.n}", "text": text})
        return await self.settle()

    async def press(self, value: str) -> list[dict]:
        self.n += 1
        await self.ws.send_json({"type": "choice", "id": f"c-{self.n}", "value": value, "label": value})
        return await self.settle()

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


def web_text(frames: list[dict]) -> str:
    return "\n---\n".join(f.get("text") or "" for f in frames)


async def staff_user(db, channel: str) -> User:
    async with db.unit_of_work() as uow:
        stmt = select(User).where(User.channel == channel, User.opd_code == "PUPR", User.role == Role.OFFICER)
        return (await uow.session.execute(stmt)).scalar_one()


async def test_a_revoked_officer_is_refused_every_staff_command_on_every_channel(settings, clock, db, capsys):
    async with both_channels(settings, clock) as (tg, wa, app):
        coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
        tg_officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
        citizen = await person(tg, app, 101, "Siti Aminah")
        number = await file_complaint(citizen, SECRET, privacy="rahasia")

        wa_officer = WaPerson(wa, app, "6281211112222", "Bu Wati")
        await wa_officer.send("Halo")
        await wa_officer.tap(value="consent:yes")
        out = await wa_officer.send(f"/gabung {await invite_code(app, 'officer', 'PUPR')}")
        assert "terdaftar sebagai petugas" in texts(out)

        web = WebPerson(f"http://127.0.0.1:{app.port}")
        await web.open()
        await web.press("consent:yes")
        out = await web.send(f"/gabung {await invite_code(app, 'officer', 'PUPR')}")
        assert "terdaftar sebagai petugas" in web_text(out)
        try:
            # ---- before: each officer sees the Rahasia complaint ----------------------------
            assert "pungutan liar" in text_of(await tg_officer.send(f"/lihat {number}"))
            assert "pungutan liar" in texts(await wa_officer.send(f"/lihat {number}"))
            assert "pungutan liar" in web_text(await web.send(f"/lihat {number}"))
            async with db.unit_of_work() as uow:
                before = (await uow.session.execute(select(Complaint))).scalar_one().state
            # the Telegram officer has a /balas waiting for its text when the role goes
            assert number in text_of(await tg_officer.send(f"/balas {number}"))

            # ---- kanal staff list: everyone, masked ------------------------------------------
            assert await _dispatch(build_parser().parse_args(["staff", "list"]), settings) == 0
            listing = capsys.readouterr().out
            assert listing.count(" officer ") == 3 and listing.count(" coordinator ") == 1, listing
            assert "6281211112222" not in listing and "•••222" in listing and "Pak Rudi" in listing

            # ---- 1. Telegram officer: the coordinator's /cabut, with the buttons --------------
            tg_user = await staff_user(db, "telegram")
            out = await coord.send("/cabut")
            assert f"{tg_user.id} · PUPR · Pak Rudi" in text_of(out) and "Pak Rudi" in text_of(out)
            out = await coord.send(f"/cabut {tg_user.id}")
            assert buttons(out[-1]) == ["cabut:yes", "cabut:no"]
            out = await coord.press("cabut:yes")
            assert "sudah dicabut" in text_of(out)
            assert "dicabut oleh koordinator" in text_of(await tg_officer.settle())

            # ---- 2. WhatsApp officer: kanal staff revoke -------------------------------------
            wa_user = await staff_user(db, "whatsapp")
            assert await _dispatch(build_parser().parse_args(["staff", "revoke", str(wa_user.id)]), settings) == 0
            assert "revoked" in capsys.readouterr().out

            # ---- 3. web chat officer: /cabut answered with a typed "ya" ---------------------
            web_user = await staff_user(db, "web")
            await coord.send(f"/cabut #{web_user.id}")
            assert "sudah dicabut" in text_of(await coord.send("ya"))
            await asyncio.sleep(0.5)  # the notice of the revocation
            web_seen = await web.send("/menu")
            assert "dicabut oleh koordinator" in web_text(web_seen)

            # ---- after: the waiting /balas is gone, every staff command refused -----------------
            out = await tg_officer.send("Jawaban yang tidak boleh sampai ke pelapor")
            assert "pungutan liar" not in text_of(out)
            async with db.unit_of_work() as uow:
                complaint = (await uow.session.execute(select(Complaint))).scalar_one()
                assert complaint.state == before and complaint.opd_code == "PUPR", complaint.state
            for names in staff_commands():
                for name in names:
                    for say, channel in (
                        (lambda s: tg_officer.send(s), text_of),
                        (lambda s: wa_officer.send(s), texts),
                        (lambda s: web.send(s), web_text),
                    ):
                        answer = channel(await say(f"/{name} {number}"))
                        assert any(r in answer for r in REFUSED), (name, answer)
                        assert "pungutan liar" not in answer and "Siti" not in answer
            # an old staff button is a command too
            answer = text_of(await tg_officer.press(f"/lihat {number}"))
            assert "hanya untuk" in answer and "pungutan liar" not in answer
            wa_answer = texts(await wa_officer.send("/bantuan"))
            assert "/antrian" not in wa_answer and "/balas" not in wa_answer
        finally:
            await web.close()

    async with db.unit_of_work() as uow:
        events = (
            (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "role_revoked"))).scalars().all()
        )
        people = {u.id: u for u in (await uow.session.execute(select(User))).scalars().all()}
    assert sorted((e.subject_id, e.detail["via"], e.detail["opd"]) for e in events) == sorted(
        [(str(tg_user.id), "chat", "PUPR"), (str(wa_user.id), "cli", "PUPR"), (str(web_user.id), "chat", "PUPR")]
    )
    coordinator = next(u.id for u in people.values() if u.display_name == "Bu Koordinator")
    assert {e.actor_user_id for e in events} == {coordinator, None}  # the CLI has no actor
    for uid in (tg_user.id, wa_user.id, web_user.id):
        assert (people[uid].role, people[uid].opd_code) == ("citizen", None)


async def test_cabut_refuses_what_is_not_an_officer_and_can_be_called_off(settings, clock, db):
    async with both_channels(settings, clock) as (tg, _wa, app):
        coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
        other = await person(tg, app, 901, "Pak Koordinator Dua", role="coordinator")
        officer = await person(tg, app, 502, "Bu Sari", role="officer", opd="PDAM")
        citizen = await person(tg, app, 102, "Warga Biasa")
        assert "hanya untuk koordinator" in text_of(await officer.send("/cabut 1"))
        assert "hanya untuk koordinator" in text_of(await citizen.send("/cabut 1"))
        async with db.unit_of_work() as uow:
            ids = {u.display_name: u.id for u in (await uow.session.execute(select(User))).scalars().all()}
        for junk in ("abc", "99999", str(ids["Warga Biasa"]), str(ids["Pak Koordinator Dua"]), "1" * 40):
            assert "tidak ditemukan" in text_of(await coord.send(f"/cabut {junk}")), junk
        await coord.send(f"/cabut {ids['Bu Sari']}")
        assert "Ya atau Tidak" in text_of(await coord.send("mungkin"))
        assert "tidak dicabut" in text_of(await coord.send("tidak"))
        assert "Tirta Sukamaju" in text_of(await officer.send("/antrian"))  # still an officer
        assert other is not None


async def test_gabung_asks_before_changing_a_staff_role(settings, clock, db):
    async with both_channels(settings, clock) as (tg, wa, app):
        coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
        officer_code = await invite_code(app, "officer", "PUPR")
        out = await coord.send(f"/gabung {officer_code}")
        assert "Anda sekarang koordinator" in text_of(out) and "petugas PUPR" in text_of(out)
        assert buttons(out[-1]) == ["gabung:yes", "gabung:no"]
        out = await coord.press("gabung:no")
        assert "tidak berubah" in text_of(out)
        async with db.unit_of_work() as uow:
            me = (await uow.session.execute(select(User).where(User.channel == "telegram"))).scalar_one()
            assert (me.role, me.opd_code) == ("coordinator", None)
        # the code was not used up: asked again, typed "ya" this time
        await coord.send(f"/gabung {officer_code}")
        assert "terdaftar sebagai petugas" in text_of(await coord.send("Ya"))
        async with db.unit_of_work() as uow:
            me = (await uow.session.execute(select(User).where(User.channel == "telegram"))).scalar_one()
            assert (me.role, me.opd_code) == ("officer", "PUPR")
            state = await uow.users.load_state(me.id, clock.now())
            assert "invite" not in json.dumps(state.data)  # nothing of the code kept

        # WhatsApp: an officer moving to another OPD is asked too; the same OPD is not
        wa_officer = WaPerson(wa, app, "6281233334444", "Bu Wati")
        await wa_officer.send("Halo")
        await wa_officer.tap(value="consent:yes")
        assert "terdaftar" in texts(await wa_officer.send(f"/gabung {await invite_code(app, 'officer', 'PUPR')}"))
        assert "terdaftar" in texts(await wa_officer.send(f"/gabung {await invite_code(app, 'officer', 'PUPR')}"))
        out = await wa_officer.send(f"/gabung {await invite_code(app, 'officer', 'PDAM')}")
        assert "Lanjutkan?" in texts(out) and [r["id"] for r in offered(out[-1])] == ["gabung:yes", "gabung:no"]
        assert "terdaftar sebagai petugas" in texts(await wa_officer.tap(value="gabung:yes"))
        # a used code stays used, even through the confirmation
        out = await wa_officer.send(f"/gabung {officer_code}")
        assert "sudah dipakai" in texts(out)
        async with db.unit_of_work() as uow:
            grants = (
                (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "role_granted")))
                .scalars()
                .all()
            )
        assert len(grants) == 5
