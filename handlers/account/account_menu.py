"""The main menu (/menu) and the words shared by the account flows.

Other flows show the same menu when they end (``show_menu``). A menu entry's button value is the
command it stands for, routed exactly as if the person had typed it.
"""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice
from bot.engine.router import Router
from bot.engine.turn import Turn

router = Router("account.menu")

ROLE_NAMES = {Role.CITIZEN: N_("warga"), Role.OFFICER: N_("petugas OPD"), Role.COORDINATOR: N_("koordinator")}

# Menu entries: (label msgid, command the button sends).
MENU = (
    (N_("📝 Survei Kepuasan"), "/survei"),
    (N_("📣 Buat Pengaduan"), "/lapor"),
    (N_("🔎 Cek Status"), "/status"),
    (N_("🤝 Forum Konsultasi"), "/forum"),
    (N_("🌐 Bahasa / Language"), "/bahasa"),
    (N_("❓ Bantuan"), "/bantuan"),
)


def menu_choices(t: Translator) -> list[Choice]:
    return [Choice(t(label), value) for label, value in MENU]


def show_menu(turn: Turn, intro: str | None = None) -> None:
    t = turn.t
    turn.reply(intro or t("Silakan pilih layanan:"), menu_choices(t), title=t("Menu utama"))


@router.command("menu", description=N_("tampilkan menu utama"))
async def menu(turn: Turn, args: str) -> None:
    turn.clear_state()
    show_menu(turn)
