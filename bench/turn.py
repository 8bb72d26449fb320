"""Benchmark: one full turn through our stack vs a stock PTB echo bot, same fake Bot API server.

Both bots run as separate processes, long-polling the same in-process fake server (rate limits
off). For each bot:

* throughput: N updates from C chats pushed at once; updates/s from the first push to the last
  reply received;
* latency: S sequential turns (push one, wait for its reply), p50/p99 from push to the reply's
  arrival at the server.

"Our turn" is the real thing: dedupe row, user + state row-locked, router, flow (/menu), audit
and outbox row committed in one transaction, the outbox sender woken and sending through PTB
over aiohttp. Run with ``./dev bench`` or ``python -m bench.turn --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testkit.fakes.telegram_api import FakeTelegramServer  # noqa: E402
from testkit.scripts import complaint_turns  # noqa: E402

TOKEN = "111111:BENCH-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_sent(tg: FakeTelegramServer, total: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(tg.sent()) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(tg.sent())}/{total} replies arrived")
        await asyncio.sleep(0.002)


async def measure(tg: FakeTelegramServer, *, chats: list[int], text: str, n: int, sequential: int) -> dict:
    # latency: one at a time
    latencies = []
    for i in range(sequential):
        chat = chats[i % len(chats)]
        before = len(tg.sent())
        t0 = time.monotonic()
        tg.push_message(chat, text)
        await wait_sent(tg, before + 1, 30)
        latencies.append(time.monotonic() - t0)
    # throughput: all at once
    before = len(tg.sent())
    t0 = time.monotonic()
    for i in range(n):
        tg.push_message(chats[i % len(chats)], text)
    await wait_sent(tg, before + n, 300)
    elapsed = time.monotonic() - t0
    latencies.sort()
    return {
        "updates_per_s": n / elapsed,
        "latency_p50_ms": 1000 * statistics.median(latencies),
        "latency_p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


UNIT = "DISDUKCAPIL-PST"  # a unit of the bundled demo region


def flow_script(i: int) -> list[tuple[str, str, tuple[str, str]]]:
    """One citizen's turns after consent: a complaint filed through to its tracking number, then the
    SKM questionnaire of one unit answered through. (kind, what is sent or pressed, the answer's
    marker: ("text", substring) or ("button", callback data it offers))."""
    complaint = complaint_turns(i)
    survey = [
        ("send", f"/survei {UNIT}", ("button", f"skm:svc:{UNIT}-01")),
        ("press", f"skm:svc:{UNIT}-01", ("button", "skm:p:all")),
        ("press", "skm:p:all", ("text", "Pertanyaan 1 dari 9")),
    ]
    for q in range(9):
        marker = ("text", f"Pertanyaan {q + 2} dari 9") if q < 8 else ("button", "skm:nosaran")
        survey.append(("press", f"skm:a:{q}:{1 + (i + q) % 4}", marker))
    survey.append(("press", "skm:nosaran", ("text", "Terima kasih")))
    return complaint + survey


class ChatWatch:
    """Wakes the waiter of one chat when the fake server accepts a message for it (instead of
    waking every waiter on every message)."""

    def __init__(self, tg: FakeTelegramServer) -> None:
        self.tg = tg
        self.events: dict[int, asyncio.Event] = {}
        record = tg._record_sent

        def recorded(method, chat_id, *args, **kwargs):
            record(method, chat_id, *args, **kwargs)
            ev = self.events.get(chat_id)
            if ev is not None:
                ev.set()

        tg._record_sent = recorded

    async def until(self, chat: int, seen: int, marker: tuple[str, str] | None, timeout: float = 120) -> int:
        """Wait for a message after the first ``seen`` ones of ``chat`` that carries ``marker`` (any
        message when None); the chat's message count then."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.tg.sent(chat)
            for m in got[seen:]:
                if marker is None:
                    return len(got)
                kind, want = marker
                if kind == "text" and want in (m.get("visible_text") or ""):
                    return len(got)
                if kind == "button" and want in json.dumps(m.get("reply_markup") or {}):
                    return len(got)
            ev = self.events.setdefault(chat, asyncio.Event())
            ev.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"chat {chat}: no answer {marker} after {seen} messages: {[m.get('visible_text', '')[:60] for m in got[-3:]]}"
                )
            try:
                await asyncio.wait_for(ev.wait(), left)
            except TimeoutError:
                pass


async def measure_flows(tg: FakeTelegramServer, *, chats: list[int], echo: bool) -> dict:
    """Every citizen runs :func:`flow_script` (the echo bot: as many plain messages), one turn after
    the other, all citizens at once; turns/s over the whole run and the latency of every turn
    from the push to its answer at the server."""
    watch = ChatWatch(tg)
    latencies: list[float] = []

    async def citizen(chat: int) -> None:
        seen = len(tg.sent(chat))
        for kind, what, marker in flow_script(chat):
            t0 = time.monotonic()
            if echo:
                tg.push_message(chat, what)
                marker = None
            elif kind == "send":
                tg.push_message(chat, what)
            else:
                tg.push_callback(chat, what)
            seen = await watch.until(chat, seen, marker)
            latencies.append(time.monotonic() - t0)

    t0 = time.monotonic()
    await asyncio.gather(*(citizen(c) for c in chats))
    elapsed = time.monotonic() - t0
    latencies.sort()
    return {
        "updates_per_s": len(latencies) / elapsed,
        "latency_p50_ms": 1000 * statistics.median(latencies),
        "latency_p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "turns": len(latencies),
    }


async def empty_postgres(url: str) -> None:
    """Drop and recreate schema ``public`` (the bot migrates it at start): use a database of its own."""
    from bench.common import empty_schema
    from storage import Database

    db = Database(url)
    try:
        await empty_schema(db)
    finally:
        await db.dispose()


async def run_process(argv: list[str], env: dict[str, str], cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


async def stop_process(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            proc.kill()


async def bench_echo(n: int, chats: int, sequential: int, *, aiohttp: bool = False, workload: str = "menu") -> dict:
    async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
        argv = [sys.executable, "-m", "bench.echo_bot", tg.base_url, TOKEN] + (["--aiohttp"] if aiohttp else [])
        proc = await run_process(argv, dict(os.environ), str(ROOT))
        try:
            tg.push_message(1, "warm-up")
            await wait_sent(tg, 1, 60)
            if workload == "flows":
                return await measure_flows(tg, chats=list(range(1, chats + 1)), echo=True)
            return await measure(tg, chats=list(range(1, chats + 1)), text="halo", n=n, sequential=sequential)
        finally:
            await stop_process(proc)


async def bench_kanal(n: int, chats: int, sequential: int, database_url: str | None, workload: str = "menu") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}
            env.update(
                {
                    "KANAL_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                    "KANAL_TELEGRAM_TOKEN": TOKEN,
                    "KANAL_TELEGRAM_BASE_URL": tg.base_url,
                    "KANAL_HTTP_PORT": str(free_port()),
                    "KANAL_WEBCHAT": "false",
                    # many people report the same street lamp here on purpose: no "laporan serupa" offer
                    "KANAL_SIMILAR_COMPLAINTS": "false",
                    "KANAL_LOG_LEVEL": "WARNING",
                    # the fake server has no limits here, like a local Bot API server: neither do we
                    "KANAL_TELEGRAM_GLOBAL_RATE": "0",
                    "KANAL_TELEGRAM_CHAT_RATE": "0",
                }
            )
            if database_url:  # every round starts from an empty database, as on SQLite
                await empty_postgres(database_url)
            proc = await run_process([sys.executable, "-m", "bot", "run"], env, tmp)
            try:
                ids = list(range(1, chats + 1))
                for chat in ids:  # every citizen has consented before the measured turns
                    tg.push_message(chat, "/start")
                await wait_sent(tg, chats, 120)
                for chat in ids:
                    tg.push_callback(chat, "consent:yes")
                await wait_sent(tg, 3 * chats, 120)
                if workload == "flows":
                    return await measure_flows(tg, chats=ids, echo=False)
                return await measure(tg, chats=ids, text="/menu", n=n, sequential=sequential)
            finally:
                await stop_process(proc)


async def main_async(args: argparse.Namespace) -> dict:
    results: dict = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "workload": args.workload,
        "updates": args.updates,
        "chats": args.chats,
        "sequential": args.sequential,
        "rounds": args.rounds,
        "runs": [],
    }
    for r in range(args.rounds):  # alternate so drift on a shared machine hits both alike
        echo = await bench_echo(args.updates, args.chats, args.sequential, workload=args.workload)
        echo_aiohttp = await bench_echo(args.updates, args.chats, args.sequential, aiohttp=True, workload=args.workload)
        ours = await bench_kanal(
            args.updates,
            args.chats,
            args.sequential,
            args.database_url,
            workload=args.workload,
        )
        results["runs"].append({"echo": echo, "echo_aiohttp": echo_aiohttp, "kanal": ours})
        print(
            f"round {r + 1}: echo {echo['updates_per_s']:.0f}, echo over aiohttp {echo_aiohttp['updates_per_s']:.0f}, "
            f"kanal {ours['updates_per_s']:.0f} updates/s",
            file=sys.stderr,
        )

    def med(who: str, key: str) -> float:
        return statistics.median(run[who][key] for run in results["runs"])

    results["median"] = {
        who: {k: med(who, k) for k in ("updates_per_s", "latency_p50_ms", "latency_p99_ms")}
        for who in ("echo", "echo_aiohttp", "kanal")
    }
    base = results["median"]["echo"]["updates_per_s"]
    results["ratio_updates_per_s"] = results["median"]["kanal"]["updates_per_s"] / base
    results["ratio_transport_updates_per_s"] = results["median"]["echo_aiohttp"]["updates_per_s"] / base
    return results


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.turn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--updates", type=int, default=1000, help="updates in the throughput run (default 1000)")
    p.add_argument(
        "--chats",
        type=int,
        default=None,
        help="distinct citizens (default: one per update, so Telegram's 1 msg/s per chat does not pace the run)",
    )
    p.add_argument("--sequential", type=int, default=200, help="turns in the latency run (default 200)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported (default 3)")
    p.add_argument(
        "--workload",
        choices=["flows", "menu"],
        default="flows",
        help="flows (default): every citizen files a complaint and answers an SKM questionnaire, one turn after the other "
        f"({len(flow_script(0))} turns each, all citizens at once; the echo bots get as many plain messages); "
        "menu: --updates single /menu turns pushed at once, plus --sequential lone turns for the latency",
    )
    p.add_argument("--citizens", type=int, default=300, help="citizens in the flows workload (default 300)")
    p.add_argument(
        "--database-url",
        help="run our bot on this database (e.g. PostgreSQL; its schema public is dropped every round) instead of a fresh SQLite file",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args()
    args.chats = args.chats or args.updates
    if args.workload == "flows":
        args.chats = args.citizens
    results = asyncio.run(main_async(args))
    m = results["median"]
    what = (
        f"{args.citizens} citizens × {len(flow_script(0))} turns (complaint + SKM)"
        if args.workload == "flows"
        else f"{args.updates} updates from {args.chats} chats"
    )
    print(f"{results['machine']}, {results['date']}; {what}, {args.rounds} rounds (medians)")
    print(f"{'':24}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for who, label in (
        ("echo", "stock PTB echo (httpx)"),
        ("echo_aiohttp", "PTB echo over aiohttp"),
        ("kanal", "kanal full turn"),
    ):
        print(
            f"{label:24}{m[who]['updates_per_s']:12.0f}{m[who]['latency_p50_ms']:10.1f}{m[who]['latency_p99_ms']:10.1f}"
        )
    print(f"ratio kanal full turn / stock echo, updates/s: {results['ratio_updates_per_s']:.2f}")
    print(f"ratio echo over aiohttp / stock echo (transport alone): {results['ratio_transport_updates_per_s']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
