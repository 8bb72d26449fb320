"""`kanal lapor import FILE | status | topics | retry`: the SP4N-LAPOR! bridge by hand.

* ``import FILE`` (CSV UTF-8 or XLSX): a Pemda's exported LAPOR! history, checked as a whole
  (every problem with its line, nothing half-loaded), stored as the router's training examples and
  counted (per OPD, year and status).
* ``status``: on/off, the queue (pending, done, failed, skipped), the LAPOR! reports linked, the
  last pull, a pause after an outage, the calls LAPOR! refused with their error.
* ``topics``: LAPOR!'s topic list (``gettopics``), for the region file's ``lapor_topic`` ids.
* ``retry``: refused calls are tried again (after the mapping or the token was fixed).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from bot.domain import lapor_wire as wire
from bot.engine.region_context import region_context
from bot.logs import add_secrets, secret_values
from bot.services.lapor_client import LaporClient
from bot.services.lapor_history import read_lapor_history
from bot.services.lapor_sync import (
    FAILURES,
    LAST_PULL,
    LAST_PULL_ERROR,
    PAUSED_UNTIL,
    bridge_status,
    lapor_map,
)
from storage import Database

COMMANDS = ("lapor",)
IMPORTED = "imported_rows"


def add_parsers(sub) -> None:
    lapor = sub.add_parser(
        "lapor",
        help="SP4N-LAPOR! bridge: import history, status, topics",
        description="The SP4N-LAPOR! bridge (KANAL_LAPOR_URL, KANAL_LAPOR_TOKEN; the lapor_sync job sends and "
        "pulls). / Jembatan ke SP4N-LAPOR!.",
    )
    lsub = lapor.add_subparsers(dest="lapor_command", metavar="ACTION", required=True)
    imp = lsub.add_parser(
        "import",
        help="load an exported LAPOR! history (CSV or XLSX) as routing examples",
        description="Check FILE as a whole (then nothing is loaded on any problem, each listed with its line), "
        "store its reports as routing examples of their OPD and print the counts. Columns (header names, any "
        "case): TrackingID, judul/isi laporan, instansi/kategori (an OPD's code, name or lapor_instansi), "
        "tanggal, status. The routing_retrain job (or `kanal routing train`) trains on them.",
    )
    imp.add_argument("file", metavar="FILE", help="CSV UTF-8 (comma or semicolon) or XLSX")
    lsub.add_parser("status", help="queue, links, last pull, refused calls")
    lsub.add_parser("topics", help="fetch LAPOR!'s topic list (gettopics)")
    lsub.add_parser("retry", help="send the refused calls again")


async def run(args: argparse.Namespace, db: Database, settings, now: datetime) -> int:
    add_secrets(secret_values(settings))
    if args.lapor_command == "import":
        return await _import(db, args.file, now)
    if args.lapor_command == "topics":
        return await _topics(settings)
    if args.lapor_command == "retry":
        async with db.unit_of_work() as uow:
            n = await uow.lapor.requeue_failed()
            await uow.commit()
        print(f"{n} refused call(s) queued again; the lapor_sync job sends them")
        return 0
    return await _status(db, settings, now)


async def _import(db: Database, path: str, now: datetime) -> int:
    async with db.unit_of_work() as uow:
        ctx = await region_context(uow.region)
        mapping = lapor_map(await uow.region.region())
        history = read_lapor_history(path, ctx.opd_names, mapping)
        added = await uow.routing.add_imported(history.rows, now, once=True)
        before = int(await uow.lapor.state(IMPORTED) or 0)
        await uow.lapor.set_state(IMPORTED, str(before + added), now)
        await uow.commit()
    print(f"» {added} SP4N-LAPOR! reports loaded from {path} as routing examples")
    if added < len(history.rows):
        print(f"  ({len(history.rows) - added} were loaded before and were not added again)")
    print("per OPD:")
    for code, n in history.per_opd.most_common():
        print(f"  {code:14} {n:6}  {ctx.opd_names.get(code, '')}")
    print("per year:  " + ", ".join(f"{y}: {n}" for y, n in sorted(history.per_year.items())))
    print("per status: " + ", ".join(f"{s}: {n}" for s, n in sorted(history.per_status.items())))
    print("the routing_retrain job trains on them within the hour (or run `kanal jobs run routing_retrain`)")
    return 0


async def _topics(settings) -> int:
    if not settings.lapor_enabled:
        print("kanal: the SP4N-LAPOR! bridge is off: set KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN", file=sys.stderr)
        return 1
    async with LaporClient(settings.lapor_url, settings.lapor_token) as client:
        try:
            topics = await client.topics()
        except wire.WireError as exc:
            print(f"kanal: SP4N-LAPOR! gettopics failed: {exc}", file=sys.stderr)
            return 1
    print(f"{'ID':>8} {'PARENT':>8}  TOPIC")
    for topic in topics:
        print(f"{topic.id:>8} {topic.parent:>8}  {topic.name}")
    print(f'{len(topics)} topics; put an OPD\'s in the region file as lapor_topic = "ID"')
    return 0


async def _status(db: Database, settings, now: datetime) -> int:
    st = await bridge_status(db)
    on = "on" if settings.lapor_enabled else "OFF (set KANAL_LAPOR_URL and KANAL_LAPOR_TOKEN)"
    print(f"SP4N-LAPOR! bridge: {on}" + (f" → {settings.lapor_url}" if settings.lapor_url else ""))
    counts = st.counts
    print("queue: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("pending", "done", "failed", "skipped")))
    print(f"linked reports: from Kanal {st.links.get('kanal', 0)}, disposed from LAPOR! {st.links.get('lapor', 0)}")
    value = {name: v for name, (v, _at) in st.states.items()}
    print(f"last pull: {value.get(LAST_PULL) or 'never'}")
    if value.get(LAST_PULL_ERROR):
        print(f"last pull failed: {value[LAST_PULL_ERROR]}")
    paused = value.get(PAUSED_UNTIL)
    if paused and datetime.fromisoformat(paused) > now:
        print(f"paused until {paused} after {value.get(FAILURES, '?')} failure(s) in a row (outage or rate limit)")
    if value.get(IMPORTED):
        print(f"history imported: {value[IMPORTED]} reports")
    if st.failures:
        print("calls that failed (refused: fix and run `kanal lapor retry`; pending: retried automatically):")
        for f in st.failures:
            print(f"  {f.number or '?':16} {f.kind:8} {f.attempts} attempt(s): {f.error}")
    return 0
