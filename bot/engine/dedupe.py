"""Inbound dedupe with a horizon: a platform's redelivery of a message has no second effect, and a
key seen long ago can never eat a new message.

Keys are the channels' message ids, unique over time (``external_id``; Telegram's scheme is in
:mod:`bot.channels.telegram.telegram_parse`). The rows are pruned after the platforms' redelivery
horizon (``KANAL_DEDUPE_HOURS``, job ``dedupe_prune``). A key whose row is older than the horizon
(the prune has not run yet) is not a redelivery: the message is logged as a WARNING and handled,
and the row's time is renewed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from storage import UnitOfWork

log = logging.getLogger(__name__)

#: Meta retries an unacknowledged webhook for up to 7 days; Telegram keeps an update for 24 hours
DEFAULT_HORIZON = timedelta(hours=192)


async def record_new(
    uow: UnitOfWork, rows: Sequence[tuple[str, str, int | None]], now: datetime, horizon: timedelta
) -> set[tuple[str, str]]:
    """Record ``(channel, external id, user id)`` rows in ``uow``'s transaction; the ``(channel,
    external id)`` pairs to handle: the new ones and those last seen longer than ``horizon`` ago."""
    fresh = await uow.inbound.record_inbound_many(rows, now)
    seen = [(c, e) for c, e, _ in rows if (c, e) not in fresh]
    if seen:
        stale = await uow.inbound.reclaim_stale(seen, before=now - horizon, now=now)
        for channel, external_id in sorted(stale):
            log.warning(
                "%s message %s was already seen more than %s ago (not a redelivery): handled",
                channel,
                external_id,
                horizon,
            )
        fresh |= stale
    return fresh
