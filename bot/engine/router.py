"""Routes a turn to its command, its flow or the fallback.

Each feature module in ``handlers/`` declares a module-level :class:`Router` with decorators
(commands, flows, hooks); ``handlers.build_router()`` includes them into the one router the
dispatcher uses.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.engine.turn import ROLES, Turn

log = logging.getLogger(__name__)

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
    #: not listed by /bantuan nor in the platforms' command menus (an SMS keyword's command)
    hidden: bool = False


class Router:
    """Routes a turn: commands first (they interrupt any flow), then the active flow, then the fallback."""

    def __init__(self, name: str = "root") -> None:
        self.name = name
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
        #: asked in order about a text, photo or location outside any flow and command (after the
        #: typed intents): True when one took it (e.g. "add this to your complaint?")
        self.free_text: list[Callable[[Turn], Awaitable[bool]]] = []

    # ---- declaring (decorators) ---------------------------------------------------------------
    def fallback_handler(self, fn: StepHandler) -> StepHandler:
        """What a message outside any flow and command gets (one per router)."""
        self._set_once("fallback", fn)
        return fn

    def consent_gate_handler(self, fn: StepHandler) -> StepHandler:
        """What a person who has not consented yet gets instead of the command or flow."""
        self._set_once("consent_gate", fn)
        return fn

    def forbidden_handler(self, fn: Callable[[Turn, Command], Awaitable[None]]):
        """What a person gets for a command their role may not use."""
        self._set_once("forbidden", fn)
        return fn

    def deep_link(self, prefix: str):
        """``/start <prefix>_<arg>`` (e.g. ``skm_UNIT``): the handler gets ``arg``."""

        def deco(fn: CommandHandler) -> CommandHandler:
            if prefix in self.deep_links:
                raise ValueError(f"deep link {prefix!r} registered twice")
            self.deep_links[prefix] = fn
            return fn

        return deco

    def cancel_hook(self, flow: str):
        """Run when /batal leaves ``flow`` (e.g. keep an abandoned questionnaire as incomplete)."""

        def deco(fn: StepHandler) -> StepHandler:
            self.on_cancel[flow] = fn
            return fn

        return deco

    def erase_hook(self, fn: StepHandler) -> StepHandler:
        """Run before a person's identifiers are erased (a feature anonymises its own rows)."""
        self.on_erase.append(fn)
        return fn

    def free_text_hook(self, fn: Callable[[Turn], Awaitable[bool]]):
        """Offer something for a message outside any flow (the fallback asks every hook in turn)."""
        self.free_text.append(fn)
        return fn

    def include(self, other: Router) -> None:
        """Take over everything ``other`` declared (commands keep their order for /bantuan)."""
        for cmd in other.ordered:
            self._add_command(cmd)
        for name, fn in other.flows.items():
            if name in self.flows:
                raise ValueError(f"flow {name!r} registered twice")
            self.flows[name] = fn
        self.consent_free_flows |= other.consent_free_flows
        for prefix, fn in other.deep_links.items():
            self.deep_link(prefix)(fn)
        self.on_cancel.update(other.on_cancel)
        self.on_erase.extend(other.on_erase)
        self.free_text.extend(other.free_text)
        for attr in ("fallback", "consent_gate", "forbidden"):
            if getattr(other, attr) is not None:
                self._set_once(attr, getattr(other, attr))

    def _set_once(self, attr: str, fn) -> None:
        if getattr(self, attr) is not None:
            raise ValueError(f"{attr} registered twice")
        setattr(self, attr, fn)

    def _add_command(self, cmd: Command) -> None:
        for n in cmd.names:
            if n in self.commands:
                raise ValueError(f"command /{n} registered twice")
            self.commands[n] = cmd
        self.ordered.append(cmd)

    def command(
        self,
        *names: str,
        description: str,
        roles: tuple[str, ...] = ROLES,
        needs_consent: bool = True,
        usage: str = "",
        hidden: bool = False,
    ):
        def deco(fn: CommandHandler) -> CommandHandler:
            self._add_command(Command(tuple(names), fn, description, roles, needs_consent, usage, hidden))
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
        return [c for c in self.ordered if role in c.roles and not c.hidden]

    # ---- routing ----------------------------------------------------------------------------
    async def route(self, turn: Turn) -> None:
        turn.router = self
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
