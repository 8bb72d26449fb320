"""Contract tests of the storage layer: the same assertions on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import StatementError

from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Repo
from storage.audit_repo import AuditRepo
from storage.inbound_repo import InboundRepo
from storage.invite_repo import InviteRepo
from storage.models import AuditEvent, OutboxMessage
from storage.outbox_repo import OutboxRepo
from storage.region_repo import RegionRepo
from storage.unit_state import WriteResult
from storage.user_repo import UserRepo


async def test_inbound_dedupe(db, clock):
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        assert await repo.record_inbound("telegram", "u1", clock.now()) is not None
        assert await repo.record_inbound("telegram", "u1", clock.now()) is None
        assert await repo.record_inbound("web", "u1", clock.now()) is not None
        await uow.commit()


async def test_uncommitted_work_is_rolled_back(db, clock):
    async with db.unit_of_work() as uow:
        await Repo(uow.session).record_inbound("telegram", "x", clock.now())
    async with db.unit_of_work() as uow:
        assert await Repo(uow.session).record_inbound("telegram", "x", clock.now()) is not None


async def test_user_get_or_create_is_idempotent(db, clock):
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        a = await repo.get_or_create_user("telegram", "42", clock.now(), display_name="Budi")
        b = await repo.get_or_create_user("telegram", "42", clock.now())
        c = await repo.get_or_create_user("web", "42", clock.now())
        assert a.id == b.id != c.id
        assert a.created_at == clock.now()  # aware UTC round trip
        await uow.commit()


async def test_state_is_versioned(db, clock):
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        user = await repo.get_or_create_user("web", "s", clock.now())
        state = await repo.load_state(user.id, clock.now())
        v0 = state.version
        state.flow, state.step, state.data = "skm", "q1", {"a": 1}
        await uow.commit()
    async with db.unit_of_work() as uow:
        state = await Repo(uow.session).load_state(user.id, clock.now())
        assert (state.flow, state.data, state.version) == ("skm", {"a": 1}, v0 + 1)


async def _enqueue(db, clock, n: int, address: str = "a") -> None:
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        for i in range(n):
            repo.enqueue(channel="telegram", address=address, payload={"text": str(i)}, now=clock.now())
        await uow.commit()


async def test_outbox_claim_lease_and_outcomes(db, clock):
    await _enqueue(db, clock, 3)
    lease = timedelta(minutes=5)
    async with db.unit_of_work() as uow:
        rows = await Repo(uow.session).claim_due(clock.now(), limit=10, lease=lease)
        ids = [r.id for r in rows]
        await uow.commit()
    assert len(ids) == 3 and ids == sorted(ids)
    async with db.unit_of_work() as uow:
        assert not await Repo(uow.session).claim_due(clock.now(), limit=10, lease=lease)  # leased
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        await repo.mark_sent(ids[0], clock.now(), "m1")
        await repo.mark_failed(ids[1], "Telegram 403: bot was blocked by the user")
        await repo.mark_retry(ids[2], clock.now() + timedelta(seconds=30), "429", count_attempt=False)
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        assert not await repo.claim_due(clock.now(), limit=10, lease=lease)
        later = await repo.claim_due(clock.now() + timedelta(seconds=31), limit=10, lease=lease)
        assert [r.id for r in later] == [ids[2]] and later[0].attempts == 1
        backlog = await repo.outbox_backlog(clock.now())
        assert backlog == {"sending": 1, "failed": 1}


async def test_outbox_lease_expiry_reclaims_after_a_crash(db, clock):
    await _enqueue(db, clock, 1)
    async with db.unit_of_work() as uow:
        await Repo(uow.session).claim_due(clock.now(), limit=10, lease=timedelta(seconds=60))
        await uow.commit()
    async with db.unit_of_work() as uow:
        again = await Repo(uow.session).claim_due(
            clock.now() + timedelta(seconds=61), limit=10, lease=timedelta(seconds=60)
        )
        assert len(again) == 1 and again[0].attempts == 2


async def test_concurrent_claims_never_share_a_row(db, clock):
    for chat in range(40):  # one row per chat: on PostgreSQL a chat's rows go to one claimer at a time
        await _enqueue(db, clock, 1, address=f"chat{chat}")
    claimed: list[int] = []

    async def claimer() -> None:
        for _ in range(10):
            async with db.unit_of_work() as uow:
                rows = await Repo(uow.session).claim_due(clock.now(), limit=3, lease=timedelta(minutes=5))
                claimed.extend(r.id for r in rows)
                await asyncio.sleep(0.001)  # hold the lock a moment
                await uow.commit()

    await asyncio.gather(*(claimer() for _ in range(4)))
    assert len(claimed) == len(set(claimed)) == 40


async def test_a_chats_rows_go_to_one_claimer_at_a_time_on_postgresql(db, clock):
    """Several instances: while a chat's earlier rows are being sent, its later ones wait (order and
    the chat's pacing hold across instances); on SQLite (one process) the claim does not wait."""
    await _enqueue(db, clock, 2, address="a")
    async with db.unit_of_work() as uow:
        first = await Repo(uow.session).claim_due(clock.now(), limit=10, lease=timedelta(minutes=5))
        await uow.commit()
    assert len(first) == 2
    await _enqueue(db, clock, 1, address="a")
    await _enqueue(db, clock, 1, address="b")
    async with db.unit_of_work() as uow:
        second = await Repo(uow.session).claim_due(clock.now(), limit=10, lease=timedelta(minutes=5))
        await uow.commit()
    addresses = sorted(r.address for r in second)
    assert addresses == (["b"] if db.dialect == "postgresql" else ["a", "b"])
    # the earlier rows' lease ran out (their instance died): the chat is free again, in order
    async with db.unit_of_work() as uow:
        later = await Repo(uow.session).claim_due(
            clock.now() + timedelta(minutes=6), limit=10, lease=timedelta(minutes=5)
        )
    assert [r.address for r in later][:2] == ["a", "a"]


async def test_concurrent_delivery_reports_never_move_a_row_backwards(db, clock):
    """WhatsApp sends ``sent`` and ``delivered`` as two webhooks handled at once: ``sent``, read
    while ``delivered`` was being written and committed after it, left the row at ``sent`` (seen
    on PostgreSQL in CI). The report now waits for the row."""
    await _enqueue(db, clock, 1)
    async with db.unit_of_work() as uow:
        (row,) = await Repo(uow.session).claim_due(clock.now(), limit=1, lease=timedelta(minutes=5))
        await Repo(uow.session).mark_sent(row.id, clock.now(), "wamid.1")
        await uow.commit()

    first_written = asyncio.Event()

    async def delivered() -> None:
        async with db.unit_of_work() as uow:
            assert (await Repo(uow.session).record_delivery_status("wamid.1", "delivered", clock.now()))[0]
            await uow.session.flush()
            first_written.set()
            await asyncio.sleep(0.3)  # the other report reads meanwhile
            await uow.commit()

    async def sent() -> None:
        await first_written.wait()
        async with db.unit_of_work() as uow:
            assert (await Repo(uow.session).record_delivery_status("wamid.1", "sent", clock.now()))[0]
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(delivered(), sent()), 10)
    async with db.unit_of_work() as uow:
        (status,) = (await uow.session.execute(select(OutboxMessage.delivery_status))).scalars().all()
    assert status == "delivered"


async def test_invite_redeemed_once_and_expires(db, clock):
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        repo.create_invite(
            code="AAAA-BBBB-CCCC", role="coordinator", opd_code=None, now=clock.now(), valid_for=timedelta(days=1)
        )
        repo.create_invite(
            code="DDDD-EEEE-FFFF",
            role="coordinator",
            opd_code=None,
            now=clock.now() - timedelta(days=2),
            valid_for=timedelta(days=1),
        )
        user = await repo.get_or_create_user("web", "c", clock.now())
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        assert (await repo.redeem_invite("aaaa-bbbb-cccc", user.id, clock.now())).role == "coordinator"
        assert await repo.redeem_invite("AAAA-BBBB-CCCC", user.id, clock.now()) is None
        assert await repo.redeem_invite("DDDD-EEEE-FFFF", user.id, clock.now()) is None
        assert await repo.redeem_invite("nope", user.id, clock.now()) is None


async def test_region_load_and_reload_deactivates(db, clock):
    region = load_region_file()
    counts = await store_region(db, region, clock.now())
    assert counts["opds"] >= 11 and counts["units"] >= 11
    async with db.unit_of_work() as uow:
        codes = {o.code for o in await Repo(uow.session).opds()}
    assert {
        "PUPR",
        "DLH",
        "DISDUKCAPIL",
        "DINKES",
        "RSUD",
        "DISDIK",
        "DPMPTSP",
        "DISHUB",
        "DINSOS",
        "SATPOLPP",
        "KOMINFO",
    } <= codes
    smaller = region.__class__(**{**region.__dict__, "opds": region.opds[:2]})
    await store_region(db, smaller, clock.now())
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        assert len(await repo.opds()) == 2
        assert len(await repo.opds(active_only=False)) == counts["opds"]


async def test_units_and_services_are_read_once_per_transaction(db, clock):
    region = load_region_file()
    await store_region(db, region, clock.now())
    unit = "DISDUKCAPIL-PST"  # a unit of the demo region, with services
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        first, services = await repo.get_unit(unit), await repo.services(unit)
        assert first.code == unit and first.active
        assert await repo.get_unit(unit) is first and await repo.services(unit) is services
        assert await repo.get_unit("NO-SUCH-UNIT") is None and await repo.services("NO-SUCH-UNIT") == ()
        # a region load in the same transaction forgets what was read
        await repo.replace_region(
            code=region.code,
            name=region.name,
            timezone=region.timezone,
            config=region.config(),
            opds=[],
            now=clock.now(),
        )
        assert not (await repo.get_unit(unit)).active and await repo.services(unit) == ()
        await uow.commit()
    # the next transaction reads afresh, and sees another session's change
    async with db.unit_of_work() as uow:
        assert not (await Repo(uow.session).get_unit(unit)).active
    await store_region(db, region, clock.now())
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        assert (await repo.get_unit(unit)).active and len(await repo.services(unit)) >= 1


async def test_erase_user_removes_identifiers(db, clock):
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        user = await repo.get_or_create_user(
            "telegram", "777", clock.now(), display_name="Budi Santoso", username="budis"
        )
        user.phone = "+628123"
        repo.enqueue(channel="telegram", address="777", payload={"text": "x"}, now=clock.now(), user_id=user.id)
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        user = await repo.get_user(user.id)
        await repo.erase_user(user, clock.now())
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        user = await repo.get_user(user.id)
        assert (user.display_name, user.username, user.phone) == (None, None, None)
        assert "777" not in user.external_id
        assert await repo.claim_due(clock.now(), limit=5, lease=timedelta(minutes=1)) == []


async def test_naive_datetimes_are_refused(db):
    async with db.unit_of_work() as uow:
        with pytest.raises(StatementError, match="naive datetime"):
            await Repo(uow.session).record_inbound("web", "n", datetime(2026, 1, 1))


# ---- the unit of work: its repositories and the rows it writes at commit ---------------------


async def test_the_unit_of_work_exposes_the_repositories_by_table_group(db):
    async with db.unit_of_work() as uow:
        assert isinstance(uow.users, UserRepo) and isinstance(uow.inbound, InboundRepo)
        assert isinstance(uow.outbox, OutboxRepo) and isinstance(uow.audit, AuditRepo)
        assert isinstance(uow.region, RegionRepo) and isinstance(uow.invites, InviteRepo)
        assert uow.core is uow.core and uow.users is uow.users  # one each per unit of work


async def test_pending_rows_belong_to_the_unit_of_work_and_are_written_at_commit(db, clock):
    """Outbox and audit rows wait in ``uow.pending`` (also when added through ``Repo(session)``),
    then go in ONE executemany per table at the commit; a rollback forgets them."""
    statements: list[tuple[str, bool]] = []

    def seen(_conn, _cursor, statement, _params, _context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append((statement.split("(")[0].split()[-1].strip('"'), executemany))

    async with db.unit_of_work() as uow:
        for i in range(3):
            assert (
                uow.outbox.enqueue(channel="web", address="p", payload={"text": str(i)}, now=clock.now())
                is WriteResult.DEFERRED
            )
        Repo(uow.session).audit(at=clock.now(), action="a1", actor_user_id=None)
        uow.audit.audit(at=clock.now(), action="a2", actor_user_id=None)
        assert len(uow.pending) == 5
    async with db.unit_of_work() as uow:  # the one above rolled back: nothing was written
        assert (await uow.session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0
        for i in range(3):
            uow.outbox.enqueue(channel="web", address="p", payload={"text": str(i)}, now=clock.now())
        uow.audit.audit(at=clock.now(), action="a1", actor_user_id=None)
        uow.audit.audit(at=clock.now(), action="a2", actor_user_id=None)
        event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
        try:
            await uow.commit()
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
        assert len(uow.pending) == 0
    assert sorted(statements) == [("audit_events", True), ("outbox", True)], statements
    async with db.unit_of_work() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 3
        assert [e.action for e in await uow.audit.audit_events()] == ["a1", "a2"]


async def test_a_reader_of_the_outbox_or_audit_sees_its_own_pending_rows(db, clock):
    async with db.unit_of_work() as uow:
        uow.audit.audit(at=clock.now(), action="mine", actor_user_id=None)
        uow.outbox.enqueue(channel="web", address="r", payload={"text": "x"}, now=clock.now())
        assert [e.action for e in await uow.audit.audit_events()] == ["mine"]
        assert (await uow.outbox.outbox_backlog(clock.now())) == {"pending": 1}
        assert len(uow.pending) == 0
        assert (await uow.session.execute(select(func.count()).select_from(AuditEvent))).scalar_one() == 1


async def test_write_results_are_explicit():
    assert WriteResult.WRITTEN and WriteResult.DEFERRED and not WriteResult.NOT_FOUND


async def test_a_repository_needs_the_session_of_a_unit_of_work(db):
    async with db.sessions() as session:
        with pytest.raises(LookupError):
            Repo(session)
