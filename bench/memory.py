"""Benchmark: the bot's memory (RSS) after 1,000 … 100,000 distinct users have each done one turn.

Conversation state lives in the database, not the process, so the resident set of a long-running
bot must not grow with the number of people it has talked to. This runs ``--users`` (default
100,000) turns, one per new user, in a **child process** (so nothing of the parent's set-up,
migrations or seeding is counted) through the real :class:`bot.engine.dispatch.Dispatcher` with
``handlers.build_router()`` and web-chat inbounds: each user sends one ``/start`` (user row,
state row, dedupe row, the consent question rendered into the outbox, one transaction), at most
``--concurrency`` turns in flight. With ``--deliver`` (the default) the real
:class:`bot.delivery.sender.OutboxSender` runs beside it, woken after every commit as in the app, and
sends every reply through a null channel sender under Telegram's per-chat limit (1/s, bursts of 3;
no global limit), so its per-chat lanes and rate buckets are exercised too.

At 0 users (everything built, the database connected, no turn yet) and at every checkpoint
(1,000, 10,000, 100,000 by default; ``--checkpoints``) the child waits until the outbox is drained,
runs ``gc.collect()`` and reads ``VmRSS`` (and ``VmHWM``) from ``/proc/self/status``; it also
reports the sizes of the in-process structures keyed by person (the dispatcher's per-person lock
dict, the sender's lanes and idle rate buckets) and the Python object types whose counts grew most
between the first checkpoint and the last. Growth is reported per 1,000 users between consecutive
checkpoints; the first step includes warm-up (imports done lazily, statement caches, pools).

    .venv/bin/python -m bench.memory                                     # SQLite, temporary file, 100,000 users
    .venv/bin/python -m bench.memory --users 5000 --checkpoints 1000,2000,5000     # quick
    .venv/bin/python -m bench.memory --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench --reset

On PostgreSQL the database must hold no users or ``--reset`` be given (drops and recreates schema
``public``: use a database of its own). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def type_counts() -> Counter:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class NullSender:
    """A channel sender that accepts every message (the platform is not what is measured)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None):
        from bot.domain.messages import SendResult

        self.sent += 1
        return SendResult(platform_message_id=str(self.sent))


# ---- the child: the bot ------------------------------------------------------------------
async def child_main(url: str, users: int, checkpoints: list[int], concurrency: int, deliver: bool) -> None:
    from sqlalchemy import text

    from bot.channels.telegram.telegram_channel import telegram_limit
    from bot.channels.web.web_channel import render as web_render
    from bot.delivery import OutboxSender
    from bot.domain.clock import SystemClock
    from bot.domain.messages import Inbound, Kind
    from bot.engine.dispatch import Dispatcher
    from bot.settings import Settings
    from handlers import build_router
    from storage import Database

    def emit(record: dict) -> None:
        print(json.dumps(record), flush=True)

    db = Database(url)
    clock = SystemClock()
    dispatcher = Dispatcher(db, build_router(), Settings(database_url=url), clock=clock, renderers={"web": web_render})
    sender = NullSender()
    outbox = (
        OutboxSender(db, {"web": sender}, clock=clock, limits={"web": telegram_limit(global_rate=0, chat_rate=1.0)})
        if deliver
        else None
    )
    if outbox is not None:
        dispatcher.on_commit.append(outbox.wake)
        await outbox.start()
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

    def structures() -> dict[str, int]:
        out = {"dispatcher_locks": len(dispatcher._locks)}
        if outbox is not None:
            out |= {
                "outbox_lanes": len(outbox._lanes),
                "outbox_idle_buckets": len(outbox.buckets.idle),
                "sent": sender.sent,
            }
        return out

    async def checkpoint(done: int, elapsed: float) -> Counter:
        if outbox is not None:
            await outbox.drain(timeout=600)
        gc.collect()
        counts = type_counts()
        emit({"users": done, "elapsed": elapsed, **proc_status(), **structures(), "objects": sum(counts.values())})
        return counts

    first = await checkpoint(0, 0.0)
    base_counts: Counter | None = None
    marks = sorted({c for c in checkpoints if 0 < c <= users})
    sem = asyncio.Semaphore(concurrency)
    failures = 0
    pid = os.getpid()

    async def one(i: int) -> None:
        nonlocal failures
        async with sem:
            out = await dispatcher.handle(
                Inbound(
                    channel="web",
                    user_key=f"mem-{pid}-{i}",
                    external_id=f"mem-{pid}-{i}",
                    kind=Kind.TEXT,
                    text="/start",
                    display_name=f"Warga {i}",
                )
            )
            if not (out.handled and out.replies):
                failures += 1

    t0 = time.perf_counter()
    done = 0
    for mark in marks:
        # a bounded window of tasks (never 100,000 coroutines at once)
        while done < mark:
            batch = min(mark - done, concurrency * 50)
            await asyncio.gather(*(one(i) for i in range(done, done + batch)))
            done += batch
        counts = await checkpoint(done, time.perf_counter() - t0)
        if base_counts is None:
            base_counts = counts
    if outbox is not None:
        await outbox.stop()
    if base_counts is not None and marks and marks[-1] != marks[0]:
        grew = (counts - base_counts).most_common(12)
        emit({"object_growth": grew, "from_users": marks[0], "to_users": marks[-1]})
    emit({"failures": failures, "first_objects": sum(first.values())})
    await db.dispose()


# ---- the parent: set-up, the child, the report --------------------------------------------
async def prepare(url: str, reset: bool) -> None:
    from bench.common import migrated, row_count
    from bench.sla import NOW
    from bot.domain.region import load_region_file
    from bot.services.regions import store_region
    from storage import Database
    from storage.models import User

    db = Database(url)
    try:
        await migrated(db, reset=reset)
        existing = await row_count(db, User)
        if existing:
            raise SystemExit(
                f"{url.split('@')[-1]} already holds {existing:,} users: use --reset (drops schema public) or another database"
            )
        await store_region(db, load_region_file(), NOW)
    finally:
        await db.dispose()


def run(args: argparse.Namespace) -> dict:
    from bench.common import bench_url

    url, tmp = bench_url(args.database_url, "memory")
    try:
        asyncio.run(prepare(url, args.reset))
        checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if c.strip()} | {args.users})
        cmd = [
            sys.executable,
            "-m",
            "bench.memory",
            "--child",
            "--database-url",
            url,
            "--users",
            str(args.users),
            "--checkpoints",
            ",".join(map(str, checkpoints)),
            "--concurrency",
            str(args.concurrency),
        ]
        if not args.deliver:
            cmd.append("--no-deliver")
        records: list[dict] = []
        extra: dict = {}
        with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                rec = json.loads(line)
                if "users" in rec:
                    records.append(rec)
                    print(
                        f"  {rec['users']:>7,} users: VmRSS {rec['VmRSS'] / 1024:7.1f} MiB  (after {rec['elapsed']:.0f} s) "
                        + " ".join(f"{k}={v}" for k, v in rec.items() if k not in ("users", "elapsed", "VmRSS")),
                        file=sys.stderr,
                        flush=True,
                    )
                else:
                    extra |= rec
        if proc.returncode:
            raise SystemExit(f"the child failed ({proc.returncode})")
        steps = []
        for a, b in zip(records, records[1:], strict=False):
            steps.append(
                {
                    "from": a["users"],
                    "to": b["users"],
                    "kib_per_1000_users": (b["VmRSS"] - a["VmRSS"]) / ((b["users"] - a["users"]) / 1000),
                }
            )
        turns = records[-1]["users"]
        return {
            "backend": "postgresql" if url.startswith("postgresql") else "sqlite",
            "users": turns,
            "concurrency": args.concurrency,
            "deliver": args.deliver,
            "checkpoints": records,
            "growth": steps,
            "turns_per_second": turns / records[-1]["elapsed"] if turns else None,
            **extra,
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}",
        }
    finally:
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.memory", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--users", type=int, default=100_000, help="distinct users, one turn each (default 100000)")
    p.add_argument(
        "--checkpoints",
        default="1000,10000,100000",
        help="user counts at which RSS is read, comma-separated (default 1000,10000,100000)",
    )
    p.add_argument("--concurrency", type=int, default=8, help="turns in flight at once (default 8)")
    p.add_argument(
        "--no-deliver", dest="deliver", action="store_false", help="do not run the outbox sender beside the dispatcher"
    )
    p.add_argument(
        "--database-url",
        default=os.environ.get("KANAL_BENCH_DATABASE_URL"),
        help="PostgreSQL (or SQLite) URL instead of a temporary SQLite file (default: $KANAL_BENCH_DATABASE_URL)",
    )
    p.add_argument("--reset", action="store_true", help="PostgreSQL: drop and recreate schema public first")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        checkpoints = [int(c) for c in args.checkpoints.split(",") if c]
        asyncio.run(child_main(args.database_url, args.users, checkpoints, args.concurrency, args.deliver))
        return
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"\nmemory benchmark — {result['backend']}, {result['users']:,} distinct users × one /start turn, concurrency {result['concurrency']}, "
        f"outbox sender {'on' if result['deliver'] else 'off'}, {result['turns_per_second']:.0f} turns/s, {result['machine']}"
    )
    for rec in result["checkpoints"]:
        print(
            f"  {rec['users']:>7,} users   VmRSS {rec['VmRSS'] / 1024:7.1f} MiB   VmHWM {rec['VmHWM'] / 1024:7.1f} MiB   objects {rec['objects']:>9,}   "
            + " ".join(f"{k}={rec[k]}" for k in ("dispatcher_locks", "outbox_lanes", "outbox_idle_buckets") if k in rec)
        )
    for s in result["growth"]:
        print(f"  {s['from']:>7,} → {s['to']:>7,} users: {s['kib_per_1000_users']:8.1f} KiB per 1,000 users")
    if result.get("object_growth"):
        print(
            f"  object types grown most from {result['from_users']:,} to {result['to_users']:,} users: {result['object_growth']}"
        )
    if result.get("failures"):
        print(f"  turns without a reply: {result['failures']}")


if __name__ == "__main__":
    main()
