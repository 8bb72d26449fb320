"""Per-chat ordering across retries: which chats are paused, and which claimed rows are held back.

Messages to one chat go out in the order they were written. When one of them is given back for a
retry, every later message to that chat must wait behind it, also those claimed before the
retry is written to the database (the claim does not hold them back until then) and those a
claim read while the retry was being written. :class:`ChatOrder` tracks these cases in memory
and tells the sender, for each claimed row, whether it may go to its chat's lane.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from datetime import datetime

from bot.delivery.outcomes import ChatKey, Retry

PAUSES_KEPT = 10_000  # beyond this many paused chats, the pauses that are over are forgotten


class ChatOrder:
    """Which chats wait for a retry, and which claimed rows must therefore be given back."""

    def __init__(self) -> None:
        #: chats whose lane is paused for a retry, until when: rows to them claimed meanwhile wait
        #: too (in the database the claim skips them once the retry is recorded; this covers the
        #: moment before that)
        self._paused: dict[ChatKey, datetime] = {}
        #: chats with retries not yet written (counted per row): until they are, the database
        #: still has the earlier rows as 'sending', so its claim would not hold later rows back,
        #: and a pause that ran out before the write must not let a later row overtake them
        self._unrecorded: dict[ChatKey, int] = {}
        #: rows whose retries were written while the running claim read, by chat: its snapshot
        #: (PostgreSQL) or the moment its rows reach their lanes (both databases) may predate that
        #: write, so a later row it claimed for such a chat, without those earlier ones, is given
        #: back too, and the next claim takes them all in order. A claim that took the written
        #: rows themselves saw the write: its rows go out as claimed.
        self._written_during_claim: dict[ChatKey, set[int]] = {}
        self._claimed: AbstractSet[int] = frozenset()  # the running claim's rows, when needed
        self.claiming = False

    @contextmanager
    def claim(self) -> Iterator[None]:
        """The span of one claim: from before it reads until its rows are in their lanes."""
        self.claiming = True
        self._written_during_claim.clear()
        try:
            yield
        finally:
            self.claiming = False
            self._claimed = frozenset()

    def claimed(self, row_ids: Iterable[int]) -> None:
        """The running claim took these rows (before they are handed out with :meth:`hold_until`)."""
        # only needed when a retry was written meanwhile
        self._claimed = set(row_ids) if self._written_during_claim else frozenset()

    def hold_until(self, chat: ChatKey, row_id: int, now: datetime) -> datetime | None:
        """None when a claimed row may go to its chat's lane; else when to give it back for, because
        an earlier message to that chat waits for a retry."""
        until = self._paused.get(chat)
        if until is not None and now >= until:
            del self._paused[chat]
            until = None
        written = self._written_during_claim.get(chat)
        if (
            until is not None
            or self._unrecorded.get(chat)
            or (written and any(i < row_id and i not in self._claimed for i in written))
        ):
            return until or now
        return None

    def pause(self, chat: ChatKey, until: datetime, now: datetime) -> None:
        """The chat's lane stopped for a retry: rows to it claimed before ``until`` are held back."""
        if len(self._paused) > PAUSES_KEPT:  # forget the pauses that are over (each chat's is short)
            self._paused = {k: u for k, u in self._paused.items() if u > now}
        self._paused[chat] = until

    def held(self, retry: Retry) -> None:
        """A row was given back; until that is written its chat holds later rows back."""
        self._unrecorded[retry.chat] = self._unrecorded.get(retry.chat, 0) + 1

    def written(self, retry: Retry) -> None:
        """A row given back is written: the database now holds its chat's later rows back."""
        chat = retry.chat
        if self.claiming:
            self._written_during_claim.setdefault(chat, set()).add(retry.row_id)
        left = self._unrecorded[chat] - 1
        if left:
            self._unrecorded[chat] = left
        else:
            del self._unrecorded[chat]

    def paused(self, chat: ChatKey) -> datetime | None:
        """Until when the chat's lane is paused (if it is, or was and nothing has asked since)."""
        return self._paused.get(chat)
