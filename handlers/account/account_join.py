"""/gabung: redeem an invitation code and take the staff role it grants (officer of an OPD, or
coordinator). Codes are made by ``bot.services.invites``. A code that would change the role of
someone who already is staff (a coordinator redeeming an officer code) asks for confirmation first;
only the code's hash waits in the conversation state."""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import TEXT_ONLY, Choice
from bot.domain.typed import Means
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu
from handlers.account.account_staff import yes_or_no

router = Router("account.join")

MAX_CODE = 40
JOIN_FLOW = "gabung"
JOIN_CONFIRM = "confirm"
JOIN_YES = "gabung:yes"
JOIN_NO = "gabung:no"


def _unknown_code(turn: Turn) -> None:
    turn.audit("invite_rejected")
    turn.reply(
        turn.t(
            "Kode undangan tidak dikenal, sudah dipakai, atau sudah kedaluwarsa. Mintalah kode baru kepada koordinator."
        )
    )


def _role_text(turn: Turn, role: str, opd: str | None) -> str:
    return turn.t("petugas {opd}", opd=opd) if role == Role.OFFICER else turn.t("koordinator")


@router.command(
    "gabung", "join", description=N_("ambil peran petugas/koordinator dengan kode undangan"), usage=N_("KODE")
)
async def join(turn: Turn, args: str) -> None:
    t = turn.t
    if turn.inbound.channel in TEXT_ONLY:  # staff work needs buttons, cards and photos: not by SMS
        turn.reply(t("Petugas bekerja lewat Telegram, WhatsApp atau web chat. Pakai kode ini di sana."))
        return
    code = args.strip().upper()
    if not code:
        turn.reply(t("Ketik /gabung diikuti kode undangan, misalnya: /gabung ABCD-EFGH-JKLM"))
        return
    if len(code) > MAX_CODE:
        _unknown_code(turn)
        return
    user = turn.user
    if user.role in (Role.OFFICER, Role.COORDINATOR):
        invite = await turn.uow.invites.usable_invite(code, turn.now)
        if invite is None:
            _unknown_code(turn)
            return
        if (invite.role, invite.opd_code) != (user.role, user.opd_code):
            turn.set_state(JOIN_FLOW, JOIN_CONFIRM, {"code_hash": invite.code_hash})
            turn.reply(
                t(
                    "Anda sekarang {current}. Kode ini menjadikan Anda {new} dan peran Anda sekarang berakhir. "
                    "Lanjutkan? Jawab Ya atau Tidak.",
                    current=_role_text(turn, user.role, user.opd_code),
                    new=_role_text(turn, invite.role, invite.opd_code),
                ),
                [Choice(t("Ya"), JOIN_YES, Means.YES), Choice(t("Tidak"), JOIN_NO, Means.NO)],
            )
            return
    await _redeem(turn, code=code)


@router.flow(JOIN_FLOW)
async def join_confirm(turn: Turn) -> None:
    t = turn.t
    answer = yes_or_no(turn, JOIN_YES, JOIN_NO)
    if answer is None:
        turn.reply(
            t("Mohon jawab Ya atau Tidak."),
            [Choice(t("Ya"), JOIN_YES, Means.YES), Choice(t("Tidak"), JOIN_NO, Means.NO)],
        )
        return
    code_hash = str(turn.data.get("code_hash", ""))
    turn.clear_state()
    if not answer:
        turn.reply(t("Baik, peran Anda tidak berubah. Kode undangan belum terpakai."))
        return
    await _redeem(turn, code_hash=code_hash)


async def _redeem(turn: Turn, *, code: str = "", code_hash: str | None = None) -> None:
    t = turn.t
    invite = await turn.uow.invites.redeem_invite(code, turn.user.id, turn.now, code_hash=code_hash)
    if invite is None:
        _unknown_code(turn)
        return
    previous = turn.user.role
    turn.user.role = invite.role
    turn.user.opd_code = invite.opd_code
    turn.audit(
        "role_granted",
        subject_type="user",
        subject_id=str(turn.user.id),
        role=invite.role,
        opd=invite.opd_code,
        previous=previous,
    )
    if invite.role == Role.OFFICER:
        opd = await turn.uow.region.get_opd(invite.opd_code or "")
        show_menu(
            turn,
            t(
                "Selamat, Anda terdaftar sebagai petugas {opd}. Ketik /bantuan untuk melihat perintah petugas.",
                opd=opd.name if opd else invite.opd_code,
            ),
        )
    else:
        show_menu(
            turn, t("Selamat, Anda terdaftar sebagai koordinator. Ketik /bantuan untuk melihat perintah koordinator.")
        )
