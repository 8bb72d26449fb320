"""What a flow sees of one turn (:class:`Turn`), and what became of the message (:class:`Outcome`).

Flows (``handlers/``) are channel-agnostic: they read an :class:`~bot.domain.messages.Inbound`, the user
and their conversation state, use repositories, and answer by adding :class:`~bot.domain.messages.Reply`
objects. The dispatcher commits everything they did in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.media_links import MediaLinks
from bot.domain.messages import Choice, Inbound, Reply
from bot.settings import Settings
from storage import UnitOfWork
from storage.models import ConversationState, User

if TYPE_CHECKING:
    from bot.engine.router import Router

log = logging.getLogger(__name__)

ROLES = tuple(Role)
#: the key of ``conversation_state.data`` where the engine keeps the choices the person was last
#: offered (``bot/engine/typed_input.py``); flows neither see nor change it
OFFERED_KEY = "_offered"
#: where it keeps the last question the person was asked (text and title), so that "Lanjutkan"
#: can ask it again after an interruption (:meth:`Turn.ask_again`)
ASKED_KEY = "_asked"
ENGINE_KEYS = (OFFERED_KEY, ASKED_KEY)


class DatabaseUnavailable(Exception):
    """The turn could not be stored; the channel must not acknowledge it (the platform re-sends)."""


@dataclass
class Outcome:
    """What became of one inbound message."""

    handled: bool  # False: a duplicate delivery, nothing done
    user_id: int | None = None
    replies: int = 0
    #: the person's role (or OPD) changed in this turn (e.g. /gabung): a channel whose identity is
    #: a bearer token (the web chat cookie) issues a new one
    role_changed: bool = False


@dataclass
class Turn:
    inbound: Inbound
    user: User
    state: ConversationState
    uow: UnitOfWork
    now: datetime
    settings: Settings
    lang: str
    replies: list[Reply] = field(default_factory=list)
    #: the whole router (set by :meth:`Router.route`): /bantuan lists its commands, /batal and
    #: /hapusdata run its hooks
    router: Router | None = None
    #: whether a page of (channel, address) is open on this instance; None: the channel always
    #: delivers (set by the app: the web chat's open sockets)
    presence: Callable[[str, str], bool | None] | None = None
    #: signs staff links to complaint media (set by the app through the dispatcher); None: no links
    media_links: MediaLinks | None = None

    async def reachable(self, user: User) -> bool:
        """Whether a message to ``user`` reaches them now: always on Telegram and WhatsApp; on
        the web chat only while a page of theirs is open or a Web Push subscription is kept
        (otherwise it waits for their next visit)."""
        open_now = self.presence(user.channel, user.external_id) if self.presence is not None else None
        if open_now is None or open_now:
            return True
        return await self.uow.push.any_for(user.external_id)

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    def translator_for(self, user: User) -> Translator:
        lang = user.language if user.language in self.settings.languages else self.settings.default_language
        return Translator(lang)

    # ---- answering ------------------------------------------------------------------------
    def reply(self, text: str, choices: list[Choice] | tuple[Choice, ...] = (), **kw: Any) -> None:
        self.replies.append(Reply(text=text, choices=tuple(choices), **kw))

    def notify(self, user: User, reply: Reply) -> None:
        """A message to someone else (officer, coordinator, citizen), in the same transaction."""
        self.replies.append(Reply(**{**_reply_fields(reply), "to_user_id": user.id, "purpose": "notification"}))

    def media_link(self, kind: str, media_id: int, *, absolute: bool = False) -> str | None:
        """The person's own link to a complaint's photo or voice note (``kind`` "photo"/"voice"):
        ``/media/<token>``, or with ``absolute`` the full URL (None when no public address is set,
        or when the app gave no key)."""
        if self.media_links is None:
            return None
        if absolute:
            return self.media_links.url(kind, media_id, self.user.id, self.now)
        return self.media_links.path(kind, media_id, self.user.id, self.now)

    # ---- state ----------------------------------------------------------------------------
    @property
    def flow(self) -> str | None:
        return self.state.flow

    @property
    def step(self) -> str | None:
        return self.state.step

    @property
    def data(self) -> dict[str, Any]:
        data = self.state.data or {}
        return {k: v for k, v in data.items() if k not in ENGINE_KEYS} if any(k in data for k in ENGINE_KEYS) else data

    def _engine_keys(self) -> dict[str, Any]:
        data = self.state.data or {}
        return {k: data[k] for k in ENGINE_KEYS if k in data}

    def ask_again(self) -> bool:
        """Repeat the last question of the running flow with the choices it offered (after an
        interruption: a reconnect, a QR code scanned mid-flow); False when there is none."""
        data = self.state.data or {}
        asked = data.get(ASKED_KEY)
        if self.state.flow is None or not isinstance(asked, dict) or not asked.get("text"):
            return False
        choices = [
            Choice(str(row[0]), str(row[1]), row[2] if isinstance(row[2], str) else None)
            for row in asked.get("choices") or []
            if isinstance(row, list) and len(row) == 3
        ]
        self.reply(str(asked["text"]), choices, title=asked.get("title") or None)
        return True

    def set_state(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        new = dict(data if data is not None else self.data)
        for key in ENGINE_KEYS:
            new.pop(key, None)
        self.state.flow = flow
        self.state.step = step
        self.state.data = {**new, **self._engine_keys()}
        self.state.updated_at = self.now

    def clear_state(self) -> None:
        if self.state.flow is not None or self.data:
            self.state.flow = None
            self.state.step = None
            self.state.data = self._engine_keys()
            self.state.updated_at = self.now

    def audit(
        self, action: str, *, subject_type: str | None = None, subject_id: str | None = None, **detail: Any
    ) -> None:
        self.uow.audit.audit(
            at=self.now,
            action=action,
            actor_user_id=self.user.id,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail,
        )


def _reply_fields(reply: Reply) -> dict[str, Any]:
    return {name: getattr(reply, name) for name in reply.__dataclass_fields__}
