"""What every complaint action shares: finding the complaint a staff member may act on, the
answers when it is not there or not in a state for the action, and the state transition itself
(event + audit), so each command only says what is particular to it."""

from __future__ import annotations

from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import Role
from bot.engine.turn import Turn
from handlers.complaints.complaint_cards import short, staff_state_label
from storage.models import Complaint

#: the roles that handle complaints
HANDLERS = (Role.OFFICER, Role.COORDINATOR)


def apply_action(
    turn: Turn, c: Complaint, action: str, *, actor_role: str, text: str | None, visible: bool = True
) -> None:
    """Move ``c`` by ``action`` (raises ``InvalidTransition`` when not allowed), with event and audit."""
    before = c.state
    turn.uow.complaints.record_transition(
        c,
        action=action,
        to_state=rules.next_state(action, before),
        at=turn.now,
        actor_user_id=turn.user.id,
        actor_role=actor_role,
        text=text,
        visible_to_citizen=visible,
        close=action in ("rate_good", "refer_out"),
    )
    turn.audit(
        f"complaint_{action}",
        subject_type="complaint",
        subject_id=c.number,
        from_state=before,
        to_state=c.state,
        opd=c.opd_code,
    )


async def find_for_handler(turn: Turn, number: str | None, *, lock: bool = True) -> Complaint | None:
    """The complaint by number as this staff member may see it: any for a coordinator, only their
    OPD's for an officer (another OPD's complaint is "not found")."""
    if number is None:
        return None
    repo = turn.uow.complaints
    if turn.user.role == Role.COORDINATOR:
        return await repo.get(number, lock=lock)
    if turn.user.role == Role.OFFICER and turn.user.opd_code:
        return await repo.get(number, lock=lock, opd_code=turn.user.opd_code)
    return None


def first_word(args: str) -> str:
    words = args.split()
    return words[0] if words else ""


def not_found(turn: Turn, raw: str) -> None:
    """No such complaint for this person; a command typed without a number is told its usage."""
    typed = turn.inbound.command
    command = turn.router.commands.get(typed[0]) if typed else None
    if not raw and command is not None:  # "/balas" alone: say how, not "report ? not found"
        turn.reply(
            turn.t(
                "Tulis nomor laporannya. Cara pakai: /{command} {usage}",
                command=typed[0],
                usage=turn.t(command.usage),
            )
        )
        return
    turn.reply(turn.t("Laporan {number} tidak ditemukan.", number=short(raw or "?", 30)))


async def acted_on(turn: Turn, args: str, action: str) -> tuple[Complaint, rules.ParsedCommand] | None:
    """The complaint named first in ``args``, with the rest of the words; None when it is not found
    or not in a state for ``action`` (the person was told)."""
    parsed = rules.split_number(args)
    c = await find_for_handler(turn, parsed.number)
    if c is None:
        not_found(turn, first_word(args))
        return None
    if not rules.can(action, c.state):
        refuse_in_state(turn, c)
        return None
    return c, parsed


async def complaint_and_code(turn: Turn, args: str, action: str) -> tuple[Complaint, str, str] | None:
    """``/arahkan`` and ``/luar``: the complaint and the code after its number (upper case, and as
    typed for "not known"); None when the person was told why not (see :func:`acted_on`)."""
    got = await acted_on(turn, args, action)
    if got is None:
        return None
    c, parsed = got
    typed = (parsed.rest.split() or [""])[0]
    return c, typed.upper(), typed


def refuse_in_state(turn: Turn, c: Complaint) -> None:
    t = turn.t
    turn.reply(
        t(
            'Laporan {number} berstatus "{state}"; tindakan ini tidak bisa dilakukan sekarang.',
            number=c.number,
            state=staff_state_label(t, c.state),
        )
    )
