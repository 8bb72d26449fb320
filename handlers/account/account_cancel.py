"""/batal: leave whatever flow is running; the flow's cancel hook (if any) runs first."""

from __future__ import annotations

from bot.domain.i18n import N_
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu

router = Router("account.cancel")


async def leave_flow(turn: Turn) -> None:
    """Leave the running flow: its cancel hook (if any) runs first, then the state is cleared.
    /batal and a start link's "Tinggalkan, mulai yang baru" both leave this way."""
    leaving = turn.router.on_cancel.get(turn.flow) if turn.flow else None
    if leaving is not None:
        await leaving(turn)
    turn.clear_state()


@router.command("batal", "cancel", description=N_("keluar dari proses yang sedang berjalan"), needs_consent=False)
async def cancel(turn: Turn, args: str) -> None:
    t = turn.t
    was = turn.flow
    await leave_flow(turn)
    if turn.user.consent_at is None:
        turn.reply(t("Dibatalkan. Ketik /start untuk memulai."))
    elif was:
        show_menu(turn, t("Dibatalkan. Tidak ada yang dikirim."))
    else:
        show_menu(turn, t("Tidak ada proses yang sedang berjalan."))
