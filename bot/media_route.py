"""``GET /media/<token>``: a complaint's photo (or voice note) for one staff member, whatever the
channel it came in on.

The token (:mod:`bot.domain.media_links`) is signed with a key the app keeps: ``KANAL_WEB_SECRET``
when set (a key derived from it), else one made on first start and kept in ``app_secrets``
(``media_link_key``), so every instance and restart agree. At each fetch: the signature (403), the
expiry (410), then the viewer *now*: a coordinator, or an officer of the OPD that holds the
complaint now (403 otherwise — a forwarded link, a complaint moved on, a revoked role). The bytes
come from the channel that holds them (``fetch_media``: Telegram ``getFile``, the WhatsApp media
URL with the token, a web chat upload from its folder) and are never cached by the browser.
Uploaded files whose rows erasure or retention deleted are removed here too
(:meth:`MediaRoute.released`), unless another row still names the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.domain.clock import Clock
from bot.domain.complaint_rules import Role
from bot.domain.media_links import BadLink, ExpiredLink, MediaLinks, read_token
from bot.settings import Settings
from storage import Database
from storage.app_secret_repo import kept_secret

log = logging.getLogger(__name__)

KEY_NAME = "media_link_key"
#: what a fetched file may be served as; anything else goes out as a download of bytes
SERVED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "audio/ogg", "audio/mpeg", "audio/mp4")
HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Referrer-Policy": "no-referrer",
}


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers=HEADERS)


async def link_key(db: Database, settings: Settings, clock: Clock) -> bytes:
    """The key that signs media links (see the module docstring)."""
    if settings.web_secret:
        return hmac.new(settings.web_secret.encode(), b"kanal media links", hashlib.sha256).digest()
    kept = await kept_secret(db, KEY_NAME, lambda: secrets.token_urlsafe(32), clock.now())
    return kept.encode()


def may_view(viewer: Any, complaint: Any) -> bool:
    """A coordinator, or an officer of the OPD that holds the complaint now."""
    if viewer is None or complaint is None or viewer.erased_at is not None:
        return False
    if viewer.role == Role.COORDINATOR:
        return True
    return viewer.role == Role.OFFICER and viewer.opd_code is not None and viewer.opd_code == complaint.opd_code


class MediaRoute:
    """The route and the clean-up of uploaded files; :attr:`links` is what the engine signs with."""

    def __init__(self, db: Database, channels: Mapping[str, Any], settings: Settings, clock: Clock) -> None:
        self.db = db
        self.channels = channels
        self.settings = settings
        self.clock = clock
        self.links: MediaLinks | None = None

    async def prepare(self) -> MediaLinks:
        if self.links is None:
            self.links = MediaLinks(
                key=await link_key(self.db, self.settings, self.clock),
                lifetime=timedelta(days=self.settings.media_link_days),
                public_url=self.settings.public_url,
            )
        return self.links

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/media/{token}", self.serve)]

    async def serve(self, request: web.Request) -> web.Response:
        if self.links is None:
            return _text(503, "Belum siap, coba lagi. / Not ready, please retry.")
        try:
            claim = read_token(self.links.key, request.match_info["token"], self.clock.now())
        except ExpiredLink:
            return _text(410, "Tautan ini sudah kedaluwarsa; buka laporan lagi. / This link has expired.")
        except BadLink:
            return _text(403, "Tautan tidak sah. / Invalid link.")
        async with self.db.unit_of_work() as uow:
            item = await uow.complaints.media_item(claim.kind, claim.media_id)
            complaint = await uow.complaints.get_by_id(item.complaint_id) if item is not None else None
            viewer = await uow.users.get_user(claim.viewer_id)
        if item is None or complaint is None:
            return _text(404, "Foto tidak ada lagi. / This photo is gone.")
        if not may_view(viewer, complaint):
            return _text(403, "Hanya petugas OPD yang menangani laporan ini dan koordinator. / Staff only.")
        fetch = getattr(self.channels.get(item.channel), "fetch_media", None)
        if fetch is None:
            return _text(404, "Kanal foto ini tidak aktif di server. / This photo's channel is not enabled.")
        try:
            data, mime = await fetch(item.file_ref)
        except Exception as exc:
            log.warning("media %s %d not fetched from %s: %s", claim.kind, item.id, item.channel, type(exc).__name__)
            return _text(502, "Foto belum dapat diambil, coba lagi. / Could not fetch the photo, please retry.")
        if mime not in SERVED_TYPES:
            mime = item.mime_type if item.mime_type in SERVED_TYPES else "application/octet-stream"
        return web.Response(body=data, content_type=mime, headers=HEADERS)

    async def released(self, refs: set[str]) -> None:
        """Rows naming ``refs`` were deleted: delete the stored uploads no row names any more."""
        store = getattr(self.channels.get("web"), "media", None)
        if store is None:
            return
        for ref in refs:
            if store.find(ref) is None:
                continue
            async with self.db.unit_of_work() as uow:
                if await uow.complaints.media_ref_in_use(ref):
                    continue
            store.delete(ref)
