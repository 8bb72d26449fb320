"""``Repo``: one object with the methods of the core repositories, for the tests and benchmarks
written before they were split by table group (the application itself no longer uses it). Each
method is the split repository's own (same name, same signature): users and conversation state
(:mod:`storage.user_repo`), inbound dedupe (:mod:`storage.inbound_repo`), outbox
(:mod:`storage.outbox_repo`), audit (:mod:`storage.audit_repo`), region (:mod:`storage.region_repo`)
and invites (:mod:`storage.invite_repo`). New code uses those through the unit of work
(``uow.users``, ``uow.outbox``, ...).

All methods take aware UTC datetimes (``now``) from the caller: time is injected, never read here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit_repo import AuditRepo
from storage.inbound_repo import InboundRepo
from storage.invite_repo import InviteRepo, hash_code
from storage.outbox_repo import ClaimedMessage, DeliveryRecorded, OutboxRepo
from storage.region_repo import RegionRepo
from storage.unit_state import (
    PendingWrites,
    ReadCache,
    WriteResult,
    defer_write,
    in_group_commit,
    pending_writes_of,
    read_cache_of,
    write_deferred,
)
from storage.user_repo import UserRepo

__all__ = [
    "ClaimedMessage",
    "DeliveryRecorded",
    "Repo",
    "WriteResult",
    "defer_write",
    "hash_code",
    "in_group_commit",
    "write_deferred",
]


class _Delegate:
    """A facade attribute that is the method ``method`` of the split repository in attribute ``part``."""

    def __init__(self, part: str, method: Callable[..., Any]) -> None:
        self.part = part
        self.name = method.__name__
        functools.update_wrapper(self, method)

    def __call__(self, obj: Any, *args: Any, **kwargs: Any) -> Any:  # called on the class: Repo.x(repo, ...)
        return self.__get__(obj)(*args, **kwargs)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)


class Repo:
    """The core repositories of one unit of work behind one object (``uow.core``, ``Repo(session)``)."""

    #: how far a message got (see :meth:`OutboxRepo.record_delivery_status`)
    DELIVERY_RANK = OutboxRepo.DELIVERY_RANK

    def __init__(
        self, session: AsyncSession, *, pending: PendingWrites | None = None, reads: ReadCache | None = None
    ) -> None:
        self.session = session
        self.dialect = session.bind.dialect.name
        self.pending = pending if pending is not None else pending_writes_of(session)
        reads = reads if reads is not None else read_cache_of(session)
        self._users = UserRepo(session, self.pending)
        self._inbound = InboundRepo(session)
        self._outbox = OutboxRepo(session, self.pending)
        self._audit = AuditRepo(session, self.pending)
        self._region = RegionRepo(session, reads)
        self._invites = InviteRepo(session)

    def begin_group_commit(self) -> None:
        """Mark this transaction as a group commit: some single-row writes (an SKM answer) then
        wait for the commit's executemany; the commit or rollback clears the mark."""
        self.pending.group_commit = True

    # users and conversation state
    get_or_create_user = _Delegate("_users", UserRepo.get_or_create_user)
    get_user = _Delegate("_users", UserRepo.get_user)
    users_with_role = _Delegate("_users", UserRepo.users_with_role)
    last_inbound_at = _Delegate("_users", UserRepo.last_inbound_at)
    erase_user = _Delegate("_users", UserRepo.erase_user)
    people = _Delegate("_users", UserRepo.people)
    load_state = _Delegate("_users", UserRepo.load_state)
    take_state_change = _Delegate("_users", UserRepo.take_state_change)
    write_states = _Delegate("_users", UserRepo.write_states)
    # inbound dedupe
    record_inbound = _Delegate("_inbound", InboundRepo.record_inbound)
    record_inbound_many = _Delegate("_inbound", InboundRepo.record_inbound_many)
    prune_inbound = _Delegate("_inbound", InboundRepo.prune_inbound)
    # outbox
    enqueue = _Delegate("_outbox", OutboxRepo.enqueue)
    claim_due = _Delegate("_outbox", OutboxRepo.claim_due)
    mark_sent = _Delegate("_outbox", OutboxRepo.mark_sent)
    mark_sent_many = _Delegate("_outbox", OutboxRepo.mark_sent_many)
    mark_retry = _Delegate("_outbox", OutboxRepo.mark_retry)
    mark_failed = _Delegate("_outbox", OutboxRepo.mark_failed)
    reschedule_address = _Delegate("_outbox", OutboxRepo.reschedule_address)
    outbox_backlog = _Delegate("_outbox", OutboxRepo.outbox_backlog)
    sent_since = _Delegate("_outbox", OutboxRepo.sent_since)
    record_delivery_status = _Delegate("_outbox", OutboxRepo.record_delivery_status)
    last_delivered_payload = _Delegate("_outbox", OutboxRepo.last_delivered_payload)
    # audit
    audit = _Delegate("_audit", AuditRepo.audit)
    audit_events = _Delegate("_audit", AuditRepo.audit_events)
    # invites
    create_invite = _Delegate("_invites", InviteRepo.create_invite)
    redeem_invite = _Delegate("_invites", InviteRepo.redeem_invite)
    # region
    region = _Delegate("_region", RegionRepo.region)
    opds = _Delegate("_region", RegionRepo.opds)
    get_opd = _Delegate("_region", RegionRepo.get_opd)
    units = _Delegate("_region", RegionRepo.units)
    get_unit = _Delegate("_region", RegionRepo.get_unit)
    services = _Delegate("_region", RegionRepo.services)
    replace_region = _Delegate("_region", RegionRepo.replace_region)
