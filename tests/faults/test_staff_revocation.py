"""Issue 17 item 6: staff lifecycle. A revoked officer gets "hanya untuk petugas"/"tidak ditemukan"
on every staff command the router has (enumerated, not hand-listed) at once, on Telegram, WhatsApp
and the web chat; the coordinator's /cabut asks first; a code that would change a staff role asks
first; `kanal staff list|revoke` work and are audited."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.channels.telegram.telegram_channel import render as tg_render
from bot.channels.web.web_channel import render as web_render
from bot.channels.whatsapp.whatsapp_render import render as wa_render
from bot.domain.complaint_rules import Role
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.invites import new_invite_code
from bot.services.regions import store_region
from handlers import build_router
from storage import Repo
from storage.models import AuditEvent, OutboxMessage, User
from testkit.helpers import choice, text
from tests.e2e.test_cli import kanal

CHANNELS = ("telegram", "whatsapp", "web")
KEYS = {"telegram": "700100", "whatsapp": "6281234500001", "web": "web-officer-1"}
REFUSED = ("hanya untuk", "tidak ditemukan")


class World:
    def __init__(self, db, settings, clock) -> None:
        self.db, self.clock = db, clock
        self.router = build_router()
        renderers = {"telegram": tg_render, "whatsapp": wa_render, "web": web_render}
        self.dispatcher = Dispatcher(db, self.router, settings, clock=clock, renderers=renderers)

    async def say(self, channel: str, user: str, body: str) -> str:
        """Send one message; the text of every reply it produced (whatever the channel's payload shape)."""
        async with self.db.unit_of_work() as uow:
            last = (await uow.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))).first()
        inbound = (
            text(user, body, channel=channel)
            if not body.startswith("btn:")
            else choice(user, body[4:], channel=channel)
        )
        outcome = await self.dispatcher.handle(inbound)
        assert outcome.handled, (channel, body)
        async with self.db.unit_of_work() as uow:
            rows = (
                await uow.session.execute(select(OutboxMessage).where(OutboxMessage.id > (last[0] if last else 0)))
            ).scalars()
            return "\n".join(json.dumps(r.payload, ensure_ascii=False) for r in rows)

    async def invite(self, role: str, opd: str | None) -> str:
        code = new_invite_code()
        async with self.db.unit_of_work() as uow:
            uow.invites.create_invite(
                code=code, role=role, opd_code=opd, now=self.clock.now(), valid_for=timedelta(days=7)
            )
            await uow.commit()
        return code

    async def user(self, channel: str, key: str) -> User:
        async with self.db.unit_of_work() as uow:
            return (
                await uow.session.execute(select(User).where(User.channel == channel, User.external_id == key))
            ).scalar_one()

    async def joined(self, channel: str, key: str, role: str, opd: str | None) -> User:
        await self.say(channel, key, "/start")
        await self.say(channel, key, "btn:consent:yes")
        reply = await self.say(channel, key, f"/gabung {await self.invite(role, opd)}")
        assert "Selamat" in reply, reply
        return await self.user(channel, key)


def staff_commands(router) -> list[str]:
    """Every command a citizen may not use: the staff commands, straight from the router."""
    names = [c.names[0] for c in router.ordered if Role.CITIZEN not in c.roles]
    assert len(names) >= 8, names  # /antrian, /lihat, /balas, /cabut, ... : the router really was read
    return names


async def coordinator(world: World) -> str:
    async with world.db.unit_of_work() as uow:
        user = await Repo(uow.session).get_or_create_user("web", "coord", world.clock.now(), display_name="Koord")
        user.role, user.consent_at = Role.COORDINATOR, world.clock.now()
        await uow.commit()
    return "coord"


async def test_revoked_officer_is_refused_every_staff_command_on_every_channel(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    world = World(db, settings, clock)
    boss = await coordinator(world)
    commands = staff_commands(world.router)
    for n, channel in enumerate(CHANNELS):
        key = KEYS[channel]
        officer = await world.joined(channel, key, Role.OFFICER, "PUPR")
        assert officer.role == Role.OFFICER
        before = await world.say(channel, key, "/antrian")
        assert not any(r in before for r in REFUSED), before
        # the coordinator revokes: /cabut NUMBER, then the confirmation (button on one channel, typed on others)
        ask = await world.say("web", boss, f"/cabut {officer.id}")
        assert "cabut:yes" in ask and str(officer.id) in ask, ask
        done = await world.say("web", boss, "btn:cabut:yes" if n == 0 else "ya")
        assert "sudah dicabut" in done, done
        assert (await world.user(channel, key)).role == Role.CITIZEN
        for name in commands:
            reply = await world.say(channel, key, f"/{name} 1 teks")
            assert any(r in reply for r in REFUSED), (channel, name, reply)
    async with db.unit_of_work() as uow:
        revoked = (
            (await uow.session.execute(select(AuditEvent).where(AuditEvent.action == "role_revoked"))).scalars().all()
        )
    assert len(revoked) == len(CHANNELS) and all(e.detail["via"] == "chat" and e.actor_user_id for e in revoked)


async def test_cabut_asks_first_and_refuses_unknown_numbers(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    world = World(db, settings, clock)
    boss = await coordinator(world)
    officer = await world.joined("telegram", "700200", Role.OFFICER, "DLH")
    assert "tidak ditemukan" in await world.say("web", boss, "/cabut 99999")
    assert "tidak ditemukan" in await world.say("web", boss, f"/cabut {(await world.user('web', boss)).id}")
    await world.say("web", boss, f"/cabut {officer.id}")
    assert "Ya atau Tidak" in await world.say("web", boss, "mungkin")
    assert "tidak dicabut" in await world.say("web", boss, "tidak")
    assert (await world.user("telegram", "700200")).role == Role.OFFICER
    # an officer may not revoke anyone
    other = await world.joined("web", "web-officer-2", Role.OFFICER, "PUPR")
    assert "hanya untuk" in await world.say("web", "web-officer-2", f"/cabut {officer.id}")
    assert other.role == Role.OFFICER


async def test_code_that_changes_a_staff_role_asks_first(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    world = World(db, settings, clock)
    await world.joined("telegram", "700300", Role.COORDINATOR, None)
    code = await world.invite(Role.OFFICER, "PUPR")
    ask = await world.say("telegram", "700300", f"/gabung {code}")
    assert "gabung:yes" in ask and "gabung:no" in ask, ask
    assert "tidak berubah" in await world.say("telegram", "700300", "btn:gabung:no")
    assert (await world.user("telegram", "700300")).role == Role.COORDINATOR  # not silently demoted
    await world.say("telegram", "700300", f"/gabung {code}")  # the code was not used up by "Tidak"
    assert "Selamat" in await world.say("telegram", "700300", "Ya")
    user = await world.user("telegram", "700300")
    assert (user.role, user.opd_code) == (Role.OFFICER, "PUPR")
    # a citizen redeeming a code is not asked
    await world.say("web", "w1", "/start")
    await world.say("web", "w1", "btn:consent:yes")
    assert "Selamat" in await world.say("web", "w1", f"/gabung {await world.invite(Role.OFFICER, 'DLH')}")


async def test_kanal_staff_list_and_revoke(db_url, db, settings, clock, tmp_path):
    await store_region(db, load_region_file(), clock.now())
    world = World(db, settings, clock)
    officer = await world.joined("whatsapp", "6281299990123", Role.OFFICER, "PUPR")
    env = {"KANAL_DATABASE_URL": db_url}
    out = kanal("staff", "list", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.split()[0] == str(officer.id))
    assert "officer" in line and "PUPR" in line and "whatsapp" in line and "123" in line
    assert "6281299990123" not in out.stdout  # masked
    out = kanal("staff", "revoke", str(officer.id), env=env, cwd=tmp_path)
    assert out.returncode == 0 and "revoked" in out.stdout, out.stderr
    assert "hanya untuk" in await world.say("whatsapp", "6281299990123", "/antrian")
    out = kanal("staff", "revoke", str(officer.id), env=env, cwd=tmp_path)
    assert out.returncode == 2 and "no staff role" in out.stderr
    for args in (["staff"], ["staff", "list"], ["staff", "revoke"]):
        assert kanal(*args, "--help", env={}, cwd=tmp_path).returncode == 0
    async with db.unit_of_work() as uow:
        events = await uow.audit.audit_events(subject_type="user", subject_id=str(officer.id))
    assert [e.detail.get("via") for e in events if e.action == "role_revoked"] == ["cli"]
