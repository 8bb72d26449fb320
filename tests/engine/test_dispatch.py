"""Dispatcher and first flows, through the real storage (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.channels.web.web_channel import render as web_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import DatabaseUnavailable, Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage import Repo
from storage.models import AuditEvent, ConversationState, InboundMessage, OutboxMessage, User
from testkit.helpers import choice, text


@pytest.fixture
async def dispatcher(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    return Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})


async def outbox_texts(db, address: str) -> list[str]:
    async with db.unit_of_work() as uow:
        rows = (
            (
                await uow.session.execute(
                    select(OutboxMessage).where(OutboxMessage.address == address).order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
        return [r.payload["text"] for r in rows]


async def count(db, model) -> int:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


async def consented(dispatcher, user: str) -> None:
    await dispatcher.handle(text(user, "/start"))
    await dispatcher.handle(choice(user, "consent:yes"))


async def test_start_asks_consent_then_menu(dispatcher, db):
    await dispatcher.handle(text("u1", "/start"))
    texts = await outbox_texts(db, "u1")
    assert "UU No. 27/2022" in texts[-1]
    await dispatcher.handle(choice("u1", "consent:yes"))
    texts = await outbox_texts(db, "u1")
    assert texts[-2].startswith("Terima kasih")
    assert "pilih layanan" in texts[-1]
    async with db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User))).scalar_one()
        assert user.consent_at is not None
        actions = [e.action for e in await Repo(uow.session).audit_events()]
    assert "consent_given" in actions


async def test_nothing_works_before_consent(dispatcher, db):
    await dispatcher.handle(text("u1", "/menu"))
    assert "UU No. 27/2022" in (await outbox_texts(db, "u1"))[-1]
    await dispatcher.handle(choice("u1", "consent:no"))
    assert "tidak ada data yang kami proses" in (await outbox_texts(db, "u1"))[-1]


async def test_same_message_twice_has_one_effect(dispatcher, db):
    first = await dispatcher.handle(text("u1", "/start", ext="same"))
    second = await dispatcher.handle(text("u1", "/start", ext="same"))
    assert first.handled and not second.handled
    assert await count(db, OutboxMessage) == 1
    assert await count(db, InboundMessage) == 1


async def test_quick_messages_from_one_user_do_not_interleave(dispatcher, db):
    await consented(dispatcher, "u1")
    before = await count(db, OutboxMessage)
    results = await asyncio.gather(*(dispatcher.handle(text("u1", "/menu")) for _ in range(8)))
    assert all(r.handled for r in results)
    assert await count(db, OutboxMessage) == before + 8
    async with db.unit_of_work() as uow:
        state = (await uow.session.execute(select(ConversationState))).scalar_one()
    # start (1) + consent (1) + 8 menus; the version moves once per changed turn, never lost
    assert state.version >= 2


async def test_unexpected_input_gets_a_hint_not_silence(dispatcher, db):
    await consented(dispatcher, "u1")
    await dispatcher.handle(text("u1", "asdfgh"))
    assert "belum mengerti" in (await outbox_texts(db, "u1"))[-1]
    await dispatcher.handle(text("u1", "/tidakada"))
    assert "/tidakada tidak dikenal" in (await outbox_texts(db, "u1"))[-1]
    await dispatcher.handle(choice("u1", "old:button"))
    assert "sudah tidak berlaku" in (await outbox_texts(db, "u1"))[-1]


async def test_flow_crash_rolls_back_and_apologises(dispatcher, db):
    await consented(dispatcher, "u1")

    @dispatcher.router.command("boom", description="test")
    async def boom(turn, args):
        turn.reply("half done")
        turn.audit("should_not_exist")
        raise RuntimeError("bug")

    before = await count(db, AuditEvent)
    out = await dispatcher.handle(text("u1", "/boom", ext="b1"))
    assert out.handled
    texts = await outbox_texts(db, "u1")
    assert "half done" not in texts
    assert texts[-1].startswith("Maaf, terjadi gangguan")
    async with db.unit_of_work() as uow:
        actions = [e.action for e in await Repo(uow.session).audit_events()]
    assert "should_not_exist" not in actions and "turn_failed" in actions
    assert await count(db, AuditEvent) == before + 1
    # the platform re-sending it does not replay the failure
    assert not (await dispatcher.handle(text("u1", "/boom", ext="b1"))).handled


async def test_language_switch_sticks(dispatcher, db):
    await consented(dispatcher, "u1")
    await dispatcher.handle(text("u1", "/bahasa"))
    await dispatcher.handle(choice("u1", "lang:en"))
    assert (await outbox_texts(db, "u1"))[-1].startswith("Language changed to English")
    await dispatcher.handle(text("u1", "Jalan di depan rumah saya rusak parah dan belum diperbaiki"))
    assert "Shall we file this as a complaint?" in (await outbox_texts(db, "u1"))[-1]
    await dispatcher.handle(text("u1", "/language id"))
    assert (await outbox_texts(db, "u1"))[-1].startswith("Bahasa diganti ke Bahasa Indonesia")


async def test_language_detected_from_longer_free_text_and_hint(dispatcher, db):
    await dispatcher.handle(text("u2", "/start", hint="en-US"))
    assert "Before we start" in (await outbox_texts(db, "u2"))[-1]
    await dispatcher.handle(text("u3", "/start", hint="id"))
    await dispatcher.handle(choice("u3", "consent:yes"))
    await dispatcher.handle(text("u3", "Hello, I would like to know how to report a broken street light"))
    assert "Shall we file this as a complaint?" in (await outbox_texts(db, "u3"))[-1]
    await dispatcher.handle(text("u3", "no"))
    assert "that message was not sent" in (await outbox_texts(db, "u3"))[-1]
    await dispatcher.handle(text("u3", "Why?"))
    assert "I did not understand" in (await outbox_texts(db, "u3"))[-1]


async def test_delete_my_data(dispatcher, db):
    await consented(dispatcher, "u1")
    await dispatcher.handle(text("u1", "/hapusdata"))
    await dispatcher.handle(choice("u1", "erase:yes"))
    texts = await outbox_texts(db, "u1")
    assert texts[-1].startswith("Data pribadi Anda sudah dihapus")
    async with db.unit_of_work() as uow:
        user = (await uow.session.execute(select(User))).scalar_one()
    assert user.external_id != "u1" and user.display_name is None and user.erased_at is not None
    # writing again starts fresh, with consent asked again
    await dispatcher.handle(text("u1", "halo"))
    assert "UU No. 27/2022" in (await outbox_texts(db, "u1"))[-1]


async def test_join_with_invite_code_once(dispatcher, db, clock):
    async with db.unit_of_work() as uow:
        Repo(uow.session).create_invite(
            code="ABCD-EFGH-JKLM", role="officer", opd_code="PUPR", now=clock.now(), valid_for=timedelta(days=7)
        )
        await uow.commit()
    await consented(dispatcher, "o1")
    await dispatcher.handle(text("o1", "/gabung abcd-efgh-jklm"))
    assert "petugas Dinas Pekerjaan Umum" in (await outbox_texts(db, "o1"))[-1]
    await consented(dispatcher, "o2")
    await dispatcher.handle(text("o2", "/join ABCD-EFGH-JKLM"))
    assert "sudah dipakai" in (await outbox_texts(db, "o2"))[-1]
    async with db.unit_of_work() as uow:
        roles = dict((await uow.session.execute(select(User.external_id, User.role))).all())
    assert roles == {"o1": "officer", "o2": "citizen"}


async def test_help_lists_commands_for_the_role(dispatcher, db):
    await consented(dispatcher, "u1")
    await dispatcher.handle(text("u1", "/bantuan"))
    body = (await outbox_texts(db, "u1"))[-1]
    assert "/hapusdata" in body and "/batal" in body and "/gabung" in body


async def test_transient_database_error_retries_the_whole_turn(dispatcher, db):
    await consented(dispatcher, "u1")
    calls = {"n": 0}

    @dispatcher.router.command("flaky", description="test")
    async def flaky(turn, args):
        calls["n"] += 1
        turn.reply(f"try {calls['n']}")
        turn.audit("flaky_ran")
        if calls["n"] == 1:
            raise OperationalError("UPDATE ...", {}, Exception("database is locked"))

    out = await dispatcher.handle(text("u1", "/flaky"))
    assert out.handled and calls["n"] == 2
    assert (await outbox_texts(db, "u1"))[-1] == "try 2"
    async with db.unit_of_work() as uow:
        actions = [e.action for e in await Repo(uow.session).audit_events()]
    assert actions.count("flaky_ran") == 1  # the first attempt left nothing behind


async def test_persistent_database_failure_is_not_acknowledged(dispatcher):
    await consented(dispatcher, "u1")

    @dispatcher.router.command("down", description="test")
    async def down(turn, args):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(DatabaseUnavailable):
        await dispatcher.handle(text("u1", "/down", ext="d1"))
    # nothing was recorded, so the platform's re-delivery is processed when the database is back
    dispatcher.router.commands.pop("down")
    assert (await dispatcher.handle(text("u1", "/menu", ext="d1"))).handled


async def test_language_chosen_on_the_consent_screen_reshows_the_notice(dispatcher, db):
    await dispatcher.handle(text("u9", "/start skm_PUPR-BM"))
    await dispatcher.handle(choice("u9", "/bahasa"))
    await dispatcher.handle(choice("u9", "lang:en"))
    assert (await outbox_texts(db, "u9"))[-1].startswith("Before we start, we need your consent")
    async with db.unit_of_work() as uow:
        state = (await uow.session.execute(select(ConversationState))).scalar_one()
    assert state.flow == "consent" and state.data["start"] == "skm_PUPR-BM"  # the deep link survives


async def test_the_after_commit_hook_runs_right_after_each_commit(dispatcher, monkeypatch):
    """The crash test's bot process dies in this hook; production leaves it unset."""
    assert Dispatcher.after_commit_hook is None
    seen: list[tuple[Dispatcher, int]] = []
    monkeypatch.setattr(Dispatcher, "after_commit_hook", lambda d: seen.append((d, d.stats["turns"])))
    await dispatcher.handle(text("h1", "/start", ext="h-1"))
    await dispatcher.handle(text("h1", "/start", ext="h-1"))  # a duplicate: rolled back, no commit
    await dispatcher.handle(choice("h1", "consent:yes", ext="h-2"))
    assert seen == [(dispatcher, 1), (dispatcher, 2)]
