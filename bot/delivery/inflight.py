"""How many claimed rows the sender holds, and when it should claim more.

At most ``max_rows`` claimed rows are in flight (queued in lanes or being sent), and of them at
most ``max_bulk`` that are not replies, so a broadcast is claimed a little at a time and a reply
never queues behind all of it. A claim cut short by either bound leaves the sender *starved*:
lanes wake the claim loop again once half the room is free.
"""

from __future__ import annotations


class InFlight:
    """Claimed rows in flight, the bulk (non-reply) ones among them, and whether to claim again."""

    def __init__(self, max_rows: int, max_bulk: int) -> None:
        self.max_rows = max_rows
        self.max_bulk = max_bulk
        self.count = 0  # rows handed to lanes and not yet sent, failed or given back
        self.bulk: set[int] = set()  # claimed rows that are not replies
        self.starved = False  # the last claim was cut by max_rows: claim again when room frees
        self.starved_bulk = False  # ... or by max_bulk

    def new_round(self) -> int:
        """A claim round begins: how many rows it may claim (≤ 0: none)."""
        self.starved = self.starved_bulk = False
        return self.max_rows - self.count

    def claimed(self, room: int, got: int) -> None:
        """The round's claim, allowed ``room`` rows (≤ 0: none), took ``got``: a full batch, or no
        room at all, means more may be due."""
        self.starved = room <= 0 or got == room

    def bulk_room(self, room: int) -> int:
        """How many bulk rows a claim may take besides the replies it took (``room`` left)."""
        return min(room, self.max_bulk - len(self.bulk))

    def bulk_claimed(self, room: int, got: int) -> None:
        """A claim was allowed ``room`` bulk rows (≤ 0: asked for none) and took ``got``."""
        if room > 0:
            if got == room:
                self.starved_bulk = True  # more may be due: claim again when lanes free room
        else:
            self.starved_bulk = self.max_bulk <= len(self.bulk)

    def add_bulk(self, row_ids: list[int]) -> None:
        self.bulk.update(row_ids)

    def start(self) -> None:
        """A claimed row was handed to its lane."""
        self.count += 1

    def finish(self, row_id: int) -> None:
        """A row in a lane was sent, failed or given back."""
        self.count -= 1
        self.bulk.discard(row_id)

    def give_back(self, row_id: int) -> None:
        """A claimed row was given back before it reached a lane."""
        self.bulk.discard(row_id)

    def wants_claim(self) -> bool:
        """Refill when half the room is free, not at every finished lane: during a broadcast a
        claim per message cost as much CPU as the sends (``bench.fanout``)."""
        return (self.starved and self.count <= self.max_rows // 2) or (
            self.starved_bulk and len(self.bulk) <= self.max_bulk // 2
        )
