"""The outbox: every outgoing message is a row written in the turn's transaction, then claimed,
sent and marked by the delivery (``bot.delivery``). New rows wait in the unit of work's pending
writes and are inserted at its commit, all of a transaction's rows in one executemany; a read of
the outbox writes them first."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.unit_state import PendingWrites, WriteResult

#: what a delivered message whose content is not kept leaves in its payload
FORGOTTEN_TEXT = "(isi pesan tidak disimpan setelah terkirim)"


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """A claimed outbox row, detached from its session (it is sent outside the transaction)."""

    id: int
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    purpose: str
    user_id: int | None
    on_failure: dict[str, Any] | None = None
    #: what is forgotten once it is delivered (``bot.domain.messages.Forget``), or None
    forget: str | None = None


class DeliveryRecorded(NamedTuple):
    """What :meth:`OutboxRepo.record_delivery_status` did: ``found`` False when no row has the
    platform's message id (yet); ``tell``: whom to tell that it failed, or None."""

    found: bool
    tell: dict[str, Any] | None


#: advisory-lock class of a chat being claimed (the two-key form: apart from the one-key locks of
#: the scheduler, the poller and migrations)
CHAT_CLAIM_LOCK = 23


@functools.cache
def _claim_statement(by_channel: bool, replies: bool | None, one_sender_per_chat: bool = False, lock: bool = True):
    """:meth:`OutboxRepo.claim_due`'s SELECT, built once per shape (parameters ``now``, ``limit`` and,
    when ``by_channel``, the expanding ``channels``).

    ``one_sender_per_chat`` (PostgreSQL, where several instances claim): a row is not claimed while
    an earlier row of its chat is being sent (claimed, its lease not run out); see
    :meth:`OutboxRepo._one_claimer_per_chat` for two claims at the same moment."""
    t = OutboxMessage.__table__
    now = bindparam("now", type_=t.c.next_attempt_at.type)
    due = or_(
        (t.c.status == "pending") & (t.c.next_attempt_at <= now), (t.c.status == "sending") & (t.c.locked_until < now)
    )
    # a message never overtakes an earlier one to the same chat that waits for a retry (a 429
    # or a network error paused it): it waits too, and they go out in order when it is due
    earlier = t.alias("earlier")
    waiting_before = (
        select(earlier.c.id)
        .where(
            earlier.c.channel == t.c.channel,
            earlier.c.address == t.c.address,
            earlier.c.id < t.c.id,
            earlier.c.status == "pending",
            earlier.c.next_attempt_at > now,
        )
        .exists()
    )
    stmt = select(
        t.c.id,
        t.c.channel,
        t.c.address,
        t.c.payload,
        t.c.attempts,
        t.c.purpose,
        t.c.user_id,
        t.c.on_failure,
        t.c.forget,
    ).where(due, ~waiting_before)
    if one_sender_per_chat:
        sending = t.alias("sending")
        being_sent = (
            select(sending.c.id)
            .where(
                sending.c.channel == t.c.channel,
                sending.c.address == t.c.address,
                sending.c.id < t.c.id,
                sending.c.status == "sending",
                sending.c.locked_until >= now,
            )
            .exists()
        )
        stmt = stmt.where(~being_sent)
    if by_channel:
        stmt = stmt.where(t.c.channel.in_(bindparam("channels", expanding=True)))
    if replies is not None:
        stmt = stmt.where((t.c.purpose == "reply") if replies else (t.c.purpose != "reply"))
    stmt = stmt.order_by(t.c.id).limit(bindparam("limit"))
    return stmt.with_for_update(skip_locked=True) if lock else stmt


def _mark_sending_statement():
    t = OutboxMessage.__table__
    return (
        t.update()
        .where(t.c.id.in_(bindparam("ids", expanding=True)))
        .values(
            status="sending",
            locked_until=bindparam("until", type_=t.c.locked_until.type),
            attempts=t.c.attempts + 1,
        )
    )


#: see :meth:`OutboxRepo.claim_due`
_MARK_SENDING = _mark_sending_statement()
#: see :meth:`OutboxRepo._one_claimer_per_chat` (PostgreSQL only)
_LOCK_CHATS = text(
    "SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE pg_try_advisory_xact_lock(:cls, hashtext(k))"
)
_CHATS_BEING_SENT = text(
    "SELECT DISTINCT channel || ':' || address FROM outbox"
    " WHERE status = 'sending' AND locked_until >= :now AND channel || ':' || address = ANY(CAST(:keys AS text[]))"
)


class OutboxRepo:
    """The ``outbox`` table: new rows, claims, delivery outcomes and platform delivery reports."""

    def __init__(self, session: AsyncSession, pending: PendingWrites) -> None:
        self.session = session
        self.pending = pending

    def enqueue(
        self,
        *,
        channel: str,
        address: str,
        payload: dict[str, Any],
        now: datetime,
        user_id: int | None = None,
        purpose: str = "reply",
        not_before: datetime | None = None,
        on_failure: dict[str, Any] | None = None,
        forget: str | None = None,
        status: str = "pending",
    ) -> WriteResult:
        """Add an outbox row (``status`` "sent": one already delivered, :meth:`record_echo`). It is
        written when the transaction commits (or before this repository
        next reads the outbox), in one statement with the transaction's other new rows
        (:attr:`WriteResult.DEFERRED`).
        ``on_failure``: whom to tell if it cannot be delivered (``bot.engine.notify.Notifier.delivery_failed``)."""
        return self.pending.insert(
            OutboxMessage,
            channel=channel,
            address=address,
            user_id=user_id,
            payload=payload,
            purpose=purpose,
            status=status,
            attempts=0,
            next_attempt_at=not_before or now,
            created_at=now,
            on_failure=on_failure,
            forget=forget,
        )

    def record_echo(self, *, channel: str, address: str, user_id: int, payload: dict[str, Any], now: datetime) -> None:
        """A person's own message, for a channel that replays the conversation (the web chat):
        a row already delivered (the sender never sends it), replayed by :meth:`sent_since` in
        order with the answers, pruned and erased with them."""
        self.enqueue(
            channel=channel, address=address, payload=payload, now=now, user_id=user_id, purpose="echo", status="sent"
        )

    async def claim_due(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        channels: Iterable[str] | None = None,
        replies: bool | None = None,
    ) -> list[ClaimedMessage]:
        """Claim due rows (pending, or 'sending' whose lease ran out after a crash), oldest first;
        ``replies`` True: only answers to a person's own message (purpose ``reply``), False: only
        the others (notifications, reminders, broadcasts), None: both.

        On PostgreSQL concurrent senders skip each other's rows (FOR UPDATE SKIP LOCKED) and each
        other's chats (see :func:`_claim_statement`).
        """
        await self.pending.write()
        channels = list(channels) if channels is not None else None
        params: dict[str, Any] = {"now": now, "limit": limit}
        if channels is not None:
            params["channels"] = channels
        statement = _claim_statement(channels is not None, replies, self._several)
        rows = (await self.session.execute(statement, params)).all()
        if self._several and rows:
            rows = await self._one_claimer_per_chat(rows, now)
        if not rows:
            return []
        # plain rows, no ORM objects: one UPDATE marks the batch (the SELECT above locked the rows
        # on PostgreSQL; SQLite's writer lock is held), and the attempts counted are those read + 1
        await self.session.execute(_MARK_SENDING, {"ids": [r.id for r in rows], "until": now + lease})
        return [
            ClaimedMessage(
                r.id, r.channel, r.address, r.payload, r.attempts + 1, r.purpose, r.user_id, r.on_failure, r.forget
            )
            for r in rows
        ]

    @property
    def _several(self) -> bool:
        """PostgreSQL: several instances may claim at once (one process per SQLite file)."""
        return self.session.get_bind().dialect.name == "postgresql"

    async def any_due(self, now: datetime, channels: Iterable[str]) -> bool:
        """Whether a row is due, claimed by anyone or not: what :meth:`claim_due` would take, but
        reading without locks, so rows a concurrent claim holds count too."""
        params = {"now": now, "limit": 1, "channels": list(channels)}
        statement = _claim_statement(True, None, self._several, False)
        return bool((await self.session.execute(statement, params)).first())

    async def _one_claimer_per_chat(self, rows: Sequence[Any], now: datetime) -> list[Any]:
        """Two instances claiming at the same moment: SKIP LOCKED lets the second take a chat's
        later row while the first holds its earlier ones. So the claimed chats are locked for this
        transaction (advisory, tried without waiting: a chat another claim holds is left to it),
        and then looked at afresh: a chat whose earlier rows a claim committed meanwhile is being
        sent, and is left too. The rows left stay pending."""
        keys = sorted({f"{r.channel}:{r.address}" for r in rows})
        free = set((await self.session.execute(_LOCK_CHATS, {"keys": keys, "cls": CHAT_CLAIM_LOCK})).scalars())
        busy = set((await self.session.execute(_CHATS_BEING_SENT, {"keys": list(free), "now": now})).scalars())
        return [r for r in rows if f"{r.channel}:{r.address}" in free - busy]

    async def recent_sends(
        self, chats: Iterable[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], list[datetime]]:
        """When each of ``chats`` ((channel, address)) was last sent to, since ``since``, oldest
        first: a chat's pacing as another instance left it."""
        wanted = set(chats)
        if not wanted:
            return {}
        t = OutboxMessage.__table__
        rows = await self.session.execute(
            select(t.c.channel, t.c.address, t.c.sent_at)
            .where(t.c.address.in_(sorted({a for _, a in wanted})), t.c.status == "sent", t.c.sent_at >= since)
            .order_by(t.c.sent_at)
        )
        found: dict[tuple[str, str], list[datetime]] = {}
        for channel, address, sent_at in rows:
            if (channel, address) in wanted:
                found.setdefault((channel, address), []).append(sent_at)
        return found

    async def mark_sent(self, outbox_id: int, now: datetime, platform_message_id: str | None) -> None:
        await self.mark_sent_many([(outbox_id, platform_message_id)], now)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """:meth:`mark_sent` for many rows in one statement (``(outbox id, platform message id)``)."""
        if sent:
            await self.session.execute(
                update(OutboxMessage),
                [
                    {
                        "id": i,
                        "status": "sent",
                        "sent_at": now,
                        "locked_until": None,
                        "platform_message_id": pm,
                        "last_error": None,
                    }
                    for i, pm in sent
                ],
            )

    async def forget_delivered(self, rows: Sequence[tuple[int, str]]) -> None:
        """Rows delivered or failed for good whose content is not kept (``(outbox id, forget)``):
        "row" deletes the row, "payload" replaces the payload (the bookkeeping stays)."""
        drop = [i for i, forget in rows if forget == "row"]
        scrub = [i for i, forget in rows if forget != "row"]
        if drop:
            await self.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(drop)))
        if scrub:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(scrub))
                .values(payload={"text": FORGOTTEN_TEXT, "forgotten": True}, scrubbed=True)
            )

    async def mark_retry(self, outbox_id: int, at: datetime, error: str, *, count_attempt: bool = True) -> None:
        values: dict[str, Any] = {
            "status": "pending",
            "next_attempt_at": at,
            "locked_until": None,
            "last_error": error[:1000],
        }
        if not count_attempt:  # rate limited: not the message's fault
            values["attempts"] = OutboxMessage.attempts - 1
        await self.session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(**values))

    async def mark_failed(self, outbox_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(status="failed", locked_until=None, last_error=error[:1000])
        )

    async def reschedule_address(self, channel: str, address: str, now: datetime) -> int:
        await self.pending.write()
        res = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.channel == channel, OutboxMessage.address == address, OutboxMessage.status == "pending"
            )
            .values(next_attempt_at=now)
        )
        return res.rowcount or 0

    async def outbox_backlog(self, now: datetime) -> dict[str, int]:
        await self.pending.write()
        stmt = (
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(["pending", "sending", "failed"]))
            .group_by(OutboxMessage.status)
        )
        return dict((await self.session.execute(stmt)).all())

    async def sent_since(
        self, channel: str, address: str, after_id: int, limit: int = 100, *, newest: bool = False
    ) -> Sequence[OutboxMessage]:
        """Rows sent to ``address`` after ``after_id``, oldest first: the first ``limit`` of them,
        or with ``newest`` the last ``limit`` (a page opened afresh shows the recent conversation)."""
        await self.pending.write()
        stmt = (
            select(OutboxMessage)
            # 'sending' too: a push racing a reconnect may have gone to the old socket (pages dedupe by id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.address == address,
                OutboxMessage.status.in_(["sent", "sending"]),
                OutboxMessage.id > after_id,
                OutboxMessage.scrubbed.is_(False),
            )
            .order_by(OutboxMessage.id.desc() if newest else OutboxMessage.id)
            .limit(limit)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        return list(reversed(rows)) if newest else rows

    # ---- platform delivery reports (WhatsApp statuses) -------------------------------------
    #: how far a message got; a report never moves a row backwards (reports arrive out of order)
    DELIVERY_RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4}

    async def record_delivery_status(
        self,
        platform_message_id: str,
        status: str,
        at: datetime,
        error: str | None = None,
        *,
        channel: str | None = None,
    ) -> DeliveryRecorded:
        """Record what the platform reported about a sent message: (found, whom to tell). Found is
        False when no row has that id (not recorded yet: the send's bookkeeping may still be in
        flight). A later report of a lower rank (``sent`` after ``read``, ``failed`` after
        ``delivered``) is ignored; a failure is kept in ``last_error``. Whom to tell: the row's
        ``on_failure`` when this report is the one that says it failed, else None."""
        await self.pending.write()
        stmt = select(OutboxMessage).where(OutboxMessage.platform_message_id == platform_message_id)
        if channel is not None:
            stmt = stmt.where(OutboxMessage.channel == channel)
        # locked: Meta's reports of one message come as separate webhooks handled at once, and a
        # lower one read before a higher one committed would otherwise overwrite it (PostgreSQL;
        # SQLite's transactions here take turns)
        stmt = stmt.order_by(OutboxMessage.id.desc()).limit(1).with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            return DeliveryRecorded(False, None)
        rank = self.DELIVERY_RANK.get(status, 0)
        tell = None
        if rank >= self.DELIVERY_RANK.get(row.delivery_status or "", 0):
            if status == "failed" and row.delivery_status != "failed":
                tell = row.on_failure
            row.delivery_status = status[:12]
            row.delivery_status_at = at
            if error:
                row.last_error = error[:1000]
        return DeliveryRecorded(True, tell)

    async def last_delivered_payload(self, channel: str, address: str) -> dict[str, Any] | None:
        """The payload of the newest message that went (or is going) out to ``address``."""
        await self.pending.write()
        stmt = (
            select(OutboxMessage.payload)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.address == address,
                OutboxMessage.status.in_(["sent", "sending"]),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
