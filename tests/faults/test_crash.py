"""A real process killed between commit and delivery: after a restart the reply goes out exactly once,
and Telegram's redelivery of the same update (its offset was never confirmed) has no second effect.
Then many scripted turns while the process is SIGKILLed at random moments (see the section below)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.channels.telegram.telegram_parse import bot_id_of, update_key
from storage import Database
from storage.models import Complaint, InboundMessage, OutboxMessage, User
from testkit.fakes.telegram_api import FakeTelegramServer
from testkit.scripts import complaint_turns
from testkit.tg_chat import buttons

TOKEN = "654321:CRASH-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: ``python -c`` program: the bot, with a hook that kills the process right after its first commit,
#: before anything is delivered (``Dispatcher.after_commit_hook``; 137 as after a SIGKILL)
CRASH_AFTER_COMMIT = """
import os, sys
from bot.engine.dispatch import Dispatcher
Dispatcher.after_commit_hook = lambda dispatcher: os._exit(137)
from bot.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def start_bot(env: dict[str, str], cwd, *, crash_after_commit: bool = False) -> asyncio.subprocess.Process:
    program = ["-c", CRASH_AFTER_COMMIT] if crash_after_commit else ["-m", "bot"]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *program,
        "run",
        env=env,
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_crash_between_commit_and_delivery(db_url, tmp_path):
    async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": db_url,
            "KANAL_TELEGRAM_TOKEN": TOKEN,
            "KANAL_TELEGRAM_BASE_URL": tg.base_url,
            "KANAL_HTTP_PORT": str(free_port()),
            "KANAL_WEBCHAT": "false",
            # many people report the same street lamp here on purpose: no "laporan serupa" offer
            "KANAL_SIMILAR_COMPLAINTS": "false",
            "KANAL_LOG_LEVEL": "DEBUG",  # PTB logs its token-bearing base URL at DEBUG: must come out redacted
        }
        tg.push_message(4242, "/start")

        crashing = await start_bot(env, tmp_path, crash_after_commit=True)
        out, _ = await asyncio.wait_for(crashing.communicate(), timeout=60)
        assert crashing.returncode == 137, out.decode(errors="replace")[-2000:]
        assert tg.sent(chat_id=4242) == []  # committed, not delivered

        bot = await start_bot(env, tmp_path)
        try:
            sent = await tg.wait_for_sent(1, chat_id=4242, timeout=30)
            assert "UU No. 27/2022" in sent[0]["visible_text"]
            tg.push_message(4242, "/bantuan")  # proves the process has consumed the redelivered update
            await tg.wait_for_sent(2, chat_id=4242, timeout=10)
            await asyncio.sleep(0.5)
            assert len(tg.sent(chat_id=4242)) == 2
        finally:
            bot.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, out.decode(errors="replace")[-2000:]
        log = out.decode(errors="replace")
        assert TOKEN not in log and "[REDACTED]" in log  # the filter did meet the token, and removed it


# ---- scripted turns under random SIGKILLs --------------------------------------------------------
#
# Many citizens each go through consent and a whole complaint (8 turns, every turn a distinct
# Telegram update answered by the bot), each turn sent only once the person has seen the answer to
# the previous one, as people do. Meanwhile the bot process is killed with SIGKILL at random moments
# (seeded) and started again. Afterwards the database and the fake server are compared:
#
# * every turn was stored exactly once (one inbound row per update, one complaint per citizen);
# * every outbox row went out, and the messages each chat received are exactly its outbox rows —
#   except copies of rows that a killed process had claimed ('sending') when it died: delivery is
#   at-least-once across a crash between the send and its bookkeeping (README, "Exactly-once
#   effects, at-least-once delivery"; no platform offers an idempotency key for sends). Such a
#   copy is allowed only for a row that was 'sending' at a kill, and at most one copy per kill.
#
# * no update is lost: one whose offset a killed process had confirmed but which is not stored is
#   detected (certainly lost: Telegram never sends it again), the person sends it again as people
#   do after getting no answer, and the loss is reported — see LOST_UPDATES_ARE_KNOWN.
#
# Killed processes leave their claimed rows locked for the lease (5 minutes). The test does not wait
# that long: after each kill it moves those leases into the past — what five minutes would do.

Marker = tuple[str, str]  # ("text", substring of the visible text) | ("button", callback data offered)


def _script(i: int) -> list[tuple[str, str, Marker]]:
    """The turns of citizen ``i``: (kind, what is sent or pressed, how its answer is recognised)."""
    return [
        ("send", "/start", ("text", "UU No. 27/2022")),
        ("press", "consent:yes", ("text", "Menu utama")),
        *complaint_turns(i),
    ]


TURNS_PER_CITIZEN = len(_script(0))
#: seconds without an answer before a person looks whether their message was lost
LOST_AFTER = 0.5
#: Found by this test: PTB's Updater confirmed an update's offset with its next getUpdates right
#: after fetching it, before the turn was stored, so a process killed in between lost the update.
#: The channel now polls itself and confirms a batch only after it is stored; a lost update fails
#: the test. (True would turn a loss back into an XFAIL that lists the lost updates.)
LOST_UPDATES_ARE_KNOWN = False


def _matches(message: dict, marker: Marker) -> bool:
    what, value = marker
    return value in (message.get("visible_text") or "") if what == "text" else value in buttons(message)


class _Run:
    """Shared bookkeeping of one scripted run (for the assertions and the failure report)."""

    def __init__(self) -> None:
        self.pushed: dict[int, list[int]] = {}  # chat -> update ids, in order
        self.keys: dict[int, str] = {}  # update id -> its dedupe key (telegram_parse.update_key)
        self.done: set[int] = set()
        self.kills: list[float] = []
        self.in_doubt: list[Counter] = []  # per kill: Counter of (chat, text) of rows claimed when it died
        self.lost: list[dict] = []  # updates fetched by a killed process and never stored
        self.sent: dict[int, list[str]] = {}  # chat -> texts the fake server accepted, in order
        self.startups: list[float] = []  # seconds from a (re)start until the bot polled
        self.duplicates = 0  # extra copies of in-flight rows (the at-least-once window)


async def _stored(db: Database, key: str) -> bool:
    async with db.unit_of_work() as uow:
        found = await uow.session.execute(
            select(InboundMessage.id).where(InboundMessage.channel == "telegram", InboundMessage.external_id == key)
        )
        return found.scalar_one_or_none() is not None


async def _inbound_count(db: Database) -> int:
    async with db.unit_of_work() as uow:
        return (await uow.session.execute(select(func.count()).select_from(InboundMessage))).scalar_one()


async def _citizen(
    tg: FakeTelegramServer,
    db: Database,
    chat_id: int,
    index: int,
    rng: random.Random,
    run: _Run,
    *,
    wait: float,
    look: float,
) -> None:
    """One person: a turn, wait until its answer is there, think a moment, the next turn. A turn
    that a killed process had fetched (its offset confirmed) but not stored is lost: after a while
    without an answer the person sends it again, as people do, and the loss is recorded."""
    seen = 0
    run.pushed[chat_id] = []
    for kind, value, marker in _script(index):
        while True:  # until this turn is answered
            if kind == "send":
                upd = tg.push_message(chat_id, value, first_name=f"Warga{index}", language_code="id")
            else:
                upd = tg.push_callback(chat_id, value, first_name=f"Warga{index}", language_code="id")
            uid = upd["update_id"]
            run.pushed[chat_id].append(uid)
            run.keys[uid] = update_key(bot_id_of(TOKEN), upd)
            pushed_at, first_request = time.monotonic(), len(tg.requests)
            answered = lost = False
            last_look, confirm = 0.0, None
            while not (answered or lost):
                sent = tg.sent(chat_id)
                hit = next((j for j in range(seen, len(sent)) if _matches(sent[j], marker)), None)
                if hit is not None:
                    seen, answered = hit + 1, True
                    break
                waited = time.monotonic() - pushed_at
                if waited > wait:
                    raise AssertionError(f"chat {chat_id}: no answer to update {uid} ({value!r}) within {wait}s")
                # lost for sure: its offset was confirmed (by the process alive then), that process
                # was killed afterwards, and the update is not stored — nobody has it any more.
                # Looked at every ``look`` seconds (the test process also runs the fake server).
                if waited > LOST_AFTER and time.monotonic() - last_look > look:
                    last_look = time.monotonic()
                    if confirm is None:  # the first getUpdates since the push whose offset passes it
                        confirm = next(
                            (
                                r
                                for r in tg.requests[first_request:]
                                if r.method.lower() == "getupdates" and int(r.params.get("offset") or 0) > uid
                            ),
                            None,
                        )
                    if (
                        confirm is not None
                        and any(k > confirm.time for k in run.kills)
                        and not await _stored(db, run.keys[uid])
                    ):
                        lost = True
                        run.lost.append(
                            {
                                "chat": chat_id,
                                "update_id": uid,
                                "turn": value,
                                "confirmed_at": round(confirm.time - pushed_at, 3),
                                "confirmed_by_offset": int(confirm.params.get("offset")),
                                "killed_at": [round(k - pushed_at, 3) for k in run.kills if k >= pushed_at],
                            }
                        )
                        break
                await asyncio.sleep(0.05)
            if answered:
                break
        await asyncio.sleep(rng.uniform(0.02, 0.25))
    run.done.add(chat_id)


def _polls(tg: FakeTelegramServer) -> int:
    return sum(1 for r in tg.requests if r.method.lower() == "getupdates")


async def _expire_leases(db_url: str, run: _Run) -> None:
    """What the 5-minute lease would do: rows the dead process had claimed become due again."""
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            rows = (
                (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.status == "sending")))
                .scalars()
                .all()
            )
            run.in_doubt.append(
                Counter((int(r.address), r.payload.get("text") or r.payload.get("caption") or "") for r in rows)
            )
            await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending")
                .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
            )
            await uow.commit()
    finally:
        await db.dispose()


async def _scripted_crashes(
    db_url: str,
    tmp_path,
    *,
    citizens: int,
    kills: int | None,
    gap: tuple[float, float],
    seed: int,
    budget: float,
    look: float,
) -> _Run:
    """Run ``citizens`` scripts against a real bot process killed ``kills`` times (None: every
    ``gap`` seconds until all scripts are done), ``gap`` seconds after it is polling again."""
    rng = random.Random(seed)
    run = _Run()
    async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")},
            "KANAL_DATABASE_URL": db_url,
            "KANAL_TELEGRAM_TOKEN": TOKEN,
            "KANAL_TELEGRAM_BASE_URL": tg.base_url,
            "KANAL_HTTP_PORT": str(free_port()),
            "KANAL_WEBCHAT": "false",
            # many people report the same street lamp here on purpose: no "laporan serupa" offer
            "KANAL_SIMILAR_COMPLAINTS": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_TELEGRAM_GLOBAL_RATE": "0",
            "KANAL_TELEGRAM_CHAT_RATE": "0",
            "KANAL_LOG_LEVEL": "WARNING",
        }

        async def start(n: int) -> tuple[asyncio.subprocess.Process, int]:
            log = open(tmp_path / f"bot-{n}.log", "wb")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                cwd=str(tmp_path),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
            log.close()
            launched[0] = time.monotonic()
            return proc, _polls(tg)

        launched = [0.0]

        async def polling_since(before: int, proc) -> None:
            deadline = time.monotonic() + 60
            while _polls(tg) <= before:
                assert proc.returncode is None, (tmp_path / f"bot-{len(run.kills)}.log").read_text(errors="replace")[
                    -3000:
                ]
                assert time.monotonic() < deadline, "the bot did not start polling within 60 s"
                await asyncio.sleep(0.02)
            run.startups.append(round(time.monotonic() - launched[0], 2))

        lookups = Database(db_url)  # one engine for the drivers' "was it stored?" questions
        proc, before = await start(0)
        drivers = [
            asyncio.create_task(
                _citizen(tg, lookups, 50_000 + i, i, random.Random(seed * 1000 + i), run, wait=budget, look=look)
            )
            for i in range(citizens)
        ]
        try:
            while (kills is None or len(run.kills) < kills) and not all(d.done() for d in drivers):
                stored_before = await _inbound_count(lookups)
                await polling_since(before, proc)
                # the kill clock starts once this process has stored a turn: on a slow machine a
                # process killed before that would lose its whole fetched batch every time
                # (finding 1) and the run would make no progress at all
                deadline = time.monotonic() + 60
                while await _inbound_count(lookups) == stored_before and not all(d.done() for d in drivers):
                    assert proc.returncode is None and time.monotonic() < deadline, (
                        "the restarted bot stored nothing in 60 s"
                    )
                    await asyncio.sleep(0.05)
                await asyncio.sleep(rng.uniform(*gap))
                if all(d.done() for d in drivers):
                    break
                proc.kill()  # SIGKILL: no shutdown, no flush, no offset confirmation
                await proc.wait()
                run.kills.append(time.monotonic())
                await _expire_leases(db_url, run)
                proc, before = await start(len(run.kills))
            await asyncio.gather(*drivers)
            # the last answers are out: wait until the outbox is empty
            db = Database(db_url)
            try:
                deadline = time.monotonic() + 20
                while True:
                    async with db.unit_of_work() as uow:
                        open_rows = (
                            await uow.session.execute(
                                select(func.count())
                                .select_from(OutboxMessage)
                                .where(OutboxMessage.status.in_(["pending", "sending"]))
                            )
                        ).scalar_one()
                    if not open_rows:
                        break
                    assert time.monotonic() < deadline, f"{open_rows} outbox row(s) still not sent"
                    await asyncio.sleep(0.1)
            finally:
                await db.dispose()
            await asyncio.sleep(0.3)
        finally:
            for d in drivers:
                d.cancel()
            await asyncio.gather(*drivers, return_exceptions=True)
            await lookups.dispose()
            if proc.returncode is None:
                # a process restarted just now may still be importing (no SIGTERM handler yet)
                deadline = time.monotonic() + 30
                while _polls(tg) <= before and proc.returncode is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), timeout=30)
        assert proc.returncode == 0, (tmp_path / f"bot-{len(run.kills)}.log").read_text(errors="replace")[-3000:]
        run.sent = {chat: [m.get("text") or m.get("caption") or "" for m in tg.sent(chat)] for chat in run.pushed}
    await _check_exactly_once(db_url, run, citizens)
    return run


async def _check_exactly_once(db_url: str, run: _Run, citizens: int) -> None:
    db = Database(db_url)
    try:
        async with db.unit_of_work() as uow:
            s = uow.session
            users = dict((await s.execute(select(User.external_id, User.id).where(User.channel == "telegram"))).all())
            complaints = Counter((await s.execute(select(Complaint.citizen_user_id))).scalars().all())
            inbound = Counter(
                (await s.execute(select(InboundMessage.external_id).where(InboundMessage.channel == "telegram")))
                .scalars()
                .all()
            )
            rows = (
                (
                    await s.execute(
                        select(OutboxMessage).where(OutboxMessage.channel == "telegram").order_by(OutboxMessage.id)
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await db.dispose()
    assert len(run.done) == citizens
    # effects: every update stored exactly once, one complaint per citizen
    lost = {run.keys[x["update_id"]] for x in run.lost}
    pushed = [run.keys[u] for ids in run.pushed.values() for u in ids]
    assert len(pushed) == citizens * TURNS_PER_CITIZEN + len(lost)  # a lost turn was sent again, nothing else
    assert set(inbound) == set(pushed) - lost and max(inbound.values()) == 1
    assert sorted(complaints.values()) == [1] * citizens and set(complaints) == {users[str(c)] for c in run.pushed}
    # replies: every row sent; per chat, the messages received are exactly the rows …
    assert {r.status for r in rows} == {"sent"}
    per_chat: dict[int, list[str]] = {}
    for r in rows:
        per_chat.setdefault(int(r.address), []).append(r.payload.get("text") or r.payload.get("caption") or "")
    counts = {len(v) for v in per_chat.values()}
    assert len(counts) == 1, f"citizens got different numbers of replies for the same script: {sorted(counts)}"
    allowed: Counter = Counter()
    for doubt in run.in_doubt:
        allowed.update(doubt)
    extra_total = 0
    for chat, expected in per_chat.items():
        got = run.sent[chat]
        missing = Counter(expected) - Counter(got)
        assert not missing, f"chat {chat}: rows never received: {list(missing)}"
        extra = Counter(got) - Counter(expected)
        for text, n in extra.items():
            # … plus at most one copy of a row that a killed process had claimed, per kill
            assert n <= allowed[(chat, text)], (
                f"chat {chat}: {n} extra cop(ies) of {text[:80]!r}, but it was in flight at "
                f"{allowed[(chat, text)]} kill(s)"
            )
            extra_total += n
    run.duplicates = extra_total


def _verdict(run: _Run, summary: str) -> None:
    print(summary)
    if run.lost:
        detail = "; ".join(
            f"chat {x['chat']} update {x['update_id']} ({x['turn']!r}): offset confirmed by getUpdates(offset="
            f"{x['confirmed_by_offset']}) {x['confirmed_at']}s after the push, process killed at {x['killed_at']}s, never stored"
            for x in run.lost
        )
        if LOST_UPDATES_ARE_KNOWN:
            pytest.xfail(f"known gap, {len(run.lost)} update(s) lost in long polling: {detail}")
        raise AssertionError(f"{len(run.lost)} update(s) lost: {detail}")


async def test_scripted_turns_under_random_kills(db_url, tmp_path):
    """CI variant: 10 citizens × 8 turns = 80 turns, three SIGKILLs at random moments."""
    started = time.monotonic()
    run = await _scripted_crashes(
        db_url, tmp_path, citizens=10, kills=3, gap=(0.1, 0.5), seed=20261201, budget=60, look=0.2
    )
    assert len(run.kills) == 3
    _verdict(
        run,
        f"80 turns, 3 kills, {run.duplicates} duplicate repl(ies), {len(run.lost)} lost update(s), {time.monotonic() - started:.1f}s, starts {run.startups}s",
    )


@pytest.mark.slow
async def test_scripted_turns_under_random_kills_long(db_url, tmp_path):
    """Long variant: 125 citizens × 8 turns = 1,000 turns, a SIGKILL 0.05–0.3 s after each restarted process stored its first turn, until done (the bot does the 1,000 turns in a few seconds)."""
    started = time.monotonic()
    run = await _scripted_crashes(
        db_url, tmp_path, citizens=125, kills=None, gap=(0.05, 0.3), seed=1000, budget=120, look=1.0
    )
    assert len(run.kills) >= 3
    _verdict(
        run,
        f"1000 turns, {len(run.kills)} kills, {run.duplicates} duplicate repl(ies), {len(run.lost)} lost update(s), {time.monotonic() - started:.1f}s, starts {run.startups}s",
    )
