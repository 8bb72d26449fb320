"""A start link (a QR code, ``/start skm_UNIT``) that arrives while a flow runs, and ``/lanjutkan``.

A reconnecting page, a second scan of the same QR code or a link opened mid-complaint must not
throw away the answers given: the person is asked whether to go on (the last question again, with
its buttons) or to leave what they were doing and follow the link.
"""

from __future__ import annotations

from bot.domain.i18n import N_
from bot.domain.messages import Choice
from bot.domain.typed import Means
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.engine.typed_input import ASIDE
from handlers.account.account_menu import show_menu

router = Router("account.resume")

#: ``/start FRESH<payload>``: leave the running flow and follow the link (the "start over" button)
FRESH = "baru "
#: the longest button value every platform takes (Telegram's callback data)
MAX_VALUE = 64
#: what a running flow is called in the question (others: "ada yang belum selesai")
ACTIVITIES = {
    "lapor": N_("menulis pengaduan"),
    "tambah": N_("menambahkan pesan ke laporan"),
    "skm": N_("mengisi survei"),
}


def interrupts(turn: Turn, payload: str) -> bool:
    """Whether the start link ``payload`` would interrupt a flow in progress."""
    return bool(payload) and turn.flow is not None and not payload.startswith(FRESH)


def offer_resume(turn: Turn, payload: str) -> None:
    """Keep the running flow and ask: go on, or leave it for the link."""
    t = turn.t
    activity = ACTIVITIES.get(turn.flow or "")
    text = (
        t("Anda belum selesai {activity}. Jawaban Anda tetap tersimpan.", activity=t(activity))
        if activity
        else t("Ada yang belum selesai. Jawaban Anda tetap tersimpan.")
    )
    choices = [Choice(t("▶️ Lanjutkan"), "/lanjutkan", Means.NEXT)]
    fresh = f"/start {FRESH}{payload}"
    if len(fresh.encode()) <= MAX_VALUE:
        choices.append(Choice(t("🔄 Tinggalkan, mulai yang baru"), fresh))
    turn.reply(text + " " + t("Lanjutkan?"), choices, extra={ASIDE: True})  # the question stays the one before


@router.command("lanjutkan", "lanjut", "resume", description=N_("lanjutkan yang belum selesai"))
async def resume(turn: Turn, args: str) -> None:
    if not turn.ask_again():
        show_menu(turn, turn.t("Tidak ada proses yang sedang berjalan."))
