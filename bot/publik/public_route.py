"""``GET /publik``, ``/publik.json``, ``/publik.csv`` and ``/publik/skm/<unit>``: no login.

The figures (:func:`bot.services.public_figures.collect_public_figures`) are computed at most once
a minute (:data:`TTL_SECONDS`) per process and kept with their rendered bodies; browsers and
proxies may keep a copy as long (``Cache-Control: public, max-age=60``). A burst of requests after
the minute waits for one computation (a lock), not one each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.domain.clock import Clock
from bot.publik.public_html import poster_page, public_page
from bot.services.public_figures import PublicFigures, as_csv, as_json, collect_public_figures, day_text
from storage import Database

log = logging.getLogger(__name__)

TTL_SECONDS = 60
HEADERS = {
    "Cache-Control": f"public, max-age={TTL_SECONDS}",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={**HEADERS, "Cache-Control": "no-store"})


class PublicRoute:
    """The routes and their one-minute cache."""

    def __init__(self, db: Database, clock: Clock, *, ttl: float = TTL_SECONDS) -> None:
        self.db = db
        self.clock = clock
        self.ttl = ttl
        self._lock = asyncio.Lock()
        self._kept: tuple[float, PublicFigures, dict[str, Any]] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/publik", self.page),
            web.get("/publik.json", self.json),
            web.get("/publik.csv", self.csv),
            web.get("/publik/skm/{unit}", self.poster),
        ]

    def forget(self) -> None:
        """Drop the kept figures (the next request recomputes)."""
        self._kept = None

    async def figures(self) -> tuple[PublicFigures, dict[str, Any]]:
        """The figures and a dict of their rendered bodies, recomputed when older than the TTL."""
        async with self._lock:
            kept = self._kept
            if kept is None or time.monotonic() - kept[0] >= self.ttl:
                fig = await _collect(self.db, self.clock)
                kept = self._kept = (time.monotonic(), fig, {})
        return kept[1], kept[2]

    async def _ready(self) -> tuple[PublicFigures, dict[str, Any]] | web.Response:
        try:
            return await self.figures()
        except LookupError:
            return _text(503, "Belum ada wilayah yang dimuat. / No region loaded yet.")

    async def page(self, request: web.Request) -> web.Response:
        got = await self._ready()
        if isinstance(got, web.Response):
            return got
        fig, bodies = got
        if "html" not in bodies:
            local = fig.generated_at.astimezone(ZoneInfo(fig.timezone))
            bodies["html"] = public_page(fig, f"{day_text(local.date())} {local:%H.%M} ({fig.timezone})").encode()
        resp = web.Response(body=bodies["html"], content_type="text/html", charset="utf-8", headers=HEADERS)
        resp.enable_compression()  # gzip when the phone's browser accepts it: about a tenth of the bytes
        return resp

    async def json(self, request: web.Request) -> web.Response:
        got = await self._ready()
        if isinstance(got, web.Response):
            return got
        fig, bodies = got
        if "json" not in bodies:
            bodies["json"] = json.dumps(as_json(fig), ensure_ascii=False, indent=1).encode()
        return web.Response(body=bodies["json"], content_type="application/json", charset="utf-8", headers=HEADERS)

    async def csv(self, request: web.Request) -> web.Response:
        got = await self._ready()
        if isinstance(got, web.Response):
            return got
        fig, bodies = got
        if "csv" not in bodies:
            bodies["csv"] = as_csv(fig).encode()
        headers = {**HEADERS, "Content-Disposition": 'inline; filename="publik.csv"'}
        return web.Response(body=bodies["csv"], content_type="text/csv", charset="utf-8", headers=headers)

    async def poster(self, request: web.Request) -> web.Response:
        got = await self._ready()
        if isinstance(got, web.Response):
            return got
        fig, bodies = got
        code = request.match_info["unit"].upper()
        unit = fig.unit(code)
        if unit is None:
            return _text(404, "Unit tidak ditemukan. / Unknown unit.")
        key = f"skm:{code}"
        if key not in bodies:
            bodies[key] = poster_page(fig, unit).encode()
        return web.Response(body=bodies[key], content_type="text/html", charset="utf-8", headers=HEADERS)


async def _collect(db: Database, clock: Clock) -> PublicFigures:
    started = time.monotonic()
    fig = await collect_public_figures(db, clock.now())
    log.info("public page figures computed in %.0f ms", (time.monotonic() - started) * 1000)
    return fig
