"""The dispatcher: one inbound message → one turn, committed atomically.

dedupe on (channel, external id) → load user and state (locked) → choose the language → route to
the flow → commit state, domain rows, audit events and the outgoing messages (outbox rows) in ONE
transaction → wake the outbox sender. Two messages from one person never interleave: an
in-process lock per person, and the state row lock (``FOR UPDATE``) across instances.

Turns that arrive together are grouped into one transaction by :mod:`bot.engine.group_commit`
(its contract is there); a lone turn, and every turn of a batch that failed, runs here alone with
its own retries and apology.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.clock import Clock, SystemClock
from bot.domain.i18n import Translator
from bot.domain.media_links import MediaLinks
from bot.domain.messages import Inbound, Kind, Reply, merge_replies, without_invisible
from bot.engine.dedupe import record_new
from bot.engine.group_commit import GroupCommit
from bot.engine.language import choose_language
from bot.engine.notify import Notifier, Renderer
from bot.engine.router import Router
from bot.engine.turn import DatabaseUnavailable, Outcome, Turn
from bot.engine.typed_input import remember, understand
from bot.settings import Settings
from storage import Database, UnitOfWork
from storage.models import ConversationState, User
from storage.outbox_repo import OutboxRepo

log = logging.getLogger(__name__)
TURN_ATTEMPTS = 3
#: ``users.last_inbound_at`` is rewritten only when it is at least this old: a person in a flow
#: writes every few seconds, and one UPDATE of their user row per turn was a fifth of a flow turn's
#: statements. It only ever lags (by less than this), so WhatsApp's 24-hour window, the one reader,
#: closes early rather than late (it already keeps a 10-minute margin).
LAST_INBOUND_GRANULARITY = timedelta(seconds=60)

__all__ = ["DatabaseUnavailable", "Dispatcher", "Outcome", "storable"]


class _KeyedLocks:
    """asyncio locks per key that disappear when nobody holds or waits for them (memory stays flat)."""

    def __init__(self) -> None:
        self._locks: dict[Any, list] = {}  # key -> [lock, holders + waiters]

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Any):
        entry = self._locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]


def _clean(value: str | None, limit: int | None = None) -> str | None:
    if value is None or not isinstance(value, str):
        return value
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:limit] if limit else value


def _typed(value: str | None) -> str | None:
    """What a person typed, without invisible characters (and NUL), or None when nothing is left
    of a text that had only those."""
    if value is None or not isinstance(value, str):
        return value
    return without_invisible(value)


def _refresh_user(user: User, inbound: Inbound, now: datetime) -> None:
    """What the message says about its sender: name, username, phone (a shared contact), last seen.
    Name, username and phone only once the person has consented (also right after the turn that
    gave consent): a person who refuses, or erased their data, leaves no name behind."""
    if user.last_inbound_at is None or now - user.last_inbound_at >= LAST_INBOUND_GRANULARITY:
        user.last_inbound_at = now
    if user.consent_at is None:
        return
    if inbound.display_name and user.display_name != inbound.display_name:
        user.display_name = inbound.display_name
    if inbound.username and user.username != inbound.username:
        user.username = inbound.username
    if inbound.contact and inbound.contact.phone:
        user.phone = inbound.contact.phone


def storable(inbound: Inbound) -> Inbound:
    """``inbound`` without NUL characters, what was typed without invisible characters (zero-width
    spaces, direction overrides: see ``without_invisible``), names cut and over-long ids hashed to
    their column sizes.

    PostgreSQL text and JSON cannot hold U+0000 (SQLite can): a NUL anywhere a person typed (a web
    chat frame, a profile name) would fail every turn of that person on PostgreSQL only.
    """
    fields: dict[str, Any] = {}
    if inbound.text is not None and not inbound.text.isascii():
        fields["text"] = _typed(inbound.text)
    if inbound.photo is not None and inbound.photo.caption and not inbound.photo.caption.isascii():
        fields["photo"] = replace(inbound.photo, caption=_typed(inbound.photo.caption))
    for name in (
        "choice",
        "unsupported_type",
        "external_id",
        "user_key",
    ):  # ids too: a web chat client picks its own
        value = getattr(inbound, name)
        if value is not None and "\x00" in value:
            fields[name] = _clean(value)
    for name in (
        "external_id",
        "user_key",
    ):  # longer than their columns (128): a stable stand-in, so dedupe still works
        value = fields.get(name, getattr(inbound, name))
        if len(value) > 128:
            fields[name] = "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    if inbound.display_name is not None and (
        "\x00" in inbound.display_name or len(inbound.display_name) > 200 or not inbound.display_name.isascii()
    ):
        fields["display_name"] = _clean(_typed(inbound.display_name), 200) or None
    if inbound.username is not None and ("\x00" in inbound.username or len(inbound.username) > 100):
        fields["username"] = _clean(inbound.username, 100)
    if "text" not in fields and inbound.text is not None and "\x00" in inbound.text:
        fields["text"] = _clean(inbound.text)
    photo = fields.get("photo", inbound.photo)
    if photo is not None and photo.caption and "\x00" in photo.caption:
        fields["photo"] = replace(photo, caption=_clean(photo.caption))
    if inbound.location is not None and inbound.location.address and "\x00" in inbound.location.address:
        fields["location"] = replace(inbound.location, address=_clean(inbound.location.address))
    if inbound.contact is not None and "\x00" in f"{inbound.contact.phone}{inbound.contact.name or ''}":
        fields["contact"] = replace(
            inbound.contact, phone=_clean(inbound.contact.phone) or "", name=_clean(inbound.contact.name)
        )
    return replace(inbound, **fields) if fields else inbound


class Dispatcher:
    """Runs inbound messages as turns: per-person order, one transaction each (or one per group
    commit), retries of transient database errors, an apology when a flow fails."""

    #: test hook, None in production: called as a method (``hook(dispatcher)``) right after every
    #: commit, before anything is delivered (the crash test's bot process dies there)
    after_commit_hook: ClassVar[Callable[[Dispatcher], None] | None] = None

    def __init__(
        self,
        db: Database,
        router: Router,
        settings: Settings,
        *,
        clock: Clock | None = None,
        renderers: dict[str, Renderer] | None = None,
    ) -> None:
        self.db = db
        self.router = router
        self.settings = settings
        self.clock = clock or SystemClock()
        self.renderers: dict[str, Renderer] = dict(renderers or {})
        self.notifier = Notifier(self.renderers, languages=settings.languages)  # shares the dict
        #: whether a page of (channel, address) is open here (set by the app; see Turn.presence)
        self.presence: Callable[[str, str], bool | None] | None = None
        self.on_commit: list[Callable[[], None]] = []
        #: signs staff links to complaint media (set by the app); flows ask ``turn.media_link``
        self.media_links: MediaLinks | None = None
        self._locks = _KeyedLocks()
        self.stats = {"turns": 0, "batches": 0, "batch_fallbacks": 0}
        self.dedupe_horizon = timedelta(hours=settings.dedupe_hours)
        # SQLite has one writer: a second transaction would only queue for it. PostgreSQL runs a
        # second batch's Python work while the first waits for the server.
        self.group_commit = GroupCommit(
            db,
            self.clock,
            batch_size=max(1, settings.turn_batch),
            workers=settings.turn_workers or (1 if db.dialect == "sqlite" else 2),
            stats=self.stats,
            run_alone=self._handle_alone,
            run_turn=self._turn_body,
            commit=self._commit,
            dedupe_horizon=self.dedupe_horizon,
        )

    async def handle(self, inbound: Inbound) -> Outcome:
        """Run the turn for ``inbound`` and return once it is committed (or raise
        :class:`DatabaseUnavailable`: then the channel must not acknowledge the message)."""
        inbound = storable(inbound)
        if self.group_commit.batch_size <= 1:
            return await self._handle_alone(inbound)
        return await self.group_commit.submit(inbound)

    async def close(self, timeout: float = 10.0) -> None:
        """Let the turns already taken in finish (they are committed or rolled back, never half)."""
        await self.group_commit.close(timeout)

    async def _handle_alone(self, inbound: Inbound) -> Outcome:
        async with self._locks.hold((inbound.channel, inbound.user_key)):
            for attempt in range(TURN_ATTEMPTS):
                try:
                    return await self._turn(inbound)
                except (OperationalError, StaleDataError, OSError) as exc:
                    # transient (busy database, lost connection, a concurrent writer): the turn
                    # rolled back as a whole, so running it again is safe
                    if attempt + 1 < TURN_ATTEMPTS:
                        await asyncio.sleep(0.05 * 4**attempt)
                        continue
                    log.error(
                        "database unavailable for %s message %s: %s",
                        inbound.channel,
                        inbound.external_id,
                        type(exc).__name__,
                    )
                    raise DatabaseUnavailable(type(exc).__name__) from exc
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        if attempt + 1 < TURN_ATTEMPTS:
                            continue
                        raise DatabaseUnavailable(type(exc).__name__) from exc
                    log.exception("database error on %s message %s", inbound.channel, inbound.external_id)
                    return await self._apologise(inbound)
                except Exception:
                    # the one place flows' unexpected errors end: logged with traceback, person told
                    log.exception("flow failed on %s message %s", inbound.channel, inbound.external_id)
                    return await self._apologise(inbound)
            raise AssertionError("unreachable")

    async def _turn(self, inbound: Inbound) -> Outcome:
        async with self.db.unit_of_work() as uow:
            outcome = await self._turn_body(uow, inbound)
            if not outcome.handled:
                return outcome  # a duplicate: roll back everything, user row included
            await self._commit(uow, 1)
            return outcome

    async def _commit(self, uow: UnitOfWork, turns: int) -> None:
        self._after_commit(uow)
        await uow.commit()
        self.stats["turns"] += turns
        if self.after_commit_hook is not None:
            self.after_commit_hook()

    async def _turn_body(
        self,
        uow: UnitOfWork,
        inbound: Inbound,
        *,
        user: User | None = None,
        state: ConversationState | None = None,
        states: list[dict] | None = None,
    ) -> Outcome:
        """One turn's reads and writes in the caller's transaction (not committed here). A group
        commit passes the ``user`` it read (and recorded the message of) and their locked ``state``,
        and ``states``, where the turn's changed state row goes instead of into the next flush."""
        now = self.clock.now()
        if user is None:
            user = await uow.users.get_or_create_user(inbound.channel, inbound.user_key, now)
            # dedupe inside the same transaction
            key = (inbound.channel, inbound.external_id)
            if key not in await record_new(uow, [(*key, user.id)], now, self.dedupe_horizon):
                log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
                return Outcome(handled=False)
        _refresh_user(user, inbound, now)
        role_before = (user.role, user.opd_code)
        if state is None:
            state = await uow.users.load_state(user.id, now)
        lang = self._language(user, inbound)
        understood = understand(inbound, state)
        turn = Turn(
            inbound=understood,
            user=user,
            state=state,
            uow=uow,
            now=now,
            settings=self.settings,
            lang=lang,
            media_links=self.media_links,
            presence=self.presence,
        )
        await self.router.route(turn)
        if user.erased_at is None:  # erasure deleted the state row
            remember(state, turn.replies)
        if user.consent_at is not None and user.erased_at is None and (user.display_name is None):
            _refresh_user(user, inbound, now)  # consent given in this turn: now the name is kept
        if not turn.replies:
            log.warning("flow produced no reply for %s message %s", inbound.channel, inbound.external_id)
        if inbound.echo is not None and user.erased_at is None:  # before the answers: replayed in order
            uow.outbox.record_echo(
                channel=inbound.channel,
                address=inbound.user_key,
                user_id=user.id,
                payload=echo_payload(inbound),
                now=now,
            )
        count = await self._enqueue(uow, turn)
        if states is not None and (row := uow.users.take_state_change(state)) is not None:
            states.append(row)
        changed = (user.role, user.opd_code) != role_before
        return Outcome(handled=True, user_id=user.id, replies=count, role_changed=changed)

    def _language(self, user: User, inbound: Inbound) -> str:
        """The language of this turn's answers; stored on the user when detected or first chosen."""
        free_text = inbound.text if inbound.kind is Kind.TEXT and inbound.command is None else None
        lang, detected = choose_language(
            allowed=self.settings.languages,
            explicit=user.language if user.language_explicit else None,
            text=free_text,
            stored=user.language,
            hint=inbound.language_hint,
        )
        if detected or user.language is None:
            user.language = lang
        return lang

    async def _enqueue(self, uow: UnitOfWork, turn: Turn) -> int:
        count = 0
        replies = turn.replies
        if turn.inbound.channel in self.notifier.merging:
            replies = merge_replies(replies)
        for reply in replies:
            if reply.to_user_id is None:  # the sender, addressed as they wrote (survives /hapusdata)
                channel, address, user_id = turn.inbound.channel, turn.inbound.user_key, turn.user.id
                lang = turn.lang
            else:
                target = await uow.users.get_user(reply.to_user_id)
                if target is None or target.erased_at is not None:
                    continue
                channel, address, user_id = target.channel, target.external_id, target.id
                lang = self.notifier.language_for(target)
            if "lang" not in reply.extra:  # a renderer's own words (e.g. WhatsApp's "Pilih") follow the reader
                reply = replace(reply, extra={**reply.extra, "lang": lang})
            count += self.enqueue_reply(
                uow.outbox, channel=channel, address=address, user_id=user_id, reply=reply, now=turn.now
            )
        return count

    def enqueue_reply(
        self, outbox: OutboxRepo, *, channel: str, address: str, user_id: int | None, reply: Reply, now
    ) -> int:
        """Render ``reply`` for its channel and add the outbox rows through ``outbox``; see
        :class:`bot.engine.notify.Notifier`."""
        return self.notifier.enqueue(outbox, channel=channel, address=address, user_id=user_id, reply=reply, now=now)

    def _after_commit(self, uow) -> None:
        for cb in self.on_commit:
            uow.after_commit(cb)

    async def _apologise(self, inbound: Inbound) -> Outcome:
        """After a failed turn: remember the message (no replay loop) and tell the person."""
        try:
            async with self.db.unit_of_work() as uow:
                now = self.clock.now()
                key = (inbound.channel, inbound.external_id)
                if key not in await record_new(uow, [(*key, None)], now, self.dedupe_horizon):
                    return Outcome(handled=False)
                user = await uow.users.get_or_create_user(inbound.channel, inbound.user_key, now)
                t = Translator(
                    user.language if user.language in self.settings.languages else self.settings.default_language
                )
                reply = Reply(
                    t(
                        "Maaf, terjadi gangguan di sistem kami dan pesan Anda belum bisa diproses. "
                        "Silakan coba lagi sebentar lagi, atau ketik /menu."
                    )
                )
                count = self.enqueue_reply(
                    uow.outbox, channel=inbound.channel, address=inbound.user_key, user_id=user.id, reply=reply, now=now
                )
                uow.audit.audit(
                    at=now,
                    action="turn_failed",
                    actor_user_id=user.id,
                    subject_type="inbound",
                    subject_id=inbound.external_id,
                )
                self._after_commit(uow)
                await uow.commit()
                return Outcome(handled=True, user_id=user.id, replies=count)
        except Exception:
            log.exception("could not record the failed turn %s/%s", inbound.channel, inbound.external_id)
            raise DatabaseUnavailable("apology not stored") from None


def echo_payload(inbound: Inbound) -> dict[str, Any]:
    """The outbox payload of a person's own message (:attr:`Inbound.echo`)."""
    echo = inbound.echo or {}
    return {
        "type": "message",
        "from": "user",
        "text": str(echo.get("text") or "").replace("\x00", "")[:4000],
        "cid": echo.get("cid"),
    }
