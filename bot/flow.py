"""What a flow sees of one turn, and the command/flow router.

Flows (``handlers/``) are channel-agnostic: they read an :class:`~bot.types.Inbound`, the user
and their conversation state, use repositories, and answer by adding :class:`~bot.types.Reply`
objects. The dispatcher commits everything they did in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import Translator
from bot.settings import Settings
from bot.types import Choice, Inbound, Kind, Reply
from storage.models import ConversationState, User
from storage.repo import Repo

log = logging.getLogger(__name__)

ROLES = ("citizen", "officer", "coordinator")


@dataclass
class Turn:
    inbound: Inbound
    user: User
    state: ConversationState
    repo: Repo
    now: datetime
    settings: Settings
    lang: str
    replies: list[Reply] = field(default_factory=list)

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

    # ---- state ----------------------------------------------------------------------------
    @property
    def flow(self) -> str | None:
        return self.state.flow

    @property
    def step(self) -> str | None:
        return self.state.step

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data or {}

    def set_state(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.state.flow = flow
        self.state.step = step
        self.state.data = dict(data if data is not None else self.data)
        self.state.updated_at = self.now

    def clear_state(self) -> None:
        if self.state.flow is not None or self.state.data:
            self.state.flow = None
            self.state.step = None
            self.state.data = {}
            self.state.updated_at = self.now

    def audit(
        self, action: str, *, subject_type: str | None = None, subject_id: str | None = None, **detail: Any
    ) -> None:
        self.repo.audit(
            at=self.now,
            action=action,
            actor_user_id=self.user.id,
            subject_type=subject_type,
            subject_id=subject_id,
            detail=detail,
        )


def _reply_fields(reply: Reply) -> dict[str, Any]:
    return {name: getattr(reply, name) for name in reply.__dataclass_fields__}


CommandHandler = Callable[[Turn, str], Awaitable[None]]
StepHandler = Callable[[Turn], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # Indonesian first, then aliases
    handler: CommandHandler
    description: str  # Indonesian msgid, shown by /bantuan
    roles: tuple[str, ...] = ROLES
    needs_consent: bool = True
    usage: str = ""


class Router:
    """Routes a turn: commands first (they interrupt any flow), then the active flow, then the fallback."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.ordered: list[Command] = []
        self.flows: dict[str, StepHandler] = {}
        self.fallback: StepHandler | None = None
        self.consent_gate: StepHandler | None = None
        self.consent_free_flows: set[str] = set()
        self.forbidden: Callable[[Turn, Command], Awaitable[None]] | None = None
        #: ``/start <prefix>_<arg>`` deep links (e.g. ``skm_UNIT``) by prefix
        self.deep_links: dict[str, CommandHandler] = {}
        #: called when /batal leaves a flow (e.g. keep an abandoned questionnaire as incomplete)
        self.on_cancel: dict[str, StepHandler] = {}
        #: called before a user's identifiers are erased (flows anonymise their own rows)
        self.on_erase: list[StepHandler] = []

    def fallback_handler(self, fn: StepHandler) -> StepHandler:
        self.fallback = fn
        return fn

    def command(
        self, *names: str, description: str, roles: tuple[str, ...] = ROLES, needs_consent: bool = True, usage: str = ""
    ):
        def deco(fn: CommandHandler) -> CommandHandler:
            cmd = Command(tuple(names), fn, description, roles, needs_consent, usage)
            for n in names:
                if n in self.commands:
                    raise ValueError(f"command /{n} registered twice")
                self.commands[n] = cmd
            self.ordered.append(cmd)
            return fn

        return deco

    def flow(self, name: str, *, needs_consent: bool = True):
        def deco(fn: StepHandler) -> StepHandler:
            self.flows[name] = fn
            if not needs_consent:
                self.consent_free_flows.add(name)
            return fn

        return deco

    def commands_for(self, role: str) -> list[Command]:
        return [c for c in self.ordered if role in c.roles]

    async def route(self, turn: Turn) -> None:
        cmd = turn.inbound.command
        if cmd is not None:
            name, args = cmd
            command = self.commands.get(name)
            if command is not None:
                if command.needs_consent and turn.user.consent_at is None:
                    await self._gate(turn)
                    return
                if turn.user.role not in command.roles:
                    if self.forbidden is not None:
                        await self.forbidden(turn, command)
                    return
                await command.handler(turn, args)
                return
        if turn.user.consent_at is None and turn.flow not in self.consent_free_flows:
            await self._gate(turn)
            return
        if turn.flow and turn.flow in self.flows:
            await self.flows[turn.flow](turn)
            return
        if turn.flow:  # a flow that no longer exists (upgrade): start over cleanly
            log.warning("unknown flow %r in state of user %s; cleared", turn.flow, turn.user.id)
            turn.clear_state()
        if self.fallback is not None:
            await self.fallback(turn)

    async def _gate(self, turn: Turn) -> None:
        if self.consent_gate is not None:
            await self.consent_gate(turn)


def is_text(turn: Turn) -> bool:
    return turn.inbound.kind is Kind.TEXT and bool(turn.inbound.text)
