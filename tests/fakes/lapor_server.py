"""A fake SP4N-LAPOR! API server for tests, built from the public API description and the
assumptions written at the top of :mod:`bot.domain.lapor_wire` (the integration API's own
documentation is given to a Pemda's developer-role admin only).

:class:`FakeLaporServer` is a real HTTP server on ``127.0.0.1`` (a free port)::

    async with FakeLaporServer(token=TOKEN) as lapor:
        settings = ...lapor_url=lapor.base_url, lapor_token=TOKEN...
        tracking = lapor.dispose("Lampu jalan mati", instansi_id="1001")   # LAPOR! disposes a report
        lapor.set_status(tracking, "proses")                               # LAPOR!'s admin moves it

What it checks: every call is a POST with a JSON object and the right ``KEYTOKEN`` (401 otherwise);
a create carries ``external_ref``, ``title``, ``content``, ``anonymous``/``confidential`` (0 or 1) and
no field it does not know (a phone number or a chat id is refused with 400); a follow-up or a status
change names a known ``TrackingID`` (404) and a known status (400). Idempotency: a create with an
``external_ref`` it has seen answers the same ``TrackingID`` (``existing: true``) and creates
nothing; follow-ups and status changes with a seen reference are not applied twice.

Faults: :meth:`outage` (``"refuse"``: the port is closed, connection refused; ``"503"``: every call
answers 503) until :meth:`recover`; :meth:`rate_limit` (the next N calls answer 429 with
``Retry-After``); :meth:`fail_next` (one call answers a given status). Counters: :attr:`creates`
(accepted creates per external reference), :attr:`calls` (every request with its endpoint).
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.domain.lapor_wire import ENDPOINTS, LAPOR_STATUS_WORDS, TOKEN_FIELD

CREATE_FIELDS = {
    TOKEN_FIELD,
    "external_ref",
    "title",
    "content",
    "date",
    "channel",
    "anonymous",
    "confidential",
    "topic_id",
    "instansi_id",
    "location",
    "reporter_name",
}
TOPICS = [
    {"id": 12, "parent": 0, "topic_name": "Pendidikan"},
    {"id": 15, "parent": 0, "topic_name": "Kesehatan"},
    {"id": 34, "parent": 0, "topic_name": "Infrastruktur"},
    {"id": 341, "parent": 34, "topic_name": "Jalan dan Jembatan"},
    {"id": 37, "parent": 0, "topic_name": "Lingkungan Hidup dan Kehutanan"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"status": "error", "code": code, "message": message}, status=status, headers=headers)


@dataclass
class Report:
    tracking_id: str
    body: dict[str, Any]
    status: str = "verifikasi"
    followups: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


class FakeLaporServer:
    def __init__(self, token: str, *, instansi_id: str = "1000") -> None:
        self.token = token
        self.instansi_id = instansi_id
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.reports: dict[str, Report] = {}
        self.by_ref: dict[str, str] = {}
        self.creates: Counter[str] = Counter()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[tuple[str, int]] = []  # (endpoint, status) of every error answered
        self.updates: list[dict[str, Any]] = []
        self.seen_refs: set[str] = set()
        self._ids = itertools.count(5_000_001)
        self._mode: str | None = None
        self._limited = 0
        self._retry_after = 30
        self._forced: list[tuple[int, str]] = []
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # ---- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> FakeLaporServer:
        app = web.Application()
        for name, path in ENDPOINTS.items():
            app.router.add_post(path, self._handler(name))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _listen(self) -> None:
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()

    # ---- faults ------------------------------------------------------------------------------
    async def outage(self, mode: str = "refuse") -> None:
        """``refuse``: the port closes (connection refused); ``503``: every call answers 503."""
        self._mode = mode
        if mode == "refuse" and self._site is not None:
            await self._site.stop()
            self._site = None

    async def recover(self) -> None:
        if self._site is None:
            await self._listen()
        self._mode = None

    def rate_limit(self, calls: int, retry_after: int = 30) -> None:
        self._limited, self._retry_after = calls, retry_after

    def fail_next(self, status: int, code: str = "bad_request") -> None:
        self._forced.append((status, code))

    # ---- LAPOR!'s own side -------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(next(self._ids))

    def dispose(
        self,
        content: str,
        *,
        instansi_id: str | None = None,
        topic_id: str | None = None,
        title: str | None = None,
        anonymous: bool = False,
        confidential: bool = False,
        location: str | None = None,
    ) -> str:
        """A report filed in LAPOR! (its site, SMS 1708, …) disposed to this Pemda; its TrackingID."""
        tracking = self._new_id()
        body = {"title": title or content[:60], "content": content, "location": location}
        self.reports[tracking] = Report(tracking, body, status="disposisi")
        self._feed(
            "disposition",
            tracking,
            status="disposisi",
            instansi_id=instansi_id or self.instansi_id,
            topic_id=topic_id,
            title=body["title"],
            content=content,
            location=location,
            anonymous=int(anonymous),
            confidential=int(confidential),
        )
        return tracking

    def set_status(self, tracking_id: str, status: str) -> None:
        """LAPOR!'s admin (or the agency in LAPOR!) moves a report."""
        report = self.reports[tracking_id]
        report.status = status
        self._feed("status", tracking_id, status=status, external_ref=report.body.get("external_ref"))

    def _feed(self, kind: str, tracking: str, **fields: Any) -> None:
        update_id = len(self.updates) + 1
        self.updates.append(
            {
                "update_id": str(update_id),
                "type": kind,
                "TrackingID": tracking,
                "date": "2026-11-23T03:00:00Z",
                **fields,
            }
        )

    # ---- the HTTP side -----------------------------------------------------------------------
    def _handler(self, name: str):
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                body = await request.json()
            except ValueError:
                body = None
            self.calls.append((name, body if isinstance(body, dict) else {}))
            resp = self._refusal(body)
            if resp is None:
                resp = getattr(self, f"_{name}")(body)
            if resp.status != 200:
                self.refused.append((name, resp.status))
            return resp

        return handle

    def _refusal(self, body: Any) -> web.Response | None:
        if self._mode == "503":
            return _error(503, "unavailable", "Layanan sedang dalam pemeliharaan")
        if self._limited > 0:
            self._limited -= 1
            return _error(429, "rate_limited", "Terlalu banyak permintaan", {"Retry-After": str(self._retry_after)})
        if self._forced:
            status, code = self._forced.pop(0)
            return _error(status, code, f"forced {status}")
        if not isinstance(body, dict):
            return _error(400, "bad_json", "Body harus berupa objek JSON")
        if body.get(TOKEN_FIELD) != self.token:
            return _error(401, "invalid_token", "KEYTOKEN tidak valid")
        return None

    def _topics(self, body: dict[str, Any]) -> web.Response:
        return web.json_response(TOPICS)

    def _create(self, body: dict[str, Any]) -> web.Response:
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            return _error(400, "unknown_field", f"Field tidak dikenal: {', '.join(unknown)}")
        ref = str(body.get("external_ref") or "")
        if not ref or not str(body.get("content") or "").strip() or not body.get("title"):
            return _error(400, "missing_field", "external_ref, title dan content wajib diisi")
        if body.get("anonymous") not in (0, 1) or body.get("confidential") not in (0, 1):
            return _error(400, "bad_privacy", "anonymous dan confidential harus 0 atau 1")
        if ref in self.by_ref:
            return web.json_response({"status": "ok", "TrackingID": self.by_ref[ref], "existing": True})
        tracking = self._new_id()
        self.reports[tracking] = Report(tracking, dict(body))
        self.by_ref[ref] = tracking
        self.creates[ref] += 1
        return web.json_response({"status": "ok", "TrackingID": tracking, "existing": False})

    def _known(self, body: dict[str, Any]) -> Report | web.Response:
        report = self.reports.get(str(body.get("TrackingID") or ""))
        if report is None:
            return _error(404, "not_found", "TrackingID tidak ditemukan")
        return report

    def _followup(self, body: dict[str, Any]) -> web.Response:
        report = self._known(body)
        if isinstance(report, web.Response):
            return report
        if not str(body.get("content") or "").strip():
            return _error(400, "missing_field", "content wajib diisi")
        ref = str(body.get("external_ref") or "")
        if ref not in self.seen_refs:
            self.seen_refs.add(ref)
            report.followups.append(dict(body))
        return web.json_response({"status": "ok"})

    def _status(self, body: dict[str, Any]) -> web.Response:
        report = self._known(body)
        if isinstance(report, web.Response):
            return report
        if body.get("status") not in LAPOR_STATUS_WORDS:
            return _error(400, "bad_status", f"Status tidak dikenal: {body.get('status')!r}")
        ref = str(body.get("external_ref") or "")
        if ref not in self.seen_refs:
            self.seen_refs.add(ref)
            report.status = body["status"]
            report.statuses.append(body["status"])
        return web.json_response({"status": "ok"})

    def _updates(self, body: dict[str, Any]) -> web.Response:
        try:
            since = int(body.get("since") or 0)
            limit = max(1, min(int(body.get("limit") or 100), 500))
        except (TypeError, ValueError):
            return _error(400, "bad_cursor", "since harus berupa cursor dari jawaban sebelumnya")
        page = [u for u in self.updates if int(u["update_id"]) > since][:limit]
        cursor = page[-1]["update_id"] if page else str(since)
        return web.json_response({"status": "ok", "updates": page, "cursor": cursor})
