"""/cabut: a coordinator takes the role away from an officer who left (with a confirmation step,
audited). Also the yes/no reading shared with /gabung's confirmation: buttons, or "ya"/"tidak" typed."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind, Reply
from bot.domain.typed import Means
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.staff import revoke

router = Router("account.staff")

REVOKE_FLOW = "cabut"
REVOKE_YES = "cabut:yes"
REVOKE_NO = "cabut:no"
YES_WORDS = frozenset({"ya", "y", "iya", "yes"})
NO_WORDS = frozenset({"tidak", "tdk", "t", "no", "n", "batal"})


class RevokeStep(StrEnum):
    CONFIRM = "confirm"


def yes_or_no(turn: Turn, yes: str, no: str) -> bool | None:
    """True/False for the Ya/Tidak buttons (``yes``/``no`` values) or a typed "ya"/"tidak"; None otherwise."""
    if turn.inbound.kind is Kind.CHOICE:
        return {yes: True, no: False}.get(turn.inbound.choice or "")
    word = (turn.inbound.text or "").strip().lower().rstrip(".!")
    return True if word in YES_WORDS else False if word in NO_WORDS else None


def revoke_choices(turn: Turn) -> list[Choice]:
    return [Choice(turn.t("Ya, cabut"), REVOKE_YES, Means.YES), Choice(turn.t("Tidak"), REVOKE_NO, Means.NO)]


async def _officer_list(turn: Turn) -> str:
    officers = await turn.uow.users.users_with_role(Role.OFFICER)
    if not officers:
        return turn.t("Belum ada petugas OPD.")
    lines = [f"{u.id} · {u.opd_code} · {u.display_name or u.channel}" for u in officers]
    return turn.t("Petugas OPD (nomor · OPD · nama):") + "\n" + "\n".join(lines)


@router.command(
    "cabut",
    "revoke",
    description=N_("cabut peran petugas yang sudah tidak bertugas"),
    roles=(Role.COORDINATOR,),
    usage=N_("NOMOR"),
)
async def revoke_command(turn: Turn, args: str) -> None:
    t = turn.t
    raw = args.strip().lstrip("#")
    if not raw:
        turn.reply(t("Ketik /cabut diikuti nomor petugas, misalnya: /cabut 12.") + "\n\n" + await _officer_list(turn))
        return
    target = await turn.uow.users.get_user(int(raw)) if raw.isdigit() and len(raw) <= 12 else None
    if target is None or target.erased_at is not None or target.role != Role.OFFICER:
        turn.reply(
            t("Petugas nomor {id} tidak ditemukan.", id=raw[:20]) + "\n\n" + await _officer_list(turn),
        )
        return
    turn.set_state(REVOKE_FLOW, RevokeStep.CONFIRM, {"user_id": target.id})
    turn.reply(
        t(
            "Cabut peran petugas {opd} dari {name} (nomor {id})? "
            "Ia tidak bisa lagi melihat antrian dan laporan OPD. Jawab Ya atau Tidak.",
            opd=target.opd_code,
            name=target.display_name or target.channel,
            id=target.id,
        ),
        revoke_choices(turn),
    )


@router.flow(REVOKE_FLOW)
async def revoke_step(turn: Turn) -> None:
    t = turn.t
    answer = yes_or_no(turn, REVOKE_YES, REVOKE_NO)
    if answer is None:
        turn.reply(t("Mohon jawab Ya atau Tidak."), revoke_choices(turn))
        return
    target = await turn.uow.users.get_user(int(turn.data.get("user_id", 0)))
    turn.clear_state()
    if not answer:
        turn.reply(t("Baik, peran petugas tidak dicabut."))
        return
    if turn.user.role != Role.COORDINATOR or target is None or target.role != Role.OFFICER:
        turn.reply(t("Petugas itu tidak ditemukan, atau perannya sudah dicabut."))
        return
    await revoke(turn.uow, target, actor_user_id=turn.user.id, now=turn.now, via="chat")
    told = turn.translator_for(target)
    turn.notify(
        target,
        Reply(
            text=told(
                "Peran Anda sebagai petugas sudah dicabut oleh koordinator. "
                "Anda tetap bisa memakai layanan ini sebagai warga."
            )
        ),
    )
    turn.reply(
        t("Peran petugas {name} (nomor {id}) sudah dicabut.", name=target.display_name or target.channel, id=target.id)
    )
