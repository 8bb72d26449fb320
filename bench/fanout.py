"""Benchmark: fan-out of one broadcast to many Telegram users through our real delivery path.

``--messages`` (default 10,000) citizens, each a distinct Telegram chat, have consented and
subscribed to forum news of the whole region (seeded in bulk). A forum is then created and
announced exactly as ``kanal forum create`` does it (``bot.cli.cmd_forum.run`` called in this process:
``handlers.forum.announce_forum`` → ``Notifier.to_user`` → one outbox row per subscriber, all in
one transaction), while ``kanal run`` (``python -m bot run``, a separate process, scheduler off)
delivers the rows: outbox claim → ``bot.delivery.sender.OutboxSender`` lanes and token buckets →
``TelegramChannel`` over PTB/aiohttp → the fake Bot API server (``tests/fakes/telegram_api.py``)
in this process, with flood control on (30 messages/s with a burst of 30 across all chats, 1/s
with a burst of 3 per chat; exceeding them answers 429 with ``retry_after``).

Reported per round (medians over ``--rounds``):

* **rate share**: messages the server accepted / seconds from the first to the last accepted one,
  divided by the server's 30/s (target ≥ 95 %); also the *steady* share, which leaves out the
  server's initial burst (the first 30 accepted);
* **429s** the server answered;
* **lost**: subscribers whose chat got no message (exact set comparison by chat id; target 0);
  **duplicates**: accepted messages beyond one per chat (target 0); **unexpected**: messages to a
  chat that was not a subscriber; and the outbox rows by status after the run;
* **enqueue**: wall time of the whole ``forum create`` (one transaction holding every outbox row)
  and the delay from its commit to the first accepted message.
* **lone turns**: a citizen's ``/start`` before the broadcast, and a new citizen's ``/start`` every
  second while it goes out, each waited for: p50 and p99 from the update to the answer.

    .venv/bin/python -m bench.fanout                                   # 10,000 messages, SQLite (≈ 6 min)
    .venv/bin/python -m bench.fanout --messages 600                    # quick (≈ 25 s)
    .venv/bin/python -m bench.fanout --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --reset

On PostgreSQL the database must be empty or ``--reset`` given (drops and recreates schema
``public`` before every round: use a database of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, literal, select  # noqa: E402

from bench.common import migrated, row_count  # noqa: E402
from bot.domain.forum_rules import SCOPE_REGION  # noqa: E402
from bot.domain.region import load_region_file  # noqa: E402
from bot.services.regions import store_region  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import Database  # noqa: E402
from storage.models import ForumSubscription, OutboxMessage, User  # noqa: E402
from testkit.fakes.telegram_api import FakeTelegramServer  # noqa: E402

TOKEN = "222222:FANOUT-token"
FIRST_CHAT = 50_000_001
PROBE_CHAT = 40_000_001  # not a subscriber: its /start replies are not broadcast messages
#: Telegram's limits as the fake server enforces them in this benchmark
SERVER_GLOBAL = 30.0
SERVER_GLOBAL_BURST = 30
SERVER_CHAT = 1.0
SERVER_CHAT_BURST = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_ids(n: int, first: int = FIRST_CHAT) -> list[int]:
    return list(range(first, first + n))


# ---- the database ------------------------------------------------------------------------------
async def prepare_database(db: Database, *, reset: bool) -> None:
    """An empty, migrated database with the bundled demo region (PostgreSQL: ``reset`` drops
    schema public first; without it the database must hold no users)."""
    await migrated(db, reset=reset)
    users = await row_count(db, User)
    if users:
        raise SystemExit(
            f"{db.url.split('@')[-1]} already holds {users:,} users: use --reset (drops schema public) or another database"
        )
    await store_region(db, load_region_file(None), datetime.now(UTC))


async def seed_subscribers(db: Database, chats: list[int], now: datetime) -> None:
    """One consented Telegram citizen per chat (half Indonesian, half English), each subscribed
    to forum news of the whole region: two bulk INSERTs (what /langganan leaves behind)."""
    rows = [
        {
            "channel": "telegram",
            "external_id": str(c),
            "display_name": f"Warga {c}",
            "role": "citizen",
            "language": "id" if i % 2 == 0 else "en",
            "language_explicit": i % 2 == 1,
            "consent_at": now,
            "created_at": now,
        }
        for i, c in enumerate(chats)
    ]
    async with db.engine.begin() as conn:
        for k in range(0, len(rows), 5000):
            await conn.execute(insert(User), rows[k : k + 5000])
        ours = select(User.id, literal(SCOPE_REGION), literal(now, type_=ForumSubscription.created_at.type)).where(
            User.channel == "telegram", User.external_id.in_([str(c) for c in chats])
        )
        await conn.execute(insert(ForumSubscription).from_select(["user_id", "scope", "created_at"], ours))


async def announce(db: Database, settings: Settings, opd: str = "PUPR") -> tuple[float, str]:
    """``kanal forum create`` (the real command's code, in this process): creates a forum and
    enqueues its announcement to every subscriber in one transaction. (seconds, its output)"""
    import handlers.forum  # noqa: F401  (imported before the clock starts, as in a warm process)
    from bot.channels.registry import renderers as renderers_for
    from bot.cli import cmd_forum as cli_forum

    renderers_for(None)
    now = datetime.now(UTC)
    at = (now + timedelta(days=7)).astimezone(timezone(timedelta(hours=7)))
    args = argparse.Namespace(
        forum_command="create",
        opd=opd,
        title="Forum Konsultasi Publik Jalan Desa",
        topic=None,
        at=at.strftime("%Y-%m-%d 10:00"),
        place="Aula Kantor Bupati",
        url=None,
        capacity=200,
        description=None,
        agenda="1. Pembukaan\n2. Paparan\n3. Tanya jawab",
    )
    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = await cli_forum.run(args, db, settings, now)
    elapsed = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"forum create failed ({code}): {out.getvalue()}")
    return elapsed, out.getvalue().splitlines()[0]


async def outbox_by_status(db: Database) -> dict[str, int]:
    async with db.unit_of_work() as uow:
        rows = (
            await uow.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        ).all()
    return dict(rows)


# ---- what the server saw -----------------------------------------------------------------------
def tally(
    tg: FakeTelegramServer,
    expected: set[int],
    *,
    limit: float = SERVER_GLOBAL,
    burst: int = SERVER_GLOBAL_BURST,
    ignore: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """The fan-out's figures from the messages the fake server accepted (not from what we sent);
    chats in ``ignore`` (the interactive probes) are left out."""
    sent = [s for s in tg.sent(method="sendMessage") if s["chat_id"] not in ignore]
    times = sorted(s["time"] for s in sent)
    per_chat = Counter(s["chat_id"] for s in sent)
    got = set(per_chat)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = len(times) / span if span > 0 else 0.0
    # leave out the server's initial burst: what is left is paced by its refill rate alone
    steady_span = times[-1] - times[burst - 1] if len(times) > burst else 0.0
    steady = (len(times) - burst) / steady_span if steady_span > 0 else 0.0
    return {
        "accepted": len(sent),
        "expected": len(expected),
        "span_s": span,
        "rate_per_s": rate,
        "rate_share": rate / limit,
        "steady_rate_per_s": steady,
        "steady_share": steady / limit,
        "http_429": tg.rejected_429,
        "http_429_first_5s": sum(1 for e in tg.errors if e.status == 429 and times and e.time - times[0] < 5),
        "lost": len(expected - got),
        "lost_sample": sorted(expected - got)[:10],
        "duplicates": sum(c - 1 for c in per_chat.values() if c > 1),
        "unexpected": len(got - expected),
        "first_at": times[0] if times else None,
        "last_at": times[-1] if times else None,
        "other_errors": Counter(f"{e.status}" for e in tg.errors if e.status != 429),
    }


async def probe_reply(tg: FakeTelegramServer, chat: int, timeout: float = 600) -> float:
    """A citizen's first ``/start``: seconds from the update to our reply at the server (an
    interactive turn competing with the broadcast for the outbox and the rate limit)."""
    t0 = time.monotonic()
    tg.push_message(chat, "/start")
    await tg.wait_for_sent(1, chat_id=chat, timeout=timeout)
    return time.monotonic() - t0


async def lone_turns(tg: FakeTelegramServer, done: asyncio.Event, *, every: float = 1.0) -> list[float]:
    """While the broadcast goes out (until ``done``): a new citizen's ``/start`` every ``every``
    seconds, each waited for (seconds from the update to our reply at the server)."""
    took: list[float] = []
    chat = PROBE_CHAT + 1
    while not done.is_set():
        took.append(await probe_reply(tg, chat, timeout=120))
        chat += 1
        try:
            await asyncio.wait_for(done.wait(), every)
        except TimeoutError:
            pass
    return took


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def wait_delivered(tg: FakeTelegramServer, expected: set[int], *, timeout: float, stall: float = 60.0) -> None:
    """Until every expected chat got a message, or nothing new arrived for ``stall`` seconds."""
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while True:
        got = {s["chat_id"] for s in tg.sent(method="sendMessage")}
        if expected <= got:
            return
        now = time.monotonic()
        if len(got) != last_count:
            last_count, last_change = len(got), now
        if now > deadline or now - last_change > stall:
            print(f"  gave up waiting: {len(got & expected)}/{len(expected)} chats reached", file=sys.stderr)
            return
        await asyncio.sleep(0.25)


# ---- the bot process ---------------------------------------------------------------------------
async def start_bot(
    tg: FakeTelegramServer, database_url: str, workdir: str, extra_env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}
    env.update(
        {
            "KANAL_DATABASE_URL": database_url,
            "KANAL_TELEGRAM_TOKEN": TOKEN,
            "KANAL_TELEGRAM_BASE_URL": tg.base_url,
            "KANAL_HTTP_PORT": str(free_port()),
            "KANAL_WEBCHAT": "false",
            "KANAL_SCHEDULER": "false",
            "KANAL_LOG_LEVEL": "WARNING",
            **extra_env,
        }
    )
    log_path = Path(workdir) / "bot.log"
    log = log_path.open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=workdir, stdout=asyncio.subprocess.DEVNULL, stderr=log
    )
    log.close()
    deadline = time.monotonic() + 60
    while not any(r.method.lower() == "getupdates" for r in tg.requests):  # long polling: fully started
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.05)
    return proc, log_path


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def stop_bot(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# ---- one round ---------------------------------------------------------------------------------
async def one_round(
    n: int, database_url: str | None, *, reset: bool, extra_env: dict[str, str], settle: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/fanout.sqlite3"
        db = Database(url)
        try:
            await prepare_database(db, reset=reset)
            chats = chat_ids(n)
            t0 = time.perf_counter()
            await seed_subscribers(db, chats, datetime.now(UTC))
            seed_s = time.perf_counter() - t0
            async with FakeTelegramServer(
                token=TOKEN,
                rate_limits=True,
                global_per_second=SERVER_GLOBAL,
                global_burst=SERVER_GLOBAL_BURST,
                per_chat_per_second=SERVER_CHAT,
                per_chat_burst=SERVER_CHAT_BURST,
            ) as tg:
                proc, log_path = await start_bot(tg, url, tmp, extra_env)
                try:
                    idle_reply_s = await probe_reply(tg, PROBE_CHAT, timeout=30)
                    cpu_before = cpu_seconds(proc.pid)
                    settings = Settings(database_url=url, languages=("id", "en"))
                    enqueue_s, said = await announce(db, settings)
                    committed = time.monotonic()
                    print(f"  {said} ({enqueue_s:.2f} s)", file=sys.stderr, flush=True)
                    expected = set(chats)
                    # lone citizens' turns one after another while the broadcast goes out
                    delivered = asyncio.Event()
                    probes = asyncio.create_task(lone_turns(tg, delivered))
                    await wait_delivered(tg, expected, timeout=n / SERVER_GLOBAL * 2 + 120)
                    delivered.set()
                    busy = await probes
                    cpu_after = cpu_seconds(proc.pid)
                    await asyncio.sleep(settle)  # a duplicate would arrive now
                finally:
                    await stop_bot(proc)
                result = tally(tg, expected, ignore=frozenset(range(PROBE_CHAT, PROBE_CHAT + 2 + len(busy))))
            result["enqueue_s"] = enqueue_s
            result["bot_cpu_s"] = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
            result["idle_reply_s"] = idle_reply_s
            result["busy_reply_s"] = statistics.median(busy)
            result["busy_reply_p99_s"] = percentile(busy, 0.99)
            result["busy_turns"] = len(busy)
            result["seed_s"] = seed_s
            result["first_send_after_commit_s"] = (result["first_at"] - committed) if result["first_at"] else None
            result["outbox"] = await outbox_by_status(db)
            warnings = [
                line
                for line in log_path.read_text(errors="replace").splitlines()
                if " WARNING " in line or " ERROR " in line
            ]
            result["bot_warnings"] = len(warnings)
            result["bot_warning_sample"] = warnings[:5]
            return result
        finally:
            await db.dispose()


async def enqueue_only(n: int, database_url: str | None, *, reset: bool, rounds: int) -> dict[str, Any]:
    """Only the announcement's transaction, ``rounds`` times on one database (no bot, no sending;
    a new forum each round, the earlier rounds' outbox rows deleted first)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/fanout.sqlite3"
        db = Database(url)
        try:
            await prepare_database(db, reset=reset)
            await seed_subscribers(db, chat_ids(n), datetime.now(UTC))
            settings = Settings(database_url=url, languages=("id", "en"))
            times = []
            for r in range(rounds):
                async with db.engine.begin() as conn:
                    await conn.execute(OutboxMessage.__table__.delete())
                seconds, said = await announce(db, settings)
                times.append(seconds)
                print(f"round {r + 1}: {said} ({seconds:.2f} s)", file=sys.stderr, flush=True)
            return {
                "database": db.dialect,
                "messages": n,
                "enqueue_s": times,
                "median_enqueue_s": statistics.median(times),
            }
        finally:
            await db.dispose()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    extra_env = {}
    if args.global_rate is not None:
        extra_env["KANAL_TELEGRAM_GLOBAL_RATE"] = str(args.global_rate)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "database": "postgresql" if args.database_url and args.database_url.startswith("postgresql") else "sqlite",
        "messages": args.messages,
        "rounds": args.rounds,
        "runs": [],
    }
    for r in range(args.rounds):
        reset = args.reset or r > 0  # a later round starts from what this benchmark left behind
        run = await one_round(args.messages, args.database_url, reset=reset, extra_env=extra_env, settle=args.settle)
        results["runs"].append(run)
        print(
            f"round {r + 1}: {run['accepted']}/{run['expected']} accepted in {run['span_s']:.1f} s, rate {100 * run['rate_share']:.1f} % "
            f"(steady {100 * run['steady_share']:.1f} %) of {SERVER_GLOBAL:.0f}/s, 429s {run['http_429']}, lost {run['lost']}, "
            f"duplicates {run['duplicates']}, enqueue {run['enqueue_s']:.2f} s, "
            f"/start reply {run['idle_reply_s']:.2f} s idle; during: p50 {run['busy_reply_s']:.2f} s, "
            f"p99 {run['busy_reply_p99_s']:.2f} s of {run['busy_turns']} lone turns",
            file=sys.stderr,
            flush=True,
        )
    keys = (
        "rate_share",
        "steady_share",
        "rate_per_s",
        "span_s",
        "http_429",
        "lost",
        "duplicates",
        "unexpected",
        "enqueue_s",
        "first_send_after_commit_s",
        "idle_reply_s",
        "busy_reply_s",
        "busy_reply_p99_s",
        "busy_turns",
        "http_429_first_5s",
    )
    results["median"] = {k: statistics.median(run[k] for run in results["runs"]) for k in keys}
    results["worst"] = {
        k: max(run[k] for run in results["runs"]) for k in ("http_429", "lost", "duplicates", "unexpected")
    }
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.fanout", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--messages",
        type=int,
        default=10_000,
        help="subscribers = messages = distinct chats (default 10000, ≈ 6 min a round)",
    )
    p.add_argument("--rounds", type=int, default=1, help="rounds; medians are reported (default 1)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KANAL_BENCH_DATABASE_URL"),
        help="PostgreSQL (or SQLite) URL instead of a temporary SQLite file (default: $KANAL_BENCH_DATABASE_URL)",
    )
    p.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate schema public first")
    p.add_argument(
        "--global-rate", type=float, help="KANAL_TELEGRAM_GLOBAL_RATE for the bot (default: the bot's own default)"
    )
    p.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds to keep listening after the last message, for duplicates (default 3)",
    )
    p.add_argument(
        "--enqueue-only",
        action="store_true",
        help="time only the announcement's transaction (--rounds times, default 1), no bot and no sending",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args(argv)
    if args.enqueue_only:
        r = asyncio.run(enqueue_only(args.messages, args.database_url, reset=args.reset, rounds=args.rounds))
        print(
            f"{platform.machine()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {r['database']}; "
            f"announcement to {r['messages']:,} subscribers in one transaction: median {r['median_enqueue_s']:.2f} s "
            f"({', '.join(f'{x:.2f}' for x in r['enqueue_s'])})"
        )
        return 0
    if args.messages < SERVER_GLOBAL_BURST + 2:
        p.error(f"--messages must be at least {SERVER_GLOBAL_BURST + 2}")
    results = asyncio.run(main_async(args))
    m, w = results["median"], results["worst"]
    print(
        f"{results['machine']}, {results['date']}; {results['database']}; {args.messages:,} messages to {args.messages:,} chats, "
        f"{args.rounds} round(s) (medians)"
    )
    print(
        f"  rate: {m['rate_per_s']:.2f} msg/s = {100 * m['rate_share']:.1f} % of {SERVER_GLOBAL:.0f}/s "
        f"(steady, without the initial burst: {100 * m['steady_share']:.1f} %); {m['span_s']:.1f} s first to last"
    )
    print(
        f"  429s: {m['http_429']:.0f} (worst {w['http_429']}); lost {m['lost']:.0f} (worst {w['lost']}); "
        f"duplicates {m['duplicates']:.0f} (worst {w['duplicates']}); unexpected {w['unexpected']}"
    )
    print(
        f"  enqueue (forum create, one transaction): {m['enqueue_s']:.2f} s; first message {m['first_send_after_commit_s']:.2f} s after commit"
    )
    print(
        f"  a citizen's /start answered in {m['idle_reply_s']:.2f} s before the broadcast; during it "
        f"p50 {m['busy_reply_s']:.2f} s, p99 {m['busy_reply_p99_s']:.2f} s ({m['busy_turns']:.0f} lone turns, one a second)"
    )
    last = results["runs"][-1]
    print(
        f"  outbox after the run: {last['outbox']}; bot warnings: {last['bot_warnings']}; "
        f"bot CPU during the broadcast: {'?' if last['bot_cpu_s'] is None else format(last['bot_cpu_s'], '.1f')} s; 429s in the first 5 s: {last['http_429_first_5s']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    ok = w["lost"] == 0 and w["duplicates"] == 0 and w["unexpected"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
