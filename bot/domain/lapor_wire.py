"""The wire format of SP4N-LAPOR!: the one module a Pemda's developer aligns with the API
documentation their LAPOR! admin account (developer role) shows. Pure: request bodies from plain
data, responses parsed into dataclasses; no I/O.

ASSUMPTIONS (public facts first, then what the integration documentation must confirm):

1. Transport (public, "API Akses Data"): every call is ``POST`` with a JSON body over HTTPS to
   ``KANAL_LAPOR_URL`` + the endpoint path; the access token issued by the LAPOR! team travels as
   the body parameter ``KEYTOKEN``. Reports are referenced by ``TrackingID``; a report's public page
   is ``https://www.lapor.go.id/pengaduan/<TrackingID>`` (:func:`public_url`).
2. Topics (public): ``/api/services/f01/gettopics`` answers a list of
   ``{"id", "parent", "topic_name"}``; ``parent`` 0 is a top-level topic (:func:`parse_topics`
   also takes ``{"data": [...]}``).
3. "API Integrasi Laporan" (documentation not public; names below are ASSUMED): the endpoints of
   :data:`ENDPOINTS` — create a report, add a follow-up/answer, change a status, list the updates
   since a cursor (status changes and dispositions to this Pemda's ``instansi_id``).
4. Idempotency (assumed): a create carries ``external_ref`` = the Kanal number (ADU-…); LAPOR!
   answers the existing ``TrackingID`` for a reference it knows, so a re-send after a crash between
   the call and our commit creates no second report. Follow-ups and status changes carry their
   own reference (``<number>/<queue row id>``) for the same reason.
5. Privacy (LAPOR!'s *anonim* hides the identity from the agency, *rahasia* keeps the content
   off the public site): Kanal ``anonim`` → ``anonymous: 1`` and no identity; ``rahasia`` →
   ``confidential: 1`` and ``anonymous: 1`` (Kanal's rahasia hides the reporter from the OPD);
   ``biasa`` → public, with the reporter's name only when they gave one. A phone number, a chat id
   or any platform identity is never part of a body (:func:`create_body` has no parameter for one).
6. Answers (assumed): success is HTTP 200 with ``{"status": "ok", ...}``; an error is
   ``{"status": "error", "code": "...", "message": "..."}`` with a 4xx/5xx status. 401 = a refused
   ``KEYTOKEN`` (the whole bridge waits 15 minutes: a configuration problem, no call is at fault);
   429 = rate limited, ``Retry-After`` in seconds; 5xx = LAPOR! is down. Any other 4xx is final (the
   request itself is wrong); everything else is retried.
7. Updates (assumed): ``{"status": "ok", "updates": [...], "cursor": "<opaque>"}``; each update
   has ``update_id``, ``type`` (``status`` | ``disposition``), ``TrackingID``, ``status``,
   ``instansi_id``, ``topic_id``, ``title``, ``content``, ``location``, ``anonymous``,
   ``confidential``, ``date`` (ISO 8601) and ``external_ref`` (ours, when the report came from Kanal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.i18n import N_

PUBLIC_REPORT_URL = "https://www.lapor.go.id/pengaduan/{tracking_id}"
TOKEN_FIELD = "KEYTOKEN"

ENDPOINTS = {
    "topics": "/api/services/f01/gettopics",  # public (API Akses Data)
    "create": "/api/integrasi/laporan/create",  # assumed (API Integrasi Laporan)
    "followup": "/api/integrasi/laporan/tindaklanjut",  # assumed
    "status": "/api/integrasi/laporan/status",  # assumed
    "updates": "/api/integrasi/laporan/updates",  # assumed
}

#: Kanal states as LAPOR!'s statuses (assumed codes)
STATUS_TO_LAPOR = {
    "triase": "verifikasi",
    "disposisi": "disposisi",
    "tindak_lanjut": "proses",
    "selesai": "selesai",
    "ditutup": "selesai",
}
#: LAPOR!'s statuses in the words a citizen reads (translated when shown; unknown codes are shown
#: as they come)
LAPOR_STATUS_WORDS = {
    "verifikasi": N_("Belum terverifikasi"),
    "disposisi": N_("Diteruskan ke instansi yang menangani"),
    "proses": N_("Dalam proses"),
    "selesai": N_("Selesai di LAPOR!"),
    "ditutup": N_("Ditutup"),
}
MAX_TITLE = 100
MAX_CONTENT = 4000
DEFAULT_RETRY = 60.0  # seconds, when a 429 says no Retry-After
MAX_RETRY = 3600.0
MAX_BACKOFF = 900.0  # seconds: the longest pause after failures in a row (and after a 401)


def public_url(tracking_id: str) -> str:
    return PUBLIC_REPORT_URL.format(tracking_id=tracking_id)


def _title(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= MAX_TITLE else words[: MAX_TITLE - 1].rstrip() + "…"


def privacy_fields(privacy: str) -> dict[str, int]:
    """LAPOR!'s two flags for a Kanal privacy (assumption 5); an unknown value is the strictest."""
    if privacy == "biasa":
        return {"anonymous": 0, "confidential": 0}
    if privacy == "anonim":
        return {"anonymous": 1, "confidential": 0}
    return {"anonymous": 1, "confidential": 1}


@dataclass(frozen=True)
class Outgoing:
    """An answer, a reporter's follow-up or a status change for a report LAPOR! knows."""

    kind: str  # answer | followup | status
    tracking_id: str
    ref: str  # <number>/<queue row id>: the call's own external reference
    at: datetime
    text: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class NewReport:
    """What Kanal tells LAPOR! about a new complaint: no phone, no chat id, no platform identity."""

    number: str  # the external reference
    text: str
    privacy: str  # biasa | rahasia | anonim
    filed_at: datetime
    topic_id: str | None = None
    instansi_id: str | None = None
    location: str | None = None
    reporter_name: str | None = None  # used only with "biasa"


def create_body(token: str, report: NewReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        TOKEN_FIELD: token,
        "external_ref": report.number,
        "title": _title(report.text),
        "content": report.text[:MAX_CONTENT],
        "date": report.filed_at.isoformat(),
        "channel": "kanal",
        **privacy_fields(report.privacy),
    }
    if report.topic_id:
        body["topic_id"] = report.topic_id
    if report.instansi_id:
        body["instansi_id"] = report.instansi_id
    if report.location:
        body["location"] = report.location[:500]
    name = (report.reporter_name or "").strip()
    if report.privacy == "biasa" and name:
        body["reporter_name"] = name[:100]
    return body


def followup_body(
    token: str, *, tracking_id: str, ref: str, text: str, at: datetime, by: str = "instansi"
) -> dict[str, Any]:
    """An answer of the agency (``by`` "instansi") or a follow-up of the reporter ("pelapor")."""
    return {
        TOKEN_FIELD: token,
        "TrackingID": tracking_id,
        "external_ref": ref,
        "content": text[:MAX_CONTENT],
        "role": by,
        "date": at.isoformat(),
    }


def status_body(token: str, *, tracking_id: str, ref: str, state: str, at: datetime) -> dict[str, Any]:
    return {
        TOKEN_FIELD: token,
        "TrackingID": tracking_id,
        "external_ref": ref,
        "status": STATUS_TO_LAPOR.get(state, state),
        "date": at.isoformat(),
    }


def update_body(token: str, call: Outgoing) -> tuple[str, dict[str, Any]]:
    """The endpoint and body of an :class:`Outgoing` call."""
    if call.kind == "status":
        return "status", status_body(
            token, tracking_id=call.tracking_id, ref=call.ref, state=call.state or "", at=call.at
        )
    by = "pelapor" if call.kind == "followup" else "instansi"
    return "followup", followup_body(
        token, tracking_id=call.tracking_id, ref=call.ref, text=call.text or "", at=call.at, by=by
    )


def updates_body(token: str, *, instansi_id: str | None, cursor: str | None, limit: int = 100) -> dict[str, Any]:
    body: dict[str, Any] = {TOKEN_FIELD: token, "since": cursor or "", "limit": limit}
    if instansi_id:
        body["instansi_id"] = instansi_id
    return body


def topics_body(token: str) -> dict[str, Any]:
    return {TOKEN_FIELD: token}


# ---- answers -------------------------------------------------------------------------------------
class WireError(Exception):
    """An answer that is not what was expected. ``retry``: worth sending again later (network,
    5xx, 429); else final (the request is wrong: kept and shown to the coordinators)."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.retry_after = retry_after


@dataclass(frozen=True)
class Created:
    tracking_id: str
    existing: bool = False  # LAPOR! knew the external reference already


@dataclass(frozen=True)
class Topic:
    id: str
    parent: str
    name: str


@dataclass(frozen=True)
class Update:
    update_id: str
    kind: str  # status | disposition
    tracking_id: str
    status: str | None = None
    instansi_id: str | None = None
    topic_id: str | None = None
    title: str | None = None
    content: str | None = None
    location: str | None = None
    anonymous: bool = False
    confidential: bool = False
    at: datetime | None = None
    external_ref: str | None = None


@dataclass(frozen=True)
class UpdatesPage:
    updates: tuple[Update, ...]
    cursor: str | None


def retry_after_seconds(raw: str | None) -> float:
    try:
        value = float(raw) if raw is not None else DEFAULT_RETRY
    except ValueError:
        value = DEFAULT_RETRY
    return min(max(value, 1.0), MAX_RETRY)


def error_for(status: int, body: Any, retry_after: str | None = None) -> WireError:
    """The error an HTTP answer that is not a success means (assumption 6)."""
    message = ""
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("code") or "")[:200]
    what = f"HTTP {status}" + (f": {message}" if message else "")
    if status == 429:
        return WireError(what, status=status, retry=True, retry_after=retry_after_seconds(retry_after))
    if status == 401:  # the bridge's configuration, not this call: everything waits, nothing is lost
        return WireError(
            f"{what} (KEYTOKEN refused: check KANAL_LAPOR_TOKEN)", status=status, retry=True, retry_after=MAX_BACKOFF
        )
    return WireError(what, status=status, retry=status >= 500 or status == 408)


def _ok(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or str(body.get("status", "ok")).lower() != "ok":
        message = body.get("message") if isinstance(body, dict) else None
        raise WireError(f"LAPOR! answered an error: {str(message or body)[:200]}", retry=False)
    return body


def parse_created(body: Any) -> Created:
    data = _ok(body)
    tracking = data.get("TrackingID") or data.get("tracking_id")
    if not tracking:
        raise WireError("LAPOR! answered no TrackingID", retry=False)
    return Created(str(tracking), bool(data.get("existing")))


def parse_done(body: Any) -> None:
    _ok(body)


def parse_topics(body: Any) -> list[Topic]:
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise WireError("gettopics: expected a list of topics", retry=False)
    return [
        Topic(str(i.get("id")), str(i.get("parent", 0)), str(i.get("topic_name", "")))
        for i in items
        if isinstance(i, dict) and i.get("id") is not None
    ]


def _when(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        at = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_update(item: dict[str, Any]) -> Update | None:
    tracking = _opt_str(item.get("TrackingID"))
    kind = str(item.get("type") or "")
    if tracking is None or kind not in ("status", "disposition"):
        return None  # something we do not understand: skipped, never a crash
    return Update(
        update_id=str(item.get("update_id") or f"{tracking}:{kind}:{item.get('status')}"),
        kind=kind,
        tracking_id=tracking,
        status=_opt_str(item.get("status")),
        instansi_id=_opt_str(item.get("instansi_id")),
        topic_id=_opt_str(item.get("topic_id")),
        title=_opt_str(item.get("title")),
        content=_opt_str(item.get("content")),
        location=_opt_str(item.get("location")),
        anonymous=bool(item.get("anonymous")),
        confidential=bool(item.get("confidential")),
        at=_when(item.get("date")),
        external_ref=_opt_str(item.get("external_ref")),
    )


def parse_updates(body: Any) -> UpdatesPage:
    data = _ok(body)
    items = data.get("updates")
    if not isinstance(items, list):
        raise WireError("updates: expected a list", retry=False)
    parsed = [parse_update(i) for i in items if isinstance(i, dict)]
    return UpdatesPage(tuple(u for u in parsed if u is not None), _opt_str(data.get("cursor")))


def privacy_of(update: Update) -> str:
    """The Kanal privacy of a report disposed from LAPOR!."""
    if update.confidential:
        return "rahasia"
    return "anonim" if update.anonymous else "biasa"


# ---- which complaint changes become calls ----------------------------------------------------------
#: the actor role of what the bridge records itself (pulled from LAPOR!): never sent back
LAPOR_ROLE = "lapor"
#: staff actions whose text is an answer LAPOR! should show
ANSWER_ACTIONS = ("answer", "resolve")


def calls_for_event(
    *, action: str, actor_role: str, channel: str, from_state: str | None, to_state: str, text: str | None
) -> tuple[str, ...]:
    """The queued calls (create | answer | followup | status) a complaint event makes, in order: an
    answer that moves the complaint is the answer, then the status."""
    if actor_role == LAPOR_ROLE:
        return ()  # it came from LAPOR!
    if action == "filed":
        return () if channel == LAPOR_ROLE else ("create",)
    calls: tuple[str, ...] = ()
    if action in ANSWER_ACTIONS and text:
        calls = ("answer",)
    elif action == "followup" and actor_role == "citizen" and text:
        calls = ("followup",)
    moved = from_state is not None and from_state != to_state
    if moved and STATUS_TO_LAPOR.get(from_state) != STATUS_TO_LAPOR.get(to_state):
        calls += ("status",)
    return calls
