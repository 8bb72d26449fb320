"""Where a person's data lives, and how it goes: the one place `/hapusdata` and the retention job
erase a person through (UU PDP 27/2022).

A person's data, table by table, and what erasure does with it:

- ``users``: the row stays (statistics point at it) without chat id, name, username, phone,
  consent or role; ``external_id`` becomes ``erased:<id>``.
- ``conversation_states``: deleted. ``respondent_profiles`` (the SKM profile asked once): deleted.
- ``complaints`` they filed: detached (no reporter), address, coordinates and text removed (text
  replaced by a marker); their ``complaint_photos`` and ``complaint_voices`` deleted (platform
  file references; a photo uploaded in the web chat is a file, deleted after the commit unless
  another row still names the same bytes: ``release_media``); the text of their history events
  removed, the reporter's id taken off events and audit rows of their actions; their complaints'
  ``routing_examples`` (the text staff routed) deleted, and every ``routing_models`` row with them
  (a model may have learnt from the text; the ``routing_retrain`` job trains a new one from what is
  left; meanwhile the keyword router routes alone). Examples imported from the region's history
  (``kanal routing train``, no complaint) are linked to no person here and stay (the Pemda's
  export is its own data, cleaned by the Pemda before it is loaded). Number, OPD, topic, class,
  state, dates, rating stay: the statistics. Their ``lapor_queue`` rows (SP4N-LAPOR! calls carrying
  the text or an answer to it): the ones not sent yet are deleted, the sent ones lose their payload
  (``LaporRepo.forget_complaints``); the ``lapor_links`` row (a TrackingID, no person) stays.
- ``survey_responses``: kept (the SKM answers, anonymous through the erased users row).
- ``complaint_followers`` (complaints they followed instead of filing again): deleted.
- ``forum_subscriptions`` deleted; ``forum_inputs`` kept without sender; registrations for forums
  still to come cancelled (past ones stay as attendance counts, pointing at the erased row).
- ``outbox``: every row to them (any status) deleted — a row being sent right now is scrubbed
  instead (its send is under way); rows to staff that name them (their name, username, phone,
  chat id, an address they typed), one of their complaint numbers or the file reference of one of
  their complaints' photos or voice notes are rewritten to
  :data:`ERASED_TEXT` (pending ones are deleted). The web chat replays only what is in the outbox,
  so a reload shows nothing of the erased conversation.
- ``audit_events`` whose detail names them: detail rewritten.
- ``web_push_subscriptions`` of their web chat identity: deleted.
- ``sms_numbers`` (an SMS person's number behind their hashed key): marked erased, deleted once the
  goodbye is sent (at the latest an hour later, by the hourly ``dedupe_prune`` job); their ``sms_usage`` rows
  deleted. Their number (+62…, 62…, 08…) is searched for like their address.
- ``inbound_messages`` (dedupe): their rows lose ``user_id``; rows whose key carries their
  address are deleted. ``webhook_inbox``: bodies not processed yet that carry their address are
  deleted (processed ones are gone already).

Tables the erasure does not know are caught by ``tests/faults/test_erasure.py``, which scans every
column of every table for the person's identifiers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Text, and_, case, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.follower_repo import FollowerRepo
from storage.lapor_repo import LaporRepo
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    ComplaintVoice,
    ConversationState,
    Forum,
    ForumInput,
    ForumRsvp,
    ForumSubscription,
    InboundMessage,
    OutboxMessage,
    RespondentProfile,
    User,
    WebhookInbox,
    WebPushSubscription,
)
from storage.routing_repo import RoutingRepo
from storage.sms_repo import SmsRepo
from storage.unit_state import PendingWrites, release_media

#: what replaces a text that named an erased person (staff messages, audit details, complaints)
ERASED_TEXT = "(data pribadi telah dihapus)"
#: ``session.info`` key: this transaction erased someone. On SQLite the database rewrites its file
#: (``VACUUM``) after the commit: ``secure_delete`` zeroes what is deleted, but SQLite's page
#: rebuilds can leave an older copy of a row in a page's unused space (seen in
#: ``tests/faults/test_erasure.py``); only a rewrite of the file removes those for certain.
REWRITE_FILE = "kanal_rewrite_file"

#: the payload a rewritten outbox row keeps
ERASED_PAYLOAD = {"text": ERASED_TEXT, "erased": True}
#: audit actions whose actor is the reporter (their id goes with the complaint's identity)
CITIZEN_AUDIT_ACTIONS = (
    "complaint_filed",
    "complaint_rate_good",
    "complaint_rate_bad",
    "complaint_reclaimed",
    "complaint_fixed_confirmed",
    "complaint_reopen_not_fixed",
)
#: shorter strings are not searched for in other people's messages (they would match everything)
MIN_NEEDLE = 3


def needles_of(user: User, complaints: Iterable[Complaint]) -> set[str]:
    """The strings that identify ``user`` in a text: chat id / phone, name, username, phone,
    the numbers and addresses of their complaints."""
    found = {user.external_id, user.display_name, user.username, user.phone}
    if user.username:
        found.add("@" + user.username)
    for c in complaints:
        found.update((c.number, c.address))
    out: set[str] = set()
    for s in found:
        if s and len(s.strip()) >= MIN_NEEDLE and not s.startswith("erased:"):
            s = s.strip()
            out.update((s, html.escape(s, quote=False), html.escape(s)))  # Telegram texts are HTML
    return out


def _json_fragment(s: str) -> str:
    """``s`` as it appears inside a JSON document written by the database layer (orjson)."""
    return orjson.dumps(s).decode()[1:-1]


def _mentions(document: Any, needles: Iterable[str]) -> bool:
    raw = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode()
    return any(_json_fragment(n) in raw for n in needles)


class PersonalData:
    """The erasure of people (``uow.personal``)."""

    def __init__(self, session: AsyncSession, pending: PendingWrites) -> None:
        self.session = session
        self.pending = pending

    async def erase(self, users: Sequence[User], now: datetime, *, marker: str = ERASED_TEXT) -> int:
        """Erase every personal datum of ``users`` (see the module docstring); statistics stay.
        This transaction's own outbox and audit rows are included."""
        users = [u for u in users if u.erased_at is None]
        if not users:
            return 0
        await self.pending.write()
        self.session.info[REWRITE_FILE] = True  # SQLite: the file is rewritten after the commit
        ids = [u.id for u in users]
        complaints = (
            (await self.session.execute(select(Complaint).where(Complaint.citizen_user_id.in_(ids)))).scalars().all()
        )
        needles: set[str] = set()
        for u in users:
            needles |= needles_of(u, [c for c in complaints if c.citizen_user_id == u.id])
        needles |= await self._media_refs([c.id for c in complaints])
        numbers = await self._sms_numbers(users, now)
        needles |= numbers
        await self._complaints(complaints, now, marker)
        await self._outbox(users, needles)
        await self._audit(needles)
        await self._inbound(users)
        await self._inbox(users, numbers)
        await self._push(users)
        await self._forum(ids, now)
        await FollowerRepo(self.session).forget_users(ids)
        for model in (ConversationState, RespondentProfile):
            await self.session.execute(
                delete(model).where(model.user_id.in_(ids)).execution_options(synchronize_session=False)
            )
        for u in users:
            u.external_id = f"erased:{u.id}"
            u.display_name = u.username = u.phone = None
            u.consent_at = None
            u.role = "citizen"
            u.opd_code = None
            u.erased_at = now
        return len(users)

    async def _media_refs(self, complaint_ids: list[int]) -> set[str]:
        """The platform file references of these complaints' photos and voice notes: a message to
        staff that carries one (a voice note sent on as audio, a photo shown by /lihat) names the
        person as surely as their name does (a voice is theirs)."""
        refs: set[str] = set()
        for media in (ComplaintPhoto, ComplaintVoice) if complaint_ids else ():
            stmt = select(media.file_ref).where(media.complaint_id.in_(complaint_ids))
            refs.update(r for r in (await self.session.execute(stmt)).scalars() if r and len(r) >= MIN_NEEDLE)
        return refs

    async def _complaints(self, complaints: Sequence[Complaint], now: datetime, marker: str) -> None:
        if not complaints:
            return
        ids = [c.id for c in complaints]
        for c in complaints:
            c.citizen_user_id = None
            c.address = c.latitude = c.longitude = None
            c.text = marker
            c.pin_hash = None  # nobody reclaims an erased report
            c.anonymised_at = c.anonymised_at or now
        await self.session.flush()
        for media in (ComplaintPhoto, ComplaintVoice):
            deleted = await self.session.execute(
                delete(media)
                .where(media.complaint_id.in_(ids))
                .returning(media.file_ref)
                .execution_options(synchronize_session=False)
            )
            release_media(self.session, deleted.scalars().all())
        await RoutingRepo(self.session).forget_complaints(ids)
        await LaporRepo(self.session).forget_complaints(ids)
        await self.session.execute(
            update(ComplaintEvent)
            .where(ComplaintEvent.complaint_id.in_(ids))
            .values(
                text=None,
                actor_user_id=case((ComplaintEvent.actor_role == "citizen", None), else_=ComplaintEvent.actor_user_id),
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(AuditEvent)
            .where(
                AuditEvent.subject_type == "complaint",
                AuditEvent.subject_id.in_([c.number for c in complaints if c.number]),
                AuditEvent.action.in_(CITIZEN_AUDIT_ACTIONS),
            )
            .values(actor_user_id=None)
            .execution_options(synchronize_session=False)
        )

    async def _outbox(self, users: Sequence[User], needles: set[str]) -> None:
        o = OutboxMessage
        theirs = or_(
            o.user_id.in_([u.id for u in users]),
            *(and_(o.channel == u.channel, o.address == u.external_id) for u in users),
        )
        rows = (await self.session.execute(select(o.id, o.status).where(theirs))).all()
        await self._drop_or_scrub(rows, scrub_address=True)
        if not needles:
            return
        as_text = cast(o.payload, Text)
        like = or_(*(as_text.contains(_json_fragment(n), autoescape=True) for n in needles))
        candidates = (await self.session.execute(select(o.id, o.status, o.payload).where(like))).all()
        hits = [(i, s) for i, s, payload in candidates if _mentions(payload, needles)]
        await self._drop_or_scrub(hits, scrub_address=False)

    async def _drop_or_scrub(self, rows: Sequence[Any], *, scrub_address: bool) -> None:
        """Pending rows are deleted (never sent now); rows already sent, failed or being sent keep
        their delivery bookkeeping with the payload rewritten (and the address, for the person's own)."""
        o = OutboxMessage
        drop = [i for i, s in rows if s == "pending" or (scrub_address and s != "sending")]
        dropped = set(drop)
        keep = [i for i, _s in rows if i not in dropped]
        if drop:
            await self.session.execute(delete(o).where(o.id.in_(drop)).execution_options(synchronize_session=False))
        if keep:
            values: dict[str, Any] = {"payload": ERASED_PAYLOAD, "scrubbed": True}
            if scrub_address:
                values["address"] = "erased"
            await self.session.execute(
                update(o).where(o.id.in_(keep)).values(**values).execution_options(synchronize_session=False)
            )

    async def _audit(self, needles: set[str]) -> None:
        if not needles:
            return
        a = AuditEvent
        as_text = cast(a.detail, Text)
        like = or_(*(as_text.contains(_json_fragment(n), autoescape=True) for n in needles))
        rows = (await self.session.execute(select(a.id, a.detail).where(like))).all()
        hits = [i for i, detail in rows if _mentions(detail, needles)]
        if hits:
            await self.session.execute(
                update(a)
                .where(a.id.in_(hits))
                .values(detail={"note": ERASED_TEXT})
                .execution_options(synchronize_session=False)
            )

    async def _inbound(self, users: Sequence[User]) -> None:
        m = InboundMessage
        for u in users:
            carries = and_(m.channel == u.channel, m.external_id.contains(u.external_id, autoescape=True))
            await self.session.execute(
                delete(m)
                .where(carries, or_(m.user_id == u.id, m.user_id.is_(None)))
                .execution_options(synchronize_session=False)
            )
        await self.session.execute(
            update(m)
            .where(m.user_id.in_([u.id for u in users]))
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )

    async def _push(self, users: Sequence[User]) -> None:
        """Web Push subscriptions of their web chat identities: deleted (a closed page is never
        notified again)."""
        web = [u.external_id for u in users if u.channel == "web"]
        if web:
            await self.session.execute(delete(WebPushSubscription).where(WebPushSubscription.address.in_(web)))

    async def _sms_numbers(self, users: Sequence[User], now: datetime) -> set[str]:
        """SMS people: their phone numbers (as the gateways write them: +62…, 62…, 08…) to search
        for; the numbers are marked erased (gone once the goodbye is sent) and their usage rows go."""
        keys = [u.external_id for u in users if u.channel == "sms"]
        if not keys:
            return set()
        sms = SmsRepo(self.session)
        found: set[str] = set()
        for number in (await sms.numbers_of(keys)).values():
            digits = number.lstrip("+")
            found |= {number, digits, "+" + digits}
            if digits.startswith("62"):
                found.add("0" + digits[2:])
        await sms.mark_erased(keys, now)
        return {n for n in found if len(n) >= MIN_NEEDLE}

    async def _inbox(self, users: Sequence[User], numbers: Iterable[str] = ()) -> None:
        """Webhook bodies not processed yet that carry their address or (SMS) their number (the
        inbox holds a body only until its messages are turns, so it is small): deleted with what
        they say."""
        addresses = [u.external_id.encode() for u in users if len(u.external_id) >= MIN_NEEDLE]
        addresses += [n.encode() for n in numbers]
        if not addresses:
            return
        rows = (await self.session.execute(select(WebhookInbox.id, WebhookInbox.body))).all()
        doomed = [i for i, body in rows if any(a in bytes(body) for a in addresses)]
        if doomed:
            await self.session.execute(
                delete(WebhookInbox).where(WebhookInbox.id.in_(doomed)).execution_options(synchronize_session=False)
            )

    async def _forum(self, ids: list[int], now: datetime) -> None:
        """Subscriptions end (consent withdrawn); input stays without its sender; registrations
        for forums still to come are cancelled so the seat is free again."""
        s = self.session
        await s.execute(
            delete(ForumSubscription)
            .where(ForumSubscription.user_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        await s.execute(
            update(ForumInput)
            .where(ForumInput.user_id.in_(ids))
            .values(user_id=None)
            .execution_options(synchronize_session=False)
        )
        upcoming = select(Forum.id).where(Forum.starts_at > now)
        await s.execute(
            update(ForumRsvp)
            .where(ForumRsvp.user_id.in_(ids), ForumRsvp.status == "registered", ForumRsvp.forum_id.in_(upcoming))
            .values(status="cancelled", cancelled_at=now)
            .execution_options(synchronize_session=False)
        )

    # ---- retention ------------------------------------------------------------------------
    async def inactive_citizens(self, bound: datetime, *, limit: int) -> list[User]:
        """Citizens not erased, silent since before ``bound``, with no complaint still linked to
        them (retention anonymised their closed ones; an open one keeps them): erased by retention."""
        last = User.last_inbound_at
        linked = select(Complaint.id).where(Complaint.citizen_user_id == User.id).exists()
        stmt = (
            select(User)
            .where(
                User.erased_at.is_(None),
                User.role == "citizen",
                or_(last < bound, and_(last.is_(None), User.created_at < bound)),
                ~linked,
            )
            .order_by(User.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    # ---- the outbox horizon ---------------------------------------------------------------
    async def prune_outbox(self, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` sent or failed outbox rows older than ``before``; the count."""
        o = OutboxMessage
        stmt = (
            select(o.id)
            .where(o.status.in_(("sent", "failed")), o.next_attempt_at < before, o.created_at < before)
            .order_by(o.id)
            .limit(limit)
        )
        ids = list((await self.session.execute(stmt)).scalars().all())
        if ids:
            await self.session.execute(delete(o).where(o.id.in_(ids)).execution_options(synchronize_session=False))
        return len(ids)
