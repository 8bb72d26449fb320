"""Benchmark: turns/s with 1, 2 and 3 ``kanal run`` instances on one PostgreSQL (issue 23).

Each round starts N instances (``python -m bot run --no-migrate``, webhook mode, scheduler off,
Telegram limits off as on a local Bot API server) on a freshly migrated database, behind the
round-robin proxy of ``testkit/proxy.py`` (nginx with ``deploy/nginx/kanal-routes.conf`` when
installed). The benchmark plays Telegram: it POSTs every update to the proxy's
``/webhooks/telegram`` and the fake Bot API server (in this process) records the answers.
Workloads: ``bench.turn``'s flows (a complaint filed and an SKM questionnaire answered, 19 turns
per citizen, each sent after the previous answer arrived, all citizens at once) or its bulk
(``--workload bulk``: many people's messages at once, each chat's posted in order). Rounds alternate
1 → 2 → 3 instances so that drift on a shared machine hits all alike; medians are reported with
the ratio to one instance. Run ``python -m bench.instances --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.turn import BULK_TEXTS, ChatWatch, ReplyCount, empty_postgres, flow_script  # noqa: E402
from storage import Database, migrate  # noqa: E402
from testkit.fakes.telegram_api import FakeTelegramServer  # noqa: E402
from testkit.instances import TelegramWebhooks, start_instances, stop_all, webhook_env  # noqa: E402
from testkit.proxy import round_robin_proxy  # noqa: E402

TOKEN = "222222:BENCH-instances"
SECRET = "bench-instances-secret"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"


async def _migrate(url: str) -> None:
    await empty_postgres(url)
    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


async def one_round(count: int, args: argparse.Namespace, url: str) -> dict:
    await _migrate(url)
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramServer(token=TOKEN, rate_limits=False) as tg:
            env = webhook_env(
                url,
                TOKEN,
                tg.base_url,
                SECRET,
                KANAL_WEBCHAT="false",
                KANAL_SCHEDULER="false",
                KANAL_LOG_LEVEL="WARNING",
                KANAL_TELEGRAM_GLOBAL_RATE="0",
                KANAL_TELEGRAM_CHAT_RATE="0",
            )
            instances = await start_instances(count, env, Path(tmp))
            try:
                async with round_robin_proxy([i.port for i in instances]) as proxy:
                    hook = f"{proxy.url}/webhooks/telegram"
                    if args.workload == "bulk":
                        return await _bulk(tg, hook, args.citizens, args.updates) | {"proxy": proxy.kind}
                    return await _flows(tg, hook, args.citizens) | {"proxy": proxy.kind}
            finally:
                await stop_all(instances)


CONSENT = [("send", "/start", ("text", "UU No. 27/2022")), ("press", "consent:yes", ("text", "Menu utama"))]


async def _bulk(tg: FakeTelegramServer, url: str, people: int, updates: int) -> dict:
    """bench.turn's bulk workload over webhooks: ``updates`` messages of ``people`` consented
    citizens at once. As Telegram does, a chat's updates are posted one after the other, up to
    100 connections at a time (``max_connections``' highest value)."""
    watch = ChatWatch(tg)
    telegram = TelegramWebhooks(url, SECRET, retry_every=0.1, connections=100)
    chats = list(range(1, people + 1))
    try:

        async def consent(chat: int) -> None:
            seen = len(tg.sent(chat))
            for kind, what, marker in CONSENT:
                update = tg.push_message(chat, what) if kind == "send" else tg.push_callback(chat, what)
                await telegram.deliver(update, timeout=600)
                seen = await watch.until(chat, seen, marker)

        await asyncio.gather(*(consent(c) for c in chats))  # not measured
        count = ReplyCount(tg, set(chats))
        per_chat: dict[int, list[dict]] = {c: [] for c in chats}
        t0 = time.monotonic()
        for i in range(updates):
            chat = chats[i % people]
            per_chat[chat].append(tg.push_message(chat, BULK_TEXTS[(i // people) % len(BULK_TEXTS)]))

        async def post(chat: int) -> None:
            for update in per_chat[chat]:
                await telegram.deliver(update, timeout=600)

        await asyncio.gather(*(post(c) for c in chats))
        await count.reached(updates, 600)
        elapsed = time.monotonic() - t0
    finally:
        await telegram.close()
    return {"turns_per_s": updates / elapsed, "latency_p50_ms": 0.0, "latency_p99_ms": 0.0, "turns": updates}


async def _flows(tg: FakeTelegramServer, url: str, citizens: int) -> dict:
    watch = ChatWatch(tg)
    latencies: list[float] = []
    telegram = TelegramWebhooks(url, SECRET, retry_every=0.1, connections=256)
    try:

        async def citizen(chat: int, script: list) -> None:
            seen = len(tg.sent(chat))
            for kind, what, marker in script:
                t0 = time.monotonic()
                update = tg.push_message(chat, what) if kind == "send" else tg.push_callback(chat, what)
                await telegram.deliver(update, timeout=600)
                seen = await watch.until(chat, seen, marker)
                latencies.append(time.monotonic() - t0)

        chats = list(range(1, citizens + 1))
        await asyncio.gather(*(citizen(c, CONSENT) for c in chats))  # not measured
        latencies.clear()
        t0 = time.monotonic()
        await asyncio.gather(*(citizen(c, flow_script(c)) for c in chats))
        elapsed = time.monotonic() - t0
    finally:
        await telegram.close()
    latencies.sort()
    return {
        "turns_per_s": len(latencies) / elapsed,
        "latency_p50_ms": 1000 * statistics.median(latencies),
        "latency_p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "turns": len(latencies),
    }


async def main_async(args: argparse.Namespace) -> dict:
    counts = [int(c) for c in args.instances.split(",")]
    results: dict = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "workload": args.workload,
        "citizens": args.citizens,
        "updates": args.updates,
        "rounds": args.rounds,
        "runs": [],
    }
    for r in range(args.rounds):
        run = {}
        for n in counts:
            run[str(n)] = await one_round(n, args, args.database_url)
            print(
                f"round {r + 1}, {n} instance(s): {run[str(n)]['turns_per_s']:.0f} turns/s "
                f"(p50 {run[str(n)]['latency_p50_ms']:.0f} ms, proxy {run[str(n)]['proxy']})",
                file=sys.stderr,
            )
        results["runs"].append(run)
    results["median"] = {
        str(n): {
            k: statistics.median(run[str(n)][k] for run in results["runs"])
            for k in ("turns_per_s", "latency_p50_ms", "latency_p99_ms")
        }
        for n in counts
    }
    base = results["median"][str(counts[0])]["turns_per_s"]
    results["ratio_to_first"] = {str(n): results["median"][str(n)]["turns_per_s"] / base for n in counts}
    return results


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.instances", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--workload",
        choices=["flows", "bulk"],
        default="flows",
        help="flows (default): bench.turn's flows; bulk: bench.turn's bulk (--updates messages of --citizens people at once)",
    )
    p.add_argument(
        "--citizens", type=int, default=None, help="citizens: flows 150 (2,850 turns, default), bulk 400 (default)"
    )
    p.add_argument("--updates", type=int, default=2000, help="bulk: messages pushed at once (default 2000)")
    p.add_argument("--instances", default="1,2,3", help="instance counts to compare (default 1,2,3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KANAL_BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL database of its own: schema public is dropped every round (default %(default)s)",
    )
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()
    args.citizens = args.citizens or (400 if args.workload == "bulk" else 150)
    results = asyncio.run(main_async(args))
    print(json.dumps(results["median"] | {"ratio_to_first": results["ratio_to_first"]}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
