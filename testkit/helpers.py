"""Small helpers shared by tests (no fixtures here)."""

from __future__ import annotations

import itertools
from typing import Any

from bot.domain.messages import Inbound, Kind, SendError, SendResult

_ids = itertools.count(1)


def text(
    user: str,
    body: str,
    *,
    channel: str = "web",
    ext: str | None = None,
    hint: str | None = None,
    name: str | None = "Siti",
) -> Inbound:
    return Inbound(
        channel=channel,
        user_key=user,
        external_id=ext or f"m{next(_ids)}",
        kind=Kind.TEXT,
        text=body,
        language_hint=hint,
        display_name=name,
    )


def choice(user: str, value: str, *, channel: str = "web", ext: str | None = None) -> Inbound:
    return Inbound(channel=channel, user_key=user, external_id=ext or f"m{next(_ids)}", kind=Kind.CHOICE, choice=value)


class RecordingSender:
    """A channel sender for delivery tests of the outbox itself (channels are tested on the wire)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.script: dict[str, list[SendError]] = {}  # address -> errors to raise first

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        errors = self.script.get(address)
        if errors:
            raise errors.pop(0)
        self.sent.append((address, payload))
        return SendResult(platform_message_id=str(len(self.sent)))

    def texts(self, address: str | None = None) -> list[str]:
        return [p.get("text", "") for a, p in self.sent if address is None or a == address]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events in any ``window`` seconds (a sliding window over their times)."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
