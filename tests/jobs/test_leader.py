"""Leader election and the job runner: one leader on PostgreSQL (advisory lock), takeover when the
leader stops or loses its session, jobs only on the leader; SQLite is always leader."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from scheduler.leader import SCHEDULER_LOCK_KEY, Leadership
from scheduler.runner import JobRunner
from storage import Database

PG_URL = os.environ.get("KANAL_TEST_DATABASE_URL") or None
needs_pg = pytest.mark.skipif(not PG_URL, reason="advisory-lock election needs PostgreSQL: set KANAL_TEST_DATABASE_URL")
FAST = 0.1  # election interval in these tests (production default: 15 s)
PATIENCE = 10.0  # upper bound for waits; they return as soon as the condition holds


async def until(condition, timeout: float = PATIENCE, step: float = 0.02) -> bool:
    """Wait for ``condition()`` to hold; True as soon as it does, False after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            return False
        await asyncio.sleep(step)
    return True


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    async def elected(self) -> None:
        self.events.append("elected")

    async def deposed(self) -> None:
        self.events.append("deposed")


class Ctx:
    """A job context: counts the runs of one instance; ``shared`` spans instances."""

    def __init__(self, name: str, shared: dict) -> None:
        self.name = name
        self.runs = 0
        self.shared = shared
        self.ran = asyncio.Event()


async def counting_job(ctx: Ctx) -> None:
    ctx.shared["active"] += 1
    ctx.shared["max_active"] = max(ctx.shared["max_active"], ctx.shared["active"])
    try:
        await asyncio.sleep(0.01)  # overlap would show up while another run is in here
        ctx.runs += 1
        ctx.shared["log"].append(ctx.name)
        ctx.ran.set()
    finally:
        ctx.shared["active"] -= 1


async def failing_then_counting_job(ctx: Ctx) -> None:
    ctx.shared["calls"] = ctx.shared.get("calls", 0) + 1
    if ctx.shared["calls"] == 1:
        raise RuntimeError("boom on the first run")
    ctx.runs += 1


def shared_state() -> dict:
    return {"active": 0, "max_active": 0, "log": []}


@pytest.fixture
async def sqlite_db(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'leader.sqlite3'}")
    yield db
    await db.dispose()


@pytest.fixture
async def pg_db():
    if not PG_URL:
        pytest.skip("advisory-lock election needs PostgreSQL: set KANAL_TEST_DATABASE_URL")
    db = Database(PG_URL)
    yield db
    await db.dispose()


@pytest.fixture
def key() -> int:
    """A lock key of this test alone, so tests (and a running bot) never see each other's lock."""
    return SCHEDULER_LOCK_KEY + random.randrange(1, 1 << 20)


async def lock_holders(db: Database, key: int) -> list[int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND ((classid::bigint << 32) | objid::bigint) = :k AND objsubid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"k": key},
        )
        return [r[0] for r in rows]


# ---- SQLite ---------------------------------------------------------------------------------------


async def test_sqlite_instance_is_always_leader(sqlite_db):
    rec = Recorder()
    lead = Leadership(sqlite_db, interval=FAST, on_elected=rec.elected, on_deposed=rec.deposed)
    assert lead.is_leader is False
    await lead.start()
    assert lead.is_leader and await lead.wait_elected(0)
    assert await lead.confirm()
    await lead.stop()
    assert lead.is_leader is False
    assert rec.events == ["elected", "deposed"]


async def test_sqlite_runner_runs_jobs_and_survives_a_failing_job(sqlite_db, caplog):
    lead = Leadership(sqlite_db)
    shared = shared_state()
    ctx = Ctx("only", shared)
    runner = JobRunner(lead, ctx, timezone="Asia/Makassar")
    runner.add_interval("count", counting_job, 0.05)
    runner.add_interval("boom", failing_then_counting_job, 0.05)
    await runner.start()
    await lead.start()
    try:
        with caplog.at_level(logging.ERROR, logger="scheduler.runner"):
            assert await until(lambda: ctx.runs >= 6)
        assert runner.stats("boom").failures == 1
        assert "boom on the first run" in runner.stats("boom").last_error
        assert runner.stats("boom").runs >= 2  # it kept being scheduled after the failure
        assert any("job boom failed" in r.getMessage() for r in caplog.records)
        assert shared["max_active"] == 1
    finally:
        await lead.stop()
        await runner.stop()
    after_stop = ctx.runs
    await asyncio.sleep(0.2)  # several intervals: a stopped runner must stay silent
    assert ctx.runs == after_stop


async def test_runner_rejects_plain_functions_and_bad_times(sqlite_db):
    runner = JobRunner(Leadership(sqlite_db), object())
    with pytest.raises(TypeError):
        runner.add_interval("sync", lambda ctx: None, 60)
    with pytest.raises(ValueError):
        runner.add_daily("digest", counting_job, 24, 0)
    with pytest.raises(ValueError):
        runner.add_interval("never", counting_job, 0)


def test_list_jobs_describes_the_schedule_in_the_region_zone():
    class NoDb:
        dialect = "sqlite"

    wit = ZoneInfo("Asia/Jayapura")
    runner = JobRunner(Leadership(NoDb()), object(), timezone="Asia/Jayapura")
    runner.add_interval("sla", counting_job, 60)
    runner.add_daily("digest", counting_job, 7, 0)
    now = datetime(2026, 11, 23, 8, 0, tzinfo=wit)
    jobs = runner.list_jobs(now)
    assert [(name, desc) for name, desc, _ in jobs] == [
        ("sla", "every 60 s"),
        ("digest", "daily at 07:00 Asia/Jayapura"),
    ]
    digest_next = jobs[1][2]
    assert digest_next == datetime(2026, 11, 24, 7, 0, tzinfo=wit)
    assert digest_next.utcoffset().total_seconds() == 9 * 3600
    assert jobs[0][2] > now


# ---- PostgreSQL -----------------------------------------------------------------------------------


@needs_pg
async def test_exactly_one_leader_and_takeover_when_it_stops(pg_db, key):
    recs = [Recorder(), Recorder()]
    a, b = (
        Leadership(pg_db, key=key, interval=FAST, on_elected=r.elected, on_deposed=r.deposed, name=f"i{n}")
        for n, r in enumerate(recs)
    )
    await a.start()
    await b.start()
    try:
        assert await until(lambda: a.is_leader or b.is_leader)
        leader, follower = (a, b) if a.is_leader else (b, a)
        # the follower keeps trying and keeps failing while the leader lives
        tried = follower.attempts
        assert await until(lambda: follower.attempts >= tried + 3)
        assert [x.is_leader for x in (leader, follower)].count(True) == 1
        assert len(await lock_holders(pg_db, key)) == 1
        assert await leader.confirm() and not await follower.confirm()

        await leader.stop()
        assert leader.is_leader is False
        assert await follower.wait_elected(PATIENCE)
        assert follower.is_leader
        holders = await lock_holders(pg_db, key)
        assert len(holders) == 1
        lead_rec, follow_rec = (recs[0], recs[1]) if leader is a else (recs[1], recs[0])
        assert lead_rec.events == ["elected", "deposed"]
        assert follow_rec.events == ["elected"]
    finally:
        await a.stop()
        await b.stop()
    assert await lock_holders(pg_db, key) == []


@needs_pg
async def test_leader_that_loses_its_session_steps_down(pg_db, key):
    rec = Recorder()
    a = Leadership(pg_db, key=key, interval=FAST, on_elected=rec.elected, on_deposed=rec.deposed, name="a")
    b = Leadership(pg_db, key=key, interval=FAST, name="b")
    await a.start()
    try:
        assert await a.wait_elected(PATIENCE)
        await b.start()
        [pid] = await lock_holders(pg_db, key)
        async with pg_db.engine.connect() as conn:  # the leader's session dies (DBA, failover, network)
            assert await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert await a.wait_deposed(PATIENCE)
        assert rec.events[:2] == ["elected", "deposed"]
        # somebody leads again (either instance may win the race), and only one
        assert await until(lambda: a.is_leader or b.is_leader)
        assert [a.is_leader, b.is_leader].count(True) == 1
        holders = await lock_holders(pg_db, key)
        assert len(holders) == 1 and holders != [pid]
    finally:
        await a.stop()
        await b.stop()


@needs_pg
async def test_jobs_run_only_on_the_leader_and_move_with_it(pg_db, key):
    shared = shared_state()
    instances = []
    for name in ("one", "two"):
        lead = Leadership(pg_db, key=key, interval=FAST, name=name)
        ctx = Ctx(name, shared)
        runner = JobRunner(lead, ctx, timezone="Asia/Jakarta")
        runner.add_interval("count", counting_job, 0.05)
        await runner.start()
        instances.append((lead, runner, ctx))
    for lead, _, _ in instances:
        await lead.start()
    try:
        assert await until(lambda: any(lead.is_leader for lead, _, _ in instances))
        (l_lead, l_runner, l_ctx), (f_lead, f_runner, f_ctx) = sorted(instances, key=lambda i: not i[0].is_leader)
        assert await until(lambda: l_ctx.runs >= 5)
        tried = f_lead.attempts
        assert await until(lambda: f_lead.attempts >= tried + 2)  # the follower had its chances
        assert f_ctx.runs == 0 and not f_lead.is_leader
        assert f_runner.stats("count").runs == 0

        await l_lead.stop()  # deposed: the old leader's runner pauses, then the lock is released
        stopped_at = l_ctx.runs
        assert await f_lead.wait_elected(PATIENCE)
        assert await until(lambda: f_ctx.runs >= 5)
        assert l_ctx.runs == stopped_at  # the old leader ran nothing after stepping down
        assert shared["max_active"] == 1  # never two runs at once across the instances
        # the runs form one block per leader: no interleaving
        log = shared["log"]
        assert log == [l_ctx.name] * stopped_at + [f_ctx.name] * (len(log) - stopped_at)
    finally:
        for lead, runner, _ in instances:
            await lead.stop()
            await runner.stop()


@needs_pg
async def test_a_job_firing_after_the_lock_is_gone_is_skipped(pg_db, key):
    """Between two heartbeats a leader may not know yet that its session died: the guard asks."""
    shared = shared_state()
    lead = Leadership(pg_db, key=key, interval=3600, name="slow-heartbeat")  # the loop won't notice
    ctx = Ctx("x", shared)
    runner = JobRunner(lead, ctx, timezone="Asia/Jakarta")
    runner.add_interval("count", counting_job, 0.05)
    await runner.start()
    await lead.start()
    try:
        assert await lead.wait_elected(PATIENCE)
        assert await until(lambda: ctx.runs >= 1)
        [pid] = await lock_holders(pg_db, key)
        async with pg_db.engine.connect() as conn:
            await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert await lead.wait_deposed(PATIENCE)  # found by the guard before the next run
        ran = ctx.runs
        await asyncio.sleep(0.2)
        assert ctx.runs == ran
        assert not lead.is_leader
    finally:
        await lead.stop()
        await runner.stop()
