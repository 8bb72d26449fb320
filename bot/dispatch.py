"""The dispatcher: one inbound message → one transaction.

dedupe on (channel, external id) → load user and state (locked) → choose the language → route to
the flow → commit state, domain rows, audit events and the outgoing messages (outbox rows) in ONE
transaction → wake the outbox sender. Two messages from one person never interleave: an
in-process lock per person, and the state row lock (``FOR UPDATE``) across instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from storage import Database, Repo

from .clock import Clock, SystemClock
from .flow import Router, Turn
from .i18n import Translator
from .language import choose_language
from .notify import Notifier, Renderer
from .settings import Settings
from .types import Inbound, Kind, Reply

log = logging.getLogger(__name__)
TURN_ATTEMPTS = 3


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


class Dispatcher:
    def __init__(self, db: Database, router: Router, settings: Settings, *, clock: Clock | None = None, renderers: dict[str, Renderer] | None = None) -> None:
        self.db = db
        self.router = router
        self.settings = settings
        self.clock = clock or SystemClock()
        self.renderers: dict[str, Renderer] = dict(renderers or {})
        self.notifier = Notifier(self.renderers, languages=settings.languages)  # shares the dict
        self.on_commit: list[Callable[[], None]] = []
        self._locks = _KeyedLocks()
        # test hook for the crash test: die right after the commit, before any delivery
        self._crash_after_commit = os.environ.get("KANAL_FAILPOINT") == "after-commit"

    async def handle(self, inbound: Inbound) -> Outcome:
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
                    log.error("database unavailable for %s message %s: %s", inbound.channel, inbound.external_id, type(exc).__name__)
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
            repo = Repo(uow.session)
            now = self.clock.now()
            user = await repo.get_or_create_user(inbound.channel, inbound.user_key, now, display_name=inbound.display_name, username=inbound.username)
            # dedupe inside the same transaction: a duplicate rolls back everything, user row included
            if await repo.record_inbound(inbound.channel, inbound.external_id, now, user.id) is None:
                log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
                return Outcome(handled=False)
            if inbound.display_name and user.display_name != inbound.display_name:
                user.display_name = inbound.display_name
            if inbound.username and user.username != inbound.username:
                user.username = inbound.username
            if inbound.contact and inbound.contact.phone:
                user.phone = inbound.contact.phone
            user.last_inbound_at = now
            state = await repo.load_state(user.id, now)
            free_text = inbound.text if inbound.kind is Kind.TEXT and inbound.command is None else None
            lang, detected = choose_language(
                allowed=self.settings.languages,
                explicit=user.language if user.language_explicit else None,
                text=free_text, stored=user.language, hint=inbound.language_hint,
            )
            if detected or user.language is None:
                user.language = lang
            turn = Turn(inbound=inbound, user=user, state=state, repo=repo, now=now, settings=self.settings, lang=lang)
            await self.router.route(turn)
            if not turn.replies:
                log.warning("flow produced no reply for %s message %s", inbound.channel, inbound.external_id)
            count = await self._enqueue(repo, turn)
            self._after_commit(uow)
            await uow.commit()
            if self._crash_after_commit:
                os._exit(137)
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
            count += self.enqueue_reply(repo, channel=channel, address=address, user_id=user_id, reply=reply, now=turn.now)
        return count

    def enqueue_reply(self, repo: Repo, *, channel: str, address: str, user_id: int | None, reply: Reply, now) -> int:
        """Render ``reply`` for its channel and add the outbox rows (see :class:`bot.notify.Notifier`)."""
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
                t = Translator(user.language if user.language in self.settings.languages else self.settings.default_language)
                reply = Reply(t("Maaf, terjadi gangguan di sistem kami dan pesan Anda belum bisa diproses. Silakan coba lagi sebentar lagi, atau ketik /menu."))
                count = self.enqueue_reply(repo, channel=inbound.channel, address=inbound.user_key, user_id=user.id, reply=reply, now=now)
                repo.audit(at=now, action="turn_failed", actor_user_id=user.id, subject_type="inbound", subject_id=inbound.external_id)
                self._after_commit(uow)
                await uow.commit()
                return Outcome(handled=True, user_id=user.id, replies=count)
        except Exception:
            log.exception("could not record the failed turn %s/%s", inbound.channel, inbound.external_id)
            raise DatabaseUnavailable("apology not stored") from None
