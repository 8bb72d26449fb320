"""The dispatcher: one inbound message → one turn, committed atomically.

dedupe on (channel, external id) → load user and state (locked) → choose the language → route to
the flow → commit state, domain rows, audit events and the outgoing messages (outbox rows) in ONE
transaction → wake the outbox sender. Two messages from one person never interleave: an
in-process lock per person, and the state row lock (``FOR UPDATE``) across instances.

Group commit: turns that arrive while a transaction is running wait in a queue; the next
transaction takes up to ``KANAL_TURN_BATCH`` of them, from different people, and runs them one
after another in ONE transaction (one commit, one writer on SQLite instead of many contending
for the lock). Nothing is acknowledged to the platform before its turn is committed. If any turn
of a batch fails, or the commit does, the whole batch is rolled back and every turn runs again
alone, with its own retries and apology: one person's bad turn never costs another person theirs.
A lone turn runs at once, so an idle bot answers with no added latency. On PostgreSQL two such
transactions run at once (``KANAL_TURN_WORKERS``), never with turns of the same person: one
batch's Python work goes on while the other waits for the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.clock import Clock, SystemClock
from bot.domain.i18n import Translator
from bot.domain.messages import Inbound, Kind, Reply
from bot.engine.language import choose_language
from bot.engine.notify import Notifier, Renderer
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.settings import Settings
from storage import Database, Repo, UnitOfWork
from storage.models import ConversationState, User

log = logging.getLogger(__name__)
TURN_ATTEMPTS = 3
#: ``users.last_inbound_at`` is rewritten only when it is at least this old: a person in a flow
#: writes every few seconds, and one UPDATE of their user row per turn was a fifth of a flow turn's
#: statements. It only ever lags (by less than this), so WhatsApp's 24-hour window, the one reader,
#: closes early rather than late (it already keeps a 10-minute margin).
LAST_INBOUND_GRANULARITY = timedelta(seconds=60)


class DatabaseUnavailable(Exception):
    """The turn could not be stored; the channel must not acknowledge it (the platform re-sends)."""


@dataclass
class Outcome:
    handled: bool  # False: a duplicate delivery, nothing done
    user_id: int | None = None
    replies: int = 0


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


def storable(inbound: Inbound) -> Inbound:
    """``inbound`` without NUL characters, names cut and over-long ids hashed to their column sizes.

    PostgreSQL text and JSON cannot hold U+0000 (SQLite can): a NUL anywhere a person typed (a web
    chat frame, a profile name) would fail every turn of that person on PostgreSQL only.
    """
    fields: dict[str, Any] = {}
    for name in (
        "text",
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
    if inbound.display_name is not None and ("\x00" in inbound.display_name or len(inbound.display_name) > 200):
        fields["display_name"] = _clean(inbound.display_name, 200)
    if inbound.username is not None and ("\x00" in inbound.username or len(inbound.username) > 100):
        fields["username"] = _clean(inbound.username, 100)
    if inbound.photo is not None and inbound.photo.caption and "\x00" in inbound.photo.caption:
        fields["photo"] = replace(inbound.photo, caption=_clean(inbound.photo.caption))
    if inbound.location is not None and inbound.location.address and "\x00" in inbound.location.address:
        fields["location"] = replace(inbound.location, address=_clean(inbound.location.address))
    if inbound.contact is not None and "\x00" in f"{inbound.contact.phone}{inbound.contact.name or ''}":
        fields["contact"] = replace(
            inbound.contact, phone=_clean(inbound.contact.phone) or "", name=_clean(inbound.contact.name)
        )
    return replace(inbound, **fields) if fields else inbound


class _Waiting:
    __slots__ = ("inbound", "future")

    def __init__(self, inbound: Inbound, future: asyncio.Future) -> None:
        self.inbound = inbound
        self.future = future


class Dispatcher:
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
        self.on_commit: list[Callable[[], None]] = []
        self._locks = _KeyedLocks()
        self.batch_size = max(1, settings.turn_batch)
        self._waiting: deque[_Waiting] = deque()
        # SQLite has one writer: a second transaction would only queue for it. PostgreSQL runs a
        # second batch's Python work while the first waits for the server.
        self.workers = settings.turn_workers or (1 if db.dialect == "sqlite" else 2)
        self._workers: set[asyncio.Task] = set()
        self._in_batch: set[tuple[str, str]] = set()  # people whose turn a running transaction holds
        self.stats = {"turns": 0, "batches": 0, "batch_fallbacks": 0}
        # test hook for the crash test: die right after the commit, before any delivery
        self._crash_after_commit = os.environ.get("KANAL_FAILPOINT") == "after-commit"

    async def handle(self, inbound: Inbound) -> Outcome:
        """Run the turn for ``inbound`` and return once it is committed (or raise
        :class:`DatabaseUnavailable`: then the channel must not acknowledge the message)."""
        inbound = storable(inbound)
        if self.batch_size <= 1:
            return await self._handle_alone(inbound)
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(inbound, future))
        if len(self._workers) < self.workers:
            worker = asyncio.create_task(self._work())
            self._workers.add(worker)
            # _work removes itself; this covers a worker cancelled before it ever ran
            worker.add_done_callback(self._workers.discard)
        return await future

    async def _work(self) -> None:
        """Take batches off the queue until it is empty (up to :attr:`workers` of these at a time,
        never two with turns of the same person)."""
        try:
            await self._take_batches()
        finally:
            # at once, not in a done callback: a turn handed in right after this worker saw the
            # queue empty must find it gone and start another
            self._workers.discard(asyncio.current_task())

    async def _take_batches(self) -> None:
        while self._waiting:
            batch = self._next_batch()
            if not batch:
                return  # what waits belongs to people another worker is serving: it goes on
            people = [(w.inbound.channel, w.inbound.user_key) for w in batch]
            self._in_batch.update(people)
            try:
                if len(batch) == 1:
                    await self._settle_alone(batch[0])
                else:
                    await self._run_batch(batch)
            except BaseException as exc:  # cancelled at shutdown: nobody waits forever
                for w in batch:
                    if not w.future.done():
                        w.future.set_exception(DatabaseUnavailable(type(exc).__name__))
                raise
            finally:
                self._in_batch.difference_update(people)

    async def close(self, timeout: float = 10.0) -> None:
        """Let the turns already taken in finish (they are committed or rolled back, never half)."""
        workers = [w for w in self._workers if not w.done()]
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=timeout)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)  # their failures went to their callers

    def _next_batch(self) -> list[_Waiting]:
        """Up to ``batch_size`` waiting turns of different people, in arrival order; a person's
        later messages stay queued, in order, for a later batch."""
        batch: list[_Waiting] = []
        people: set[tuple[str, str]] = set()
        later: list[_Waiting] = []
        while self._waiting and len(batch) < self.batch_size:
            w = self._waiting.popleft()
            if w.future.done():  # the caller gave up (shutdown)
                continue
            key = (w.inbound.channel, w.inbound.user_key)
            if key in people or key in self._in_batch:
                later.append(w)
            else:
                people.add(key)
                batch.append(w)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _settle_alone(self, w: _Waiting) -> None:
        try:
            outcome = await self._handle_alone(w.inbound)
        except Exception as exc:
            if not w.future.done():
                w.future.set_exception(exc)
        else:
            if not w.future.done():
                w.future.set_result(outcome)

    async def _run_batch(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await self._turns_in_one_transaction([w.inbound for w in batch])
        except Exception as exc:
            # one turn failed or the commit did: nothing of the batch is stored; each runs alone
            log.info(
                "group commit of %d turns rolled back (%s); running them one by one", len(batch), type(exc).__name__
            )
            self.stats["batch_fallbacks"] += 1
            for w in batch:
                await self._settle_alone(w)
            return
        self.stats["batches"] += 1
        for w, outcome in zip(batch, outcomes, strict=False):
            if not w.future.done():
                w.future.set_result(outcome)

    async def _turns_in_one_transaction(self, inbounds: list[Inbound]) -> list[Outcome]:
        async with self.db.unit_of_work() as uow:
            session = uow.session
            repo = uow.core
            repo.begin_group_commit()
            # the reads that start every turn, for the whole batch at once: the people who wrote
            # (users and locked state rows) and the dedupe rows of their messages
            people = await repo.people([(i.channel, i.user_key) for i in inbounds])
            known = [people.get((i.channel, i.user_key)) for i in inbounds]
            fresh = await repo.record_inbound_many(
                [(i.channel, i.external_id, k[0].id) for i, k in zip(inbounds, known, strict=False) if k is not None],
                self.clock.now(),
            )
            outcomes = []
            states: list[dict] = []  # the changed state rows, written together before the commit
            for n, (inbound, k) in enumerate(zip(inbounds, known, strict=False)):
                if k is None:  # first message of a new person: the turn creates the rows itself
                    outcomes.append(await self._turn_body(uow, inbound, states=states))
                elif (inbound.channel, inbound.external_id) not in fresh:
                    log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
                    outcomes.append(Outcome(handled=False))
                else:
                    outcomes.append(await self._turn_body(uow, inbound, user=k[0], state=k[1], states=states))
                # the next person's turn reads the database afresh, as if it ran alone after this
                # one (a flow may have changed rows with statements the identity map does not
                # see); only the rows read up front for the turns still to come stay loaded
                if session.new or session.dirty or session.deleted:
                    await session.flush()
                later = {id(obj) for k2 in known[n + 1 :] if k2 is not None for obj in k2 if obj is not None}
                for obj in list(session):
                    if id(obj) not in later:
                        session.expunge(obj)
            await repo.write_states(states)
            await self._commit(uow, len(inbounds))
            return outcomes

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

    async def _commit(self, uow, turns: int) -> None:
        self._after_commit(uow)
        await uow.commit()
        self.stats["turns"] += turns
        if self._crash_after_commit:
            os._exit(137)

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
        repo = uow.core
        now = self.clock.now()
        if user is None:
            user = await repo.get_or_create_user(
                inbound.channel, inbound.user_key, now, display_name=inbound.display_name, username=inbound.username
            )
            # dedupe inside the same transaction
            if await repo.record_inbound(inbound.channel, inbound.external_id, now, user.id) is None:
                log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
                return Outcome(handled=False)
        if inbound.display_name and user.display_name != inbound.display_name:
            user.display_name = inbound.display_name
        if inbound.username and user.username != inbound.username:
            user.username = inbound.username
        if inbound.contact and inbound.contact.phone:
            user.phone = inbound.contact.phone
        if user.last_inbound_at is None or now - user.last_inbound_at >= LAST_INBOUND_GRANULARITY:
            user.last_inbound_at = now
        if state is None:
            state = await repo.load_state(user.id, now)
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
        turn = Turn(inbound=inbound, user=user, state=state, uow=uow, now=now, settings=self.settings, lang=lang)
        await self.router.route(turn)
        if not turn.replies:
            log.warning("flow produced no reply for %s message %s", inbound.channel, inbound.external_id)
        count = await self._enqueue(repo, turn)
        if states is not None and (row := repo.take_state_change(state)) is not None:
            states.append(row)
        return Outcome(handled=True, user_id=user.id, replies=count)

    async def _enqueue(self, repo: Repo, turn: Turn) -> int:
        count = 0
        for reply in turn.replies:
            if reply.to_user_id is None:  # the sender, addressed as they wrote (survives /hapusdata)
                channel, address, user_id = turn.inbound.channel, turn.inbound.user_key, turn.user.id
                lang = turn.lang
            else:
                target = await repo.get_user(reply.to_user_id)
                if target is None or target.erased_at is not None:
                    continue
                channel, address, user_id = target.channel, target.external_id, target.id
                lang = self.notifier.language_for(target)
            if "lang" not in reply.extra:  # a renderer's own words (e.g. WhatsApp's "Pilih") follow the reader
                reply = replace(reply, extra={**reply.extra, "lang": lang})
            count += self.enqueue_reply(
                repo, channel=channel, address=address, user_id=user_id, reply=reply, now=turn.now
            )
        return count

    def enqueue_reply(self, repo: Repo, *, channel: str, address: str, user_id: int | None, reply: Reply, now) -> int:
        """Render ``reply`` for its channel and add the outbox rows (see :class:`bot.engine.notify.Notifier`)."""
        return self.notifier.enqueue(repo, channel=channel, address=address, user_id=user_id, reply=reply, now=now)

    def _after_commit(self, uow) -> None:
        for cb in self.on_commit:
            uow.after_commit(cb)

    async def _apologise(self, inbound: Inbound) -> Outcome:
        """After a failed turn: remember the message (no replay loop) and tell the person."""
        try:
            async with self.db.unit_of_work() as uow:
                repo = Repo(uow.session)
                now = self.clock.now()
                inbound_id = await repo.record_inbound(inbound.channel, inbound.external_id, now)
                if inbound_id is None:
                    return Outcome(handled=False)
                user = await repo.get_or_create_user(inbound.channel, inbound.user_key, now)
                t = Translator(
                    user.language if user.language in self.settings.languages else self.settings.default_language
                )
                reply = Reply(
                    t(
                        "Maaf, terjadi gangguan di sistem kami dan pesan Anda belum bisa diproses. Silakan coba lagi sebentar lagi, atau ketik /menu."
                    )
                )
                count = self.enqueue_reply(
                    repo, channel=inbound.channel, address=inbound.user_key, user_id=user.id, reply=reply, now=now
                )
                repo.audit(
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
