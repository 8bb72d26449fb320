"""Signed, expiring links to a complaint's photo (or voice note) for one staff member.

A link names what it opens (``photo`` or ``voice`` and its row id), the viewer's user id and when
it expires, signed with HMAC-SHA256: ``/media/p12.34.1767225600.<signature>``. The route that
serves it (``bot/media_route.py``) checks the signature and the expiry, then whether that viewer
may see that complaint *now* (a link forwarded to someone else, or kept after the complaint moved
to another OPD, opens nothing). Flows never see the key: they ask the turn (``Turn.media_link``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

#: the route's path prefix
PREFIX = "/media/"
KINDS = {"photo": "p", "voice": "v"}
_NAMES = {v: k for k, v in KINDS.items()}
_SIG_BYTES = 18


class BadLink(Exception):
    """The token is malformed or its signature is wrong."""


class ExpiredLink(Exception):
    """The token was good but its time is over."""


@dataclass(frozen=True)
class MediaClaim:
    kind: str  # "photo" | "voice"
    media_id: int
    viewer_id: int
    expires: int  # unix seconds


def _sign(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(key: bytes, kind: str, media_id: int, viewer_id: int, expires: int) -> str:
    body = f"{KINDS[kind]}{int(media_id)}.{int(viewer_id)}.{int(expires)}"
    return f"{body}.{_sign(key, body)}"


def read_token(key: bytes, token: str, now: datetime) -> MediaClaim:
    """The claim of a good token; :class:`BadLink` or :class:`ExpiredLink` otherwise."""
    if not isinstance(token, str) or len(token) > 120:
        raise BadLink("malformed")
    body, _, sig = token.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or parts[0][:1] not in _NAMES or not all(p.isascii() for p in parts):
        raise BadLink("malformed")
    if not hmac.compare_digest(_sign(key, body).encode(), sig.encode()):
        raise BadLink("signature")
    try:
        media_id, viewer_id, expires = int(parts[0][1:]), int(parts[1]), int(parts[2])
    except ValueError:
        raise BadLink("malformed") from None
    if now.timestamp() > expires:
        raise ExpiredLink("expired")
    return MediaClaim(_NAMES[parts[0][0]], media_id, viewer_id, expires)


@dataclass(frozen=True)
class MediaLinks:
    """What the app gives the engine so a flow can hand a staff member a link: the key, how long
    a link lives and the public address (for platforms that fetch a photo by URL themselves)."""

    key: bytes
    lifetime: timedelta = timedelta(days=7)
    public_url: str | None = None

    def path(self, kind: str, media_id: int, viewer_id: int, now: datetime) -> str:
        expires = int((now + self.lifetime).timestamp())
        return PREFIX + make_token(self.key, kind, media_id, viewer_id, expires)

    def url(self, kind: str, media_id: int, viewer_id: int, now: datetime) -> str | None:
        """The absolute link, or None when no public address is configured."""
        if not self.public_url:
            return None
        return self.public_url.rstrip("/") + self.path(kind, media_id, viewer_id, now)
