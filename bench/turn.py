"""Benchmark: one full turn through our stack vs echo bots, on the same fake Bot API server.

Every bot runs as a separate process, long-polling a fake server of its own in this process
(rate limits off), and every round runs all of them: python-telegram-bot's echo bot with its
defaults, with ``concurrent_updates(256)``, and over our aiohttp request (``bench/echo_bot.py``),
then our bot. "Stock" is the faster of the first two. Workloads (``--workload``):

* flows: citizens file a complaint and answer an SKM questionnaire, one turn after the other,
  all at once; turns/s and the latency of every turn;
* bulk: many people's messages pushed at once (as after a broadcast); turns/s, p50/p99 from the
  push to each answer, and the first answer of a lone person who writes just after the rush;
* menu: single ``/menu`` turns pushed at once; lone turns before them for the latency.

Also reported: each bot's CPU per turn (its process, from ``/proc``).

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


#: what people type after a broadcast or at the morning rush, outside any flow; each gets one answer
BULK_TEXTS = ("/menu", "halo", "/status", "terima kasih", "/bantuan")


class ReplyCount:
    """Counts the messages the fake server accepts for a set of chats; :meth:`reached` waits until
    ``target`` of them arrived."""

    def __init__(self, tg: FakeTelegramServer, chats: set[int]) -> None:
        self.chats, self.total, self.target = chats, 0, None
        self.times: list[float] = []  # when each answer arrived
        self.done = asyncio.Event()
        record = tg._record_sent

        def recorded(method, chat_id, *args, **kwargs):
            record(method, chat_id, *args, **kwargs)
            if chat_id in self.chats:
                self.total += 1
                self.times.append(time.monotonic())
                if self.target is not None and self.total >= self.target:
                    self.done.set()

        tg._record_sent = recorded

    async def reached(self, target: int, timeout: float) -> None:
        self.target = target
        if self.total >= target:
            self.done.set()
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"only {self.total}/{target} replies arrived") from None


async def measure_bulk(tg: FakeTelegramServer, *, chats: list[int], n: int, lone: int, lone_text: str) -> dict:
    """``n`` messages from ``chats`` (round robin, texts of :data:`BULK_TEXTS`) pushed at once;
    turns/s from the first push to the last answer, and p50/p99 of the time from the push to each
    answer. Meanwhile one more person (chat ``lone``) takes turns one after the other: the first
    answer that person gets (the rush comes before it, in order)."""
    count = ReplyCount(tg, set(chats))
    watch = ChatWatch(tg)
    lone_latencies: list[float] = []
    stop = asyncio.Event()

    async def lone_person() -> None:
        seen = len(tg.sent(lone))
        while not stop.is_set():
            t0 = time.monotonic()
            tg.push_message(lone, lone_text)
            seen = await watch.until(lone, seen, None)
            lone_latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.05)

    t0 = time.monotonic()
    for i in range(n):
        tg.push_message(chats[i % len(chats)], BULK_TEXTS[(i // len(chats)) % len(BULK_TEXTS)])
    person = asyncio.create_task(lone_person())
    try:
        await count.reached(n, 300)
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        await person
    await asyncio.sleep(0.5)  # an answer too many would show now
    if count.total != n:
        raise AssertionError(f"{count.total} answers to {n} messages: every message gets exactly one")
    answered = sorted(at - t0 for at in count.times)  # every message was pushed at t0
    return {
        "updates_per_s": n / elapsed,
        "latency_p50_ms": 1000 * statistics.median(answered),
        "latency_p99_ms": 1000 * answered[min(len(answered) - 1, int(len(answered) * 0.99))],
        "lone_first_ms": 1000 * lone_latencies[0],
        "lone_turns": len(lone_latencies),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


BOTS = {
    "ptb_default": "PTB echo, defaults",
    "ptb_concurrent": "PTB echo, concurrent_updates",
    "ptb_aiohttp": "PTB echo over aiohttp",
    "kanal": "kanal full turn",
}
LONE = 999_999  # the chat of the lone citizen in the bulk workload


async def run_workload(
    tg: FakeTelegramServer, args: argparse.Namespace, *, chats: list[int], echo: bool, pid: int
) -> dict:
    """The workload of ``args`` against a bot (process ``pid``) that is up; with its CPU per turn."""
    cpu = cpu_seconds(pid)
    if args.workload == "flows":
        result = await measure_flows(tg, chats=chats, echo=echo)
        turns = result["turns"]
    elif args.workload == "bulk":
        result = await measure_bulk(tg, chats=chats, n=args.updates, lone=LONE, lone_text="halo" if echo else "/menu")
        turns = args.updates + result["lone_turns"]
    else:
        result = await measure(
            tg, chats=chats, text="halo" if echo else "/menu", n=args.updates, sequential=args.sequential
        )
        turns = args.updates + args.sequential
    result["cpu_ms_per_turn"] = 1000 * (cpu_seconds(pid) - cpu) / turns
    return result


async def bench_echo(args: argparse.Namespace, mode: str) -> dict:
    async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
        argv = [sys.executable, "-m", "bench.echo_bot", tg.base_url, TOKEN, mode]
        proc = await run_process(argv, dict(os.environ), str(ROOT))
        try:
            tg.push_message(1, "warm-up")
            await wait_sent(tg, 1, 60)
            return await run_workload(tg, args, chats=list(range(1, args.chats + 1)), echo=True, pid=proc.pid)
        finally:
            await stop_process(proc)


async def bench_kanal(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}
            env.update(
                {
                    "KANAL_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
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
            if args.database_url:  # every round starts from an empty database, as on SQLite
                await empty_postgres(args.database_url)
            proc = await run_process([sys.executable, "-m", "bot", "run"], env, tmp)
            try:
                ids = list(range(1, args.chats + 1))
                everyone = ids + ([LONE] if args.workload == "bulk" else [])
                for chat in everyone:  # every citizen has consented before the measured turns
                    tg.push_message(chat, "/start")
                await wait_sent(tg, len(everyone), 120)
                for chat in everyone:
                    tg.push_callback(chat, "consent:yes")
                await wait_sent(tg, 3 * len(everyone), 120)
                return await run_workload(tg, args, chats=ids, echo=False, pid=proc.pid)
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
        "database": "postgresql" if args.database_url else "sqlite",
        "runs": [],
    }
    for r in range(args.rounds):  # every bot in every round, so drift on a shared machine hits all alike
        run = {
            "ptb_default": await bench_echo(args, "default"),
            "ptb_concurrent": await bench_echo(args, "concurrent"),
            "ptb_aiohttp": await bench_echo(args, "aiohttp"),
            "kanal": await bench_kanal(args),
        }
        results["runs"].append(run)
        print(
            f"round {r + 1}: " + ", ".join(f"{BOTS[b]} {run[b]['updates_per_s']:.0f}" for b in BOTS) + " turns/s",
            file=sys.stderr,
        )

    def med(who: str, key: str) -> float:
        return statistics.median(run[who][key] for run in results["runs"])

    keys = ("updates_per_s", "latency_p50_ms", "latency_p99_ms", "cpu_ms_per_turn")
    m = results["median"] = {who: {k: med(who, k) for k in keys} for who in BOTS}
    stock = max(("ptb_default", "ptb_concurrent"), key=lambda b: m[b]["updates_per_s"])
    results["stock"] = stock
    results["ratio_to_stock"] = m["kanal"]["updates_per_s"] / m[stock]["updates_per_s"]
    results["ratio_to_aiohttp_echo"] = m["kanal"]["updates_per_s"] / m["ptb_aiohttp"]["updates_per_s"]
    # each round's own ratios too: their spread says how far the medians can be trusted
    results["round_ratios_to_stock"] = [
        run["kanal"]["updates_per_s"] / max(run["ptb_default"]["updates_per_s"], run["ptb_concurrent"]["updates_per_s"])
        for run in results["runs"]
    ]
    return results


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.turn", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--workload",
        choices=["flows", "bulk", "menu"],
        default="flows",
        help="flows (default): every citizen files a complaint and answers an SKM questionnaire, one turn after the other "
        f"({len(flow_script(0))} turns each, all citizens at once; the echo bots get as many plain messages); "
        "bulk: --updates messages from --chats people pushed at once (typed words and commands outside any flow, "
        "as after a broadcast) while one more person takes lone turns; "
        "menu: --updates single /menu turns pushed at once, plus --sequential lone turns for the latency",
    )
    p.add_argument("--updates", type=int, default=None, help="messages pushed at once: bulk 2000, menu 1000 (default)")
    p.add_argument(
        "--chats",
        type=int,
        default=None,
        help="distinct people: bulk 400 (each sends several messages in a row), menu one per update",
    )
    p.add_argument("--sequential", type=int, default=200, help="menu: turns in the latency run (default 200)")
    p.add_argument("--citizens", type=int, default=300, help="citizens in the flows workload (default 300)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, every bot in each; medians are reported (default 3)")
    p.add_argument(
        "--database-url",
        help="run our bot on this database (e.g. PostgreSQL; its schema public is dropped every round) instead of a fresh SQLite file",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args()
    if args.workload == "flows":
        args.chats = args.citizens
    elif args.workload == "bulk":
        args.updates = args.updates or 2000
        args.chats = args.chats or 400
    else:
        args.updates = args.updates or 1000
        args.chats = args.chats or args.updates
    results = asyncio.run(main_async(args))
    m = results["median"]
    what = {
        "flows": f"{args.citizens} citizens × {len(flow_script(0))} turns (complaint + SKM)",
        "bulk": f"{args.updates} messages from {args.chats} people at once; latency: push to each answer",
        "menu": f"{args.updates} /menu from {args.chats} chats at once; latency: {args.sequential} lone turns before",
    }[args.workload]
    print(f"{results['machine']}, {results['date']}, {results['database']}; {what}; {args.rounds} rounds (medians)")
    print(f"{'':32}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/turn':>13}")
    for who, label in BOTS.items():
        label += " (stock)" if who == results["stock"] else ""
        r = m[who]
        print(
            f"{label:32}{r['updates_per_s']:9.0f}{r['latency_p50_ms']:9.1f}{r['latency_p99_ms']:9.1f}{r['cpu_ms_per_turn']:13.2f}"
        )
    if args.workload == "bulk":
        lone = {who: statistics.median(run[who]["lone_first_ms"] for run in results["runs"]) for who in BOTS}
        print(
            "a lone person writing just after the rush, first answer (ms): "
            + ", ".join(f"{BOTS[w]} {lone[w]:.0f}" for w in BOTS)
        )
    print(
        f"kanal / stock ({BOTS[results['stock']]}): {results['ratio_to_stock']:.2f}× "
        f"(rounds: {', '.join(f'{x:.2f}' for x in results['round_ratios_to_stock'])}); "
        f"kanal / echo over aiohttp: {results['ratio_to_aiohttp_echo']:.2f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
