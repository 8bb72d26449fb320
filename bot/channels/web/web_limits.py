"""Abuse limits and identities of the web chat, the one channel anyone can open without an account.

* **Who is asking**: :class:`ClientAddresses` takes the peer address of the connection, and the
  ``X-Forwarded-For`` / ``X-Forwarded-Proto`` headers only when that peer is one of the trusted
  proxies (``KANAL_TRUSTED_PROXIES``); anyone else could write anything there.
* **Identities are issued by the server**: :class:`Identities` mints a random token signed with an
  HMAC key; a cookie the server did not sign is not accepted (unless its hash already names a
  stored person: identities issued before signing existed, or before a restart without a
  configured key; ``POST /session`` then replaces it with a signed one).
* **Limits** (:class:`WebLimits`, sliding windows of the ``limits`` library, in memory per
  process): new identities per client address and per hour overall, turns per minute per
  identity, per client address and overall. Per-address limits are generous (a whole office
  behind one NAT scans the counter's QR code), per-identity limits strict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_RANDOM = 32  # characters of randomness (24 bytes, URL-safe base64)
_MAC = 22  # characters of the signature (16 bytes of HMAC-SHA256)


def parse_proxies(raw: Iterable[str]) -> tuple[Network, ...]:
    """``10.0.0.1``, ``10.0.0.0/8``, ``::1`` → networks; raises ValueError on anything else."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in raw if p.strip())


class ClientAddresses:
    """The client's address and scheme of a request, believing proxy headers only from ``trusted``."""

    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted)

    def _is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def client(self, peer: str | None, forwarded_for: str | None) -> str:
        """The address that connected, or, through trusted proxies, the first hop (from the right)
        that is not one of them. Malformed entries end the walk (the last good hop counts)."""
        current = peer or "unknown"
        if not forwarded_for or not self._is_trusted(current):
            return current
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return current
            current = hop
            if not self._is_trusted(hop):
                return hop
        return current

    def is_tls(self, peer: str | None, direct_tls: bool, forwarded_proto: str | None) -> bool:
        """True when the browser's connection is TLS: our own, or a trusted proxy's word for it."""
        if direct_tls:
            return True
        if forwarded_proto and self._is_trusted(peer):
            return forwarded_proto.split(",")[0].strip().lower() == "https"
        return False


class Identities:
    """Random web chat tokens signed by the server; the database only ever sees their hash."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, random_part: str) -> str:
        digest = hmac.new(self._key, random_part.encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> str:
        random_part = secrets.token_urlsafe(24)
        return random_part + self._mac(random_part)

    def signed(self, token: str | None) -> bool:
        if not token or len(token) != _RANDOM + _MAC:
            return False
        return hmac.compare_digest(token[_RANDOM:], self._mac(token[:_RANDOM]))


@dataclass(frozen=True)
class LimitConfig:
    """Per hour for new identities, per minute for turns; 0 switches a limit off."""

    identities_per_address_hour: int = 300
    identities_per_hour: int = 20_000
    turns_per_identity_minute: int = 30
    turns_per_address_minute: int = 1_200
    turns_per_minute: int = 30_000


class WebLimits:
    """Sliding-window counters; each check answers 0 (go ahead, counted) or the seconds to wait."""

    def __init__(self, config: LimitConfig) -> None:
        self.config = config
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        c = config
        self._identity_items = (
            RateLimitItemPerHour(c.identities_per_address_hour, namespace="id-addr"),
            RateLimitItemPerHour(c.identities_per_hour, namespace="id-all"),
        )
        self._turn_items = (
            RateLimitItemPerMinute(c.turns_per_identity_minute, namespace="turn-id"),
            RateLimitItemPerMinute(c.turns_per_address_minute, namespace="turn-addr"),
            RateLimitItemPerMinute(c.turns_per_minute, namespace="turn-all"),
        )
        self._log_item = RateLimitItemPerMinute(1, namespace="log")

    def worth_logging(self, address: str) -> bool:
        """True at most once a minute per address: a flood makes one log line, not thousands."""
        return self._limiter.hit(self._log_item, address)

    def _take(self, checks: list[tuple[RateLimitItem, str]]) -> int:
        checks = [(item, key) for item, key in checks if item.amount > 0]
        for item, key in checks:  # all must allow it before any is counted
            if not self._limiter.test(item, key):
                reset = self._limiter.get_window_stats(item, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        for item, key in checks:
            self._limiter.hit(item, key)
        return 0

    def new_identity(self, address: str) -> int:
        per_address, overall = self._identity_items
        return self._take([(per_address, address), (overall, "all")])

    def turn(self, identity: str, address: str) -> int:
        per_identity, per_address, overall = self._turn_items
        return self._take([(per_identity, identity), (per_address, address), (overall, "all")])


def limit_text(seconds: int) -> str:
    """The message when a limit is hit: Indonesian first, English beside it (before the person's
    language is known; nothing here reaches the database)."""
    wait = f"{seconds} detik" if seconds < 120 else f"{math.ceil(seconds / 60)} menit"
    wait_en = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return (
        f"Terlalu banyak permintaan dari perangkat atau jaringan ini. Tunggu {wait}, lalu coba lagi. / "
        f"Too many requests from this device or network. Wait {wait_en}, then try again."
    )
