"""What became of a claimed outbox row, and how those outcomes are written.

A row is :class:`Sent`, given back for a :class:`Retry` at a later time (the platform's
``retry_after``, a backoff, or waiting behind an earlier message to its chat), :class:`FailedFinal`
(never retried), or :class:`Released` at shutdown. :class:`PendingOutcomes` gathers them until
:func:`write_outcomes` records a batch in one transaction (a group commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import UnitOfWork

#: a chat: (channel, address)
ChatKey = tuple[str, str]

#: tells whom a message that failed for good concerns: (the unit of work, the row's ``on_failure``, now)
OnFailed = Callable[[UnitOfWork, dict[str, Any], Any], Awaitable[Any]]

WAITING_BEHIND = "waiting behind an earlier message"


@dataclass(frozen=True, slots=True)
class Sent:
    row_id: int
    platform_message_id: str | None
    forget: str | None = None  # the row's ``forget``: its content goes once recorded


@dataclass(frozen=True, slots=True)
class Retry:
    """Given back to be sent again at ``at``; ``counts_attempt``: the failure was the message's."""

    row_id: int
    chat: ChatKey
    at: datetime
    error: str
    counts_attempt: bool


@dataclass(frozen=True, slots=True)
class FailedFinal:
    """Never sent; ``tell``: the row's ``on_failure`` (whom to tell), if it has one."""

    row_id: int
    error: str
    tell: dict[str, Any] | None
    forget: str | None = None


@dataclass(frozen=True, slots=True)
class Released:
    """Claimed but not tried before shutdown: due again at once, no attempt counted."""

    row_id: int


Outcome = Sent | Retry | FailedFinal | Released


class PendingOutcomes:
    """Outcomes not yet written, and whether a write is under way."""

    def __init__(self) -> None:
        self.items: list[Outcome] = []
        self.ready = asyncio.Event()  # set when there is something to write
        self.writing = False

    def busy(self) -> bool:
        """Outcomes are waiting or being written."""
        return bool(self.items) or self.writing

    def add(self, outcome: Outcome) -> None:
        self.items.append(outcome)

    def take(self) -> list[Outcome]:
        batch, self.items = self.items, []
        return batch

    def put_back(self, batch: list[Outcome]) -> None:
        """A write failed: keep its outcomes, ahead of newer ones, for the next try."""
        self.items[:0] = batch


def failure_reports(batch: Sequence[Outcome]) -> list[Any]:
    """The ``on_failure`` of the rows in ``batch`` that failed for good and have one."""
    return [o.tell for o in batch if isinstance(o, FailedFinal) and o.tell]


async def write_outcomes(uow: UnitOfWork, batch: Sequence[Outcome], now: datetime, on_failed: OnFailed | None) -> None:
    """Record ``batch`` in ``uow`` (the caller commits)."""
    repo = uow.outbox
    await repo.mark_sent_many([(o.row_id, o.platform_message_id) for o in batch if isinstance(o, Sent)], now)
    if on_failed is not None:
        # once per staff member and complaint: a long answer's parts all fail together
        reports = failure_reports(batch)
        once = {(str(r.get("user_id")), str(r.get("about"))): r for r in reports if isinstance(r, dict)}
        for report in once.values():
            await on_failed(uow, report, now)
    for o in batch:
        if isinstance(o, FailedFinal):
            await repo.mark_failed(o.row_id, o.error)
        elif isinstance(o, Retry):
            await repo.mark_retry(o.row_id, o.at, o.error, count_attempt=o.counts_attempt)
        elif isinstance(o, Released):
            await repo.mark_retry(o.row_id, now, "released at shutdown", count_attempt=False)
    forgotten = [(o.row_id, o.forget) for o in batch if isinstance(o, Sent | FailedFinal) and o.forget]
    if forgotten:  # exports, invite codes, the goodbye after /hapusdata: not kept once delivered
        await repo.forget_delivered(forgotten)
