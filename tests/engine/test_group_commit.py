"""Group commit: turns that arrive together share one transaction, with the same results as
turns run one by one (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import update as sql_update

from bot.channels.web.web_channel import render as web_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage import Repo
from storage.models import ConversationState, InboundMessage, OutboxMessage, SurveyResponse, User
from storage.user_repo import UserRepo
from testkit.helpers import choice, text


@pytest.fixture
async def dispatcher(db, settings, clock):
    await store_region(db, load_region_file(), clock.now())
    return Dispatcher(db, build_router(), settings, clock=clock, renderers={"web": web_render})


async def texts_by_address(db) -> dict[str, list[str]]:
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.address, []).append(r.payload["text"])
    return out


async def count(db, model) -> int:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_turns_arriving_together_share_transactions_and_each_gets_its_answer(dispatcher, db):
    people = [f"g{i}" for i in range(40)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    outcomes = await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))
    assert all(o.handled for o in outcomes)
    assert dispatcher.stats["batches"] >= 1, dispatcher.stats  # some turns really were grouped
    assert dispatcher.stats["turns"] == 80 and dispatcher.stats["batch_fallbacks"] == 0
    texts = await texts_by_address(db)
    for p in people:
        assert "UU No. 27/2022" in texts[p][0]
        assert texts[p][-2].startswith("Terima kasih") and "pilih layanan" in texts[p][-1]
    async with db.unit_of_work() as uow:
        consented = (
            await uow.session.execute(select(func.count()).select_from(User).where(User.consent_at.is_not(None)))
        ).scalar_one()
        ids = [u.id for u in (await uow.session.execute(select(User))).scalars().all()]
    assert consented == 40 and len(set(ids)) == 40
    assert await count(db, InboundMessage) == 80


async def test_one_persons_messages_stay_in_order_and_redeliveries_have_no_effect(dispatcher, db):
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in ("a", "b", "c")))
    msgs = [
        choice("a", "consent:yes", ext="a1"),
        choice("b", "consent:yes", ext="b1"),
        text("a", "/bantuan", ext="a2"),
        choice("a", "consent:yes", ext="a1"),
        text("c", "/start", ext="c1"),
        text("c", "/start", ext="c1"),
    ]
    outcomes = await asyncio.gather(*(dispatcher.handle(m) for m in msgs))
    assert [o.handled for o in outcomes] == [True, True, True, False, True, False]
    texts = await texts_by_address(db)
    assert texts["a"][-3].startswith("Terima kasih") and "pilih layanan" in texts["a"][-2]
    assert "/lapor" in texts["a"][-1]  # the help came after the consent, as sent
    assert len(texts["c"]) == 2  # /start once before, once now; the redelivery added nothing


async def test_a_failing_turn_costs_nobody_else_their_turn(dispatcher, db):
    people = [f"f{i}" for i in range(12)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))

    @dispatcher.router.command("boom", description="test")
    async def boom(turn, args):
        turn.reply("half done")
        turn.audit("should_not_exist")
        raise RuntimeError("bug")

    before = dispatcher.stats["batch_fallbacks"]
    msgs = [text(p, "/boom" if p == "f5" else "/bantuan") for p in people]
    outcomes = await asyncio.gather(*(dispatcher.handle(m) for m in msgs))
    assert all(o.handled for o in outcomes)
    assert dispatcher.stats["batch_fallbacks"] > before  # the batch with f5 was rolled back and rerun
    texts = await texts_by_address(db)
    assert texts["f5"][-1].startswith("Maaf, terjadi gangguan") and "half done" not in texts["f5"]
    for p in people:
        if p != "f5":
            assert "/lapor" in texts[p][-1] and texts[p].count(texts[p][-1]) == 1
    async with db.unit_of_work() as uow:
        actions = [e.action for e in await Repo(uow.session).audit_events()]
    assert "should_not_exist" not in actions and actions.count("turn_failed") == 1


async def _states(db) -> dict[str, tuple]:
    async with db.unit_of_work() as uow:
        rows = (
            await uow.session.execute(
                select(
                    User.external_id,
                    ConversationState.flow,
                    ConversationState.step,
                    ConversationState.data,
                    ConversationState.version,
                ).join(ConversationState, ConversationState.user_id == User.id)
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


async def test_a_batchs_changed_states_are_written_together_with_their_versions(dispatcher, db):
    """The states a batch's turns change are written in one statement before its commit: each
    person's flow, step and data as the turn left them, the version one up (as the ORM would)."""
    people = [f"s{i}" for i in range(30)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))
    before = await _states(db)
    batches = dispatcher.stats["batches"]
    await asyncio.gather(*(dispatcher.handle(text(p, "/lapor")) for p in people))
    assert dispatcher.stats["batches"] > batches and dispatcher.stats["batch_fallbacks"] == 0
    after = await _states(db)
    for p in people:
        flow, step, data, version = after[p]
        assert flow == "lapor" and step, after[p]
        assert version == before[p][3] + 1, (before[p], after[p])
    texts = await texts_by_address(db)
    assert all(texts[p][-1] == texts[people[0]][-1] for p in people)  # every one asked the same first question


async def test_a_state_changed_behind_the_batchs_back_makes_it_run_again_turn_by_turn(dispatcher, db, monkeypatch):
    """The batch's state UPDATE checks the version it read. If another writer changed a row in
    between (here: forced, by bumping the version just before the write), the batch is rolled
    back and every turn runs alone: no turn is lost, none is applied twice."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the locked rows cannot change; its driver does not count an executemany's rows")
    people = [f"v{i}" for i in range(10)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))
    write_states = UserRepo.write_states
    bumped = []

    async def bump_then_write(self, rows):
        if rows and not bumped:
            bumped.append(rows[0]["b_uid"])
            await self.session.execute(
                sql_update(ConversationState)
                .where(ConversationState.user_id == rows[0]["b_uid"])
                .values(version=ConversationState.version + 100)
            )
        return await write_states(self, rows)

    monkeypatch.setattr(UserRepo, "write_states", bump_then_write)
    fallbacks = dispatcher.stats["batch_fallbacks"]
    outcomes = await asyncio.gather(*(dispatcher.handle(text(p, "/lapor")) for p in people))
    assert bumped and all(o.handled for o in outcomes)
    assert dispatcher.stats["batch_fallbacks"] == fallbacks + 1
    after = await _states(db)
    texts = await texts_by_address(db)
    for p in people:
        assert after[p][0] == "lapor"
        assert sum(1 for t in texts[p] if t == texts[people[0]][-1]) == 1  # asked once, not twice


async def _to_first_question(dispatcher, people: list[str]) -> None:
    """Consent, then an SKM questionnaire of one unit up to its first question, for everyone."""
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))
    for step in (
        lambda p: text(p, "/survei DISDUKCAPIL-PST"),
        lambda p: choice(p, "skm:svc:DISDUKCAPIL-PST-01"),
        lambda p: choice(p, "skm:p:all"),
    ):
        await asyncio.gather(*(dispatcher.handle(step(p)) for p in people))


async def _answers(db) -> dict[str, tuple]:
    async with db.unit_of_work() as uow:
        rows = (
            await uow.session.execute(
                select(User.external_id, SurveyResponse.status, SurveyResponse.u1, SurveyResponse.u2).join(
                    SurveyResponse, SurveyResponse.user_id == User.id
                )
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


async def test_a_batchs_skm_answers_are_written_together_at_its_commit(dispatcher, db):
    people = [f"q{i}" for i in range(30)]
    await _to_first_question(dispatcher, people)
    batches = dispatcher.stats["batches"]
    await asyncio.gather(*(dispatcher.handle(choice(p, f"skm:a:0:{1 + i % 4}")) for i, p in enumerate(people)))
    await asyncio.gather(*(dispatcher.handle(choice(p, f"skm:a:1:{4 - i % 4}")) for i, p in enumerate(people)))
    assert dispatcher.stats["batches"] > batches and dispatcher.stats["batch_fallbacks"] == 0
    answers = await _answers(db)
    assert {p: answers[p] for p in people} == {p: ("in_progress", 1 + i % 4, 4 - i % 4) for i, p in enumerate(people)}
    texts = await texts_by_address(db)
    assert all(texts[p][-1].startswith("Pertanyaan 3 dari 9") for p in people)


async def test_an_answer_to_a_questionnaire_no_longer_in_progress_is_refused(dispatcher, db):
    """If a questionnaire stopped being in progress behind the conversation's back (forced here),
    its answer is not stored and the person is told. On SQLite the batch's answer UPDATE counts
    its rows, so the batch runs again turn by turn; the others' answers are stored once."""
    people = [f"x{i}" for i in range(10)]
    await _to_first_question(dispatcher, people)
    async with db.unit_of_work() as uow:
        victim = (await uow.session.execute(select(User.id).where(User.external_id == "x3"))).scalar_one()
        await uow.session.execute(
            sql_update(SurveyResponse).where(SurveyResponse.user_id == victim).values(status="abandoned")
        )
        await uow.commit()
    fallbacks = dispatcher.stats["batch_fallbacks"]
    await asyncio.gather(*(dispatcher.handle(choice(p, "skm:a:0:3")) for p in people))
    answers = await _answers(db)
    assert answers["x3"] == ("abandoned", None, None)
    assert all(answers[p] == ("in_progress", 3, None) for p in people if p != "x3")
    texts = await texts_by_address(db)
    if db.engine.dialect.name == "sqlite":
        assert dispatcher.stats["batch_fallbacks"] > fallbacks
        assert "tidak aktif" in texts["x3"][-1]
    # on PostgreSQL (no row count for an executemany) the person finds out at the next answer,
    # which runs alone and checks at once
    await dispatcher.handle(choice("x3", "skm:a:1:2"))
    texts = await texts_by_address(db)
    assert any("tidak aktif" in t for t in texts["x3"][-2:])
    assert (await _answers(db))["x3"] == ("abandoned", None, None)
    assert all(
        texts[p].count(texts[p][-1]) == 1 and texts[p][-1].startswith("Pertanyaan 2 dari 9")
        for p in people
        if p != "x3"
    )


async def test_two_workers_never_hold_one_persons_turns_at_once(db, settings, clock):
    """KANAL_TURN_WORKERS=2 (the default on PostgreSQL): two transactions of turns run at once,
    and a person's messages still go in order, each person in one of them at a time."""
    await store_region(db, load_region_file(), clock.now())
    dispatcher = Dispatcher(
        db, build_router(), replace(settings, turn_workers=2, turn_batch=8), clock=clock, renderers={"web": web_render}
    )
    assert dispatcher.group_commit.workers == 2
    people = [f"w{i}" for i in range(30)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    held: set[str] = set()
    overlaps: list[str] = []
    most = 0
    run_batch = dispatcher.group_commit._run_batch

    async def watched(batch):
        nonlocal most
        keys = [w.inbound.user_key for w in batch]
        overlaps.extend(k for k in keys if k in held)
        held.update(keys)
        most = max(most, len(dispatcher.group_commit._workers))
        try:
            await run_batch(batch)
        finally:
            held.difference_update(keys)

    dispatcher.group_commit._run_batch = watched
    # each person: consent, then help, pushed together with everybody else's
    msgs = [m for p in people for m in (choice(p, "consent:yes", ext=f"{p}-1"), text(p, "/bantuan", ext=f"{p}-2"))]
    outcomes = await asyncio.gather(*(dispatcher.handle(m) for m in msgs))
    assert all(o.handled for o in outcomes)
    assert not overlaps, f"one person's turns in two transactions at once: {overlaps}"
    assert most == 2, "the second worker never ran"
    texts = await texts_by_address(db)
    for p in people:
        assert texts[p][-3].startswith("Terima kasih") and "/lapor" in texts[p][-1], texts[p][-3:]


async def test_a_batchs_outbox_rows_go_in_one_statement_at_its_commit(dispatcher, db, monkeypatch):
    """The unit of work's pending writes: every turn of a batch answers, and the batch's commit
    writes all their outbox rows in one executemany."""
    people = [f"o{i}" for i in range(20)]
    await asyncio.gather(*(dispatcher.handle(text(p, "/start")) for p in people))
    await asyncio.gather(*(dispatcher.handle(choice(p, "consent:yes")) for p in people))
    commits: list[int] = []
    inserts: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, _executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            inserts.append(statement)

    monkeypatch.setattr(Dispatcher, "after_commit_hook", lambda d: commits.append(1))
    batches = dispatcher.stats["batches"]
    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await asyncio.gather(*(dispatcher.handle(text(p, "/bantuan")) for p in people))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert dispatcher.stats["batches"] > batches
    assert len(inserts) == len(commits) < len(people)  # one statement per commit, not one per turn
