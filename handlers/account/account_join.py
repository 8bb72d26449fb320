"""/gabung: redeem an invitation code and take the staff role it grants (officer of an OPD, or
coordinator). Codes are made by ``bot.services.invites``."""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.engine.router import Router
from bot.engine.turn import Turn

router = Router("account.join")

MAX_CODE = 40


@router.command(
    "gabung", "join", description=N_("ambil peran petugas/koordinator dengan kode undangan"), usage=N_("KODE")
)
async def join(turn: Turn, args: str) -> None:
    t = turn.t
    code = args.strip().upper()
    if not code:
        turn.reply(t("Ketik /gabung diikuti kode undangan, misalnya: /gabung ABCD-EFGH-JKLM"))
        return
    invite = await turn.uow.invites.redeem_invite(code, turn.user.id, turn.now) if len(code) <= MAX_CODE else None
    if invite is None:
        turn.audit("invite_rejected")
        turn.reply(
            t(
                "Kode undangan tidak dikenal, sudah dipakai, atau sudah kedaluwarsa. "
                "Mintalah kode baru kepada koordinator."
            )
        )
        return
    turn.user.role = invite.role
    turn.user.opd_code = invite.opd_code
    turn.audit("role_granted", subject_type="user", subject_id=str(turn.user.id), role=invite.role, opd=invite.opd_code)
    if invite.role == Role.OFFICER:
        opd = await turn.uow.region.get_opd(invite.opd_code or "")
        turn.reply(
            t(
                "Selamat, Anda terdaftar sebagai petugas {opd}. Ketik /bantuan untuk melihat perintah petugas.",
                opd=opd.name if opd else invite.opd_code,
            )
        )
    else:
        turn.reply(t("Selamat, Anda terdaftar sebagai koordinator. Ketik /bantuan untuk melihat perintah koordinator."))
