"""The SP4N-LAPOR! bridge's use cases, behind the :class:`Upstream` boundary (the LAPOR!
implementation is :class:`bot.services.lapor_client.LaporClient`; tests use a fake server).

* :func:`drain` sends the durable queue (``lapor_queue``, written with each complaint change) in
  order per complaint. One call at a time, outside any transaction; its outcome is committed at
  once: a create's ``TrackingID`` is stored in the same transaction that marks the row done, so a
  restart sends nothing twice (and the Kanal number as LAPOR!'s external reference makes a crash
  between the call and the commit harmless: LAPOR! answers the report it already has). A network
  error, a 5xx or a 429 pauses the whole bridge (exponential backoff, or ``Retry-After``): nothing is
  lost, the row goes again; a refused token (401) pauses it too. Any other 4xx is final: the row is
  ``failed`` with the error kept (``kanal lapor status``) and the complaint's later rows wait behind it.
* :func:`pull` reads LAPOR!'s updates since the stored cursor: status changes of linked reports
  become history events; a report disposed to this Pemda in LAPOR! becomes a Kanal complaint
  (channel ``lapor``, no reporter account) in its OPD's queue (the region file's mapping; unknown:
  triage), its handlers told through ``announce``. Applying an update twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import lapor_wire as wire
from bot.domain.complaint_rules import ComplaintState, Privacy
from bot.domain.region import LaporMap
from bot.engine.region_context import RegionContext
from storage import Database, UnitOfWork
from storage.lapor_repo import DONE, FAILED, PENDING, SKIPPED
from storage.models import Complaint, LaporQueueRow

log = logging.getLogger(__name__)

PAUSED_UNTIL, FAILURES, CURSOR = "paused_until", "failures", "cursor"
LAST_PULL, LAST_PULL_ERROR, LAST_SEND = "last_pull", "last_pull_error", "last_send"
BASE_BACKOFF = 60.0  # seconds after the first failure; doubled for each next one
MAX_BACKOFF = wire.MAX_BACKOFF
MAX_CALLS = 1000  # per drain
MAX_PAGES = 20  # per pull


class Upstream(Protocol):
    async def push_new(self, report: wire.NewReport) -> wire.Created: ...

    async def push_update(self, call: wire.Outgoing) -> None: ...

    async def pull_updates(self, *, cursor: str | None, instansi_id: str | None) -> wire.UpdatesPage: ...

    async def topics(self) -> list[wire.Topic]: ...


@dataclass
class SyncReport:
    counts: dict[str, int] = field(default_factory=dict)
    paused_until: datetime | None = None
    error: str | None = None

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def lapor_map(region: Any) -> LaporMap:
    """The region's SP4N-LAPOR! ids as stored with the region (``Region.config()["lapor"]``)."""
    return LaporMap.from_dict(((region.config or {}) if region is not None else {}).get("lapor"))


def _iso(at: datetime) -> str:
    return at.isoformat()


def _at(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


async def paused_until(db: Database, now: datetime) -> datetime | None:
    """The instant the bridge waits for after an outage or a 429 (None: not paused)."""
    async with db.unit_of_work() as uow:
        until = _at(await uow.lapor.state(PAUSED_UNTIL))
    return until if until is not None and until > now else None


async def _pause(db: Database, now: datetime, error: wire.WireError, row_id: int | None) -> datetime:
    async with db.unit_of_work() as uow:
        failures = int(await uow.lapor.state(FAILURES) or 0) + 1
        wait = error.retry_after or min(BASE_BACKOFF * 2 ** (failures - 1), MAX_BACKOFF)
        until = now + timedelta(seconds=wait)
        await uow.lapor.set_state(FAILURES, str(failures), now)
        await uow.lapor.set_state(PAUSED_UNTIL, _iso(until), now)
        if row_id is not None:
            await uow.lapor.retry_later(row_id, until, str(error))
        await uow.commit()
    log.warning("SP4N-LAPOR! unreachable (%s); next try at %s", error, until.isoformat())
    return until


async def _recovered(db: Database, now: datetime) -> None:
    async with db.unit_of_work() as uow:
        if await uow.lapor.state(FAILURES) not in (None, "0"):
            await uow.lapor.set_state(FAILURES, "0", now)
            await uow.lapor.set_state(PAUSED_UNTIL, None, now)
            await uow.commit()


# ---- pushing ---------------------------------------------------------------------------------------
async def _call_of(uow: UnitOfWork, row: LaporQueueRow, mapping: LaporMap) -> wire.NewReport | wire.Outgoing | str:
    """The call ``row`` makes, or why it is skipped."""
    complaint = await uow.complaints.get_by_id(row.complaint_id)
    if complaint is None:
        return "complaint gone"
    tracking = await uow.lapor.tracking_id(complaint.id)
    if row.kind == "create":
        if tracking is not None:
            return "already in SP4N-LAPOR!"
        return await _new_report(uow, complaint, mapping)
    if tracking is None:
        return "no SP4N-LAPOR! report (filed before the bridge was on)"
    payload = row.payload or {}
    return wire.Outgoing(
        kind=row.kind,
        tracking_id=tracking,
        ref=f"{complaint.number}/{row.id}",
        at=_at(payload.get("at")) or row.created_at,
        text=payload.get("text"),
        state=payload.get("state") or complaint.state,
    )


async def _new_report(uow: UnitOfWork, c: Complaint, mapping: LaporMap) -> wire.NewReport:
    name = None
    if c.privacy == Privacy.BIASA and c.citizen_user_id is not None:
        user = await uow.users.get_user(c.citizen_user_id)
        name = user.display_name if user is not None and user.erased_at is None else None
    return wire.NewReport(
        number=c.number or str(c.id),
        text=c.text,
        privacy=c.privacy,
        filed_at=c.filed_at,
        topic_id=mapping.topic_for(c.opd_code),
        instansi_id=mapping.instansi_for(c.opd_code),
        location=c.address,
        reporter_name=name,
    )


async def _send(upstream: Upstream, call: wire.NewReport | wire.Outgoing) -> str | None:
    """Make the call; the TrackingID of a create."""
    if isinstance(call, wire.NewReport):
        return (await upstream.push_new(call)).tracking_id
    await upstream.push_update(call)
    return None


#: told when LAPOR! refuses a call for good: (unit of work, complaint number, call kind, error)
Refused = Callable[[UnitOfWork, str, str, str], Awaitable[int]]


async def _send_row(
    db: Database, upstream: Upstream, mapping: LaporMap, row_id: int, now: datetime, on_refused: Refused | None
) -> str:
    """One row: ``sent``, ``failed``, ``skipped``, ``gone`` (not pending any more); raises the
    retryable :class:`WireError`."""
    async with db.unit_of_work() as uow:
        row = await uow.lapor.get(row_id)
        if row is None or row.status != PENDING:
            return "gone"
        call = await _call_of(uow, row, mapping)
        if isinstance(call, str):
            await uow.lapor.finish(row_id, now, status=SKIPPED, error=call)
            await uow.commit()
            return "skipped"
        complaint_id, kind = row.complaint_id, row.kind
        number = call.number if isinstance(call, wire.NewReport) else call.ref.split("/")[0]
    try:
        tracking = await _send(upstream, call)
    except wire.WireError as exc:
        if exc.retry:
            raise
        async with db.unit_of_work() as uow:  # the coordinators are told with the row's outcome, once
            if await uow.lapor.finish(row_id, now, status=FAILED, error=str(exc)) and on_refused is not None:
                await on_refused(uow, number, kind, str(exc))
            await uow.commit()
        log.warning("SP4N-LAPOR! refused a %s call for complaint %s: %s", kind, complaint_id, exc)
        return "failed"
    async with db.unit_of_work() as uow:
        if tracking is not None and await uow.lapor.tracking_id(complaint_id) is None:
            await uow.lapor.add_link(complaint_id=complaint_id, tracking_id=tracking, origin="kanal", now=now)
        await uow.lapor.finish(row_id, now, status=DONE)
        await uow.commit()
    return "sent"


async def drain(
    db: Database,
    upstream: Upstream,
    mapping: LaporMap,
    now: datetime,
    *,
    max_calls: int = MAX_CALLS,
    on_refused: Refused | None = None,
) -> SyncReport:
    """Send the due rows, in order per complaint, until none is left, LAPOR! fails or ``max_calls``."""
    report = SyncReport()
    if (until := await paused_until(db, now)) is not None:
        report.paused_until = until
        return report
    calls = 0
    while calls < max_calls:
        async with db.unit_of_work() as uow:
            ids = [r.id for r in await uow.lapor.due(now, limit=min(200, max_calls - calls))]
        if not ids:
            break
        for row_id in ids:
            calls += 1
            try:
                report.add(await _send_row(db, upstream, mapping, row_id, now, on_refused))
            except wire.WireError as exc:
                report.paused_until = await _pause(db, now, exc, row_id)
                report.error = str(exc)
                report.add("retry")
                return report
    if report.counts.get("sent"):
        await _recovered(db, now)
    return report


# ---- pulling ---------------------------------------------------------------------------------------
Announce = Callable[[UnitOfWork, Complaint, str], Awaitable[int]]


async def pull(
    db: Database, upstream: Upstream, ctx: RegionContext, mapping: LaporMap, now: datetime, announce: Announce
) -> SyncReport:
    """Apply LAPOR!'s updates since the stored cursor, one page per transaction with its cursor."""
    report = SyncReport()
    if (until := await paused_until(db, now)) is not None:
        report.paused_until = until
        return report
    for _ in range(MAX_PAGES):
        async with db.unit_of_work() as uow:
            cursor = await uow.lapor.state(CURSOR)
        try:
            page = await upstream.pull_updates(cursor=cursor, instansi_id=mapping.instansi_id)
        except wire.WireError as exc:
            report.error = str(exc)
            async with db.unit_of_work() as uow:
                await uow.lapor.set_state(LAST_PULL_ERROR, str(exc), now)
                await uow.commit()
            if exc.retry:
                report.paused_until = await _pause(db, now, exc, None)
            return report
        async with db.unit_of_work() as uow:
            for update in page.updates:
                report.add(await apply_update(uow, ctx, mapping, update, now, announce))
            await uow.lapor.set_state(CURSOR, page.cursor or cursor, now)
            await uow.lapor.set_state(LAST_PULL, _iso(now), now)
            await uow.lapor.set_state(LAST_PULL_ERROR, None, now)
            await uow.commit()
        if not page.updates or not page.cursor or page.cursor == cursor:
            break
    await _recovered(db, now)
    return report


async def apply_update(
    uow: UnitOfWork, ctx: RegionContext, mapping: LaporMap, update: wire.Update, now: datetime, announce: Announce
) -> str:
    """One update; what it did (``status``, ``created``, ``linked``, ``unchanged``, ``ignored``)."""
    link = await uow.lapor.by_tracking_id(update.tracking_id)
    if link is None and update.external_ref:
        mine = await uow.complaints.get(update.external_ref)
        if mine is not None and await uow.lapor.tracking_id(mine.id) is None:
            link = await uow.lapor.add_link(
                complaint_id=mine.id, tracking_id=update.tracking_id, origin="kanal", now=now
            )
    if link is None:
        if update.kind != "disposition":
            return "ignored"
        c = await _create_from_lapor(uow, ctx, mapping, update, now)
        await uow.lapor.add_link(
            complaint_id=c.id, tracking_id=update.tracking_id, origin="lapor", now=now, status=update.status
        )
        await announce(uow, c, update.tracking_id)
        return "created"
    link.pulled_at = now
    if not update.status or update.status == link.lapor_status:
        return "unchanged"
    link.lapor_status = update.status
    c = await uow.complaints.get_by_id(link.complaint_id)
    if c is None:
        return "ignored"
    uow.complaints.add_event(  # the status code; shown in the reader's words (LAPOR_STATUS_WORDS)
        complaint=c,
        at=now,
        actor_user_id=None,
        actor_role=wire.LAPOR_ROLE,
        action="lapor_status",
        text=update.status[:64],
    )
    return "status"


async def _create_from_lapor(
    uow: UnitOfWork, ctx: RegionContext, mapping: LaporMap, update: wire.Update, now: datetime
) -> Complaint:
    opd = mapping.opd_for(update.instansi_id, update.topic_id)
    if opd is not None and opd not in ctx.opd_names:
        opd = None
    text = (update.content or update.title or "(tanpa isi)")[:4000]
    c = await uow.complaints.create(
        number_year=now.astimezone(ctx.tz).year,
        citizen_user_id=None,
        channel=wire.LAPOR_ROLE,
        text=text,
        address=(update.location or None) and update.location[:500],
        privacy=wire.privacy_of(update),
        state=ComplaintState.DISPOSISI if opd else ComplaintState.TRIASE,
        opd_code=opd,
        suggested_opd=opd,
        route_reason=None if opd else "lapor",
        klass="keluhan",
        filed_at=now,
        updated_at=now,
        routed_at=now if opd else None,
        triage_due_at=ctx.due(now, ctx.sla.triage_days),
        response_due_at=ctx.due(now, ctx.sla.first_response_days),
        completion_due_at=ctx.due(now, ctx.completion_days("keluhan")),
        reopen_count=0,
    )
    uow.complaints.add_event(
        complaint=c, at=now, actor_user_id=None, actor_role=wire.LAPOR_ROLE, action="filed", text=c.text
    )
    return c


# ---- what coordinators see -------------------------------------------------------------------------
@dataclass
class BridgeStatus:
    counts: dict[str, int]
    links: dict[str, int]
    failures: list[Any]
    states: dict[str, tuple[str | None, datetime]]


async def bridge_status(db: Database) -> BridgeStatus:
    async with db.unit_of_work() as uow:
        return BridgeStatus(
            await uow.lapor.counts(),
            await uow.lapor.links_count(),
            await uow.lapor.failures(),
            await uow.lapor.states(),
        )
