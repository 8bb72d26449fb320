"""The main menu (/menu) and the words shared by the account flows.

Each role has its menu: citizens the services, officers their OPD's work, coordinators theirs.
Other flows show the person's menu when they end (``show_menu``). A menu entry's button value is
the command it stands for, routed exactly as if the person had typed it.
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
OFFICER_MENU = (
    (N_("📋 Antrian"), "/antrian"),
    (N_("📊 Ringkasan"), "/ringkasan"),
    (N_("📈 IKM"), "/ikm"),
    (N_("🤝 Forum"), "/forum"),
    (N_("❓ Bantuan"), "/bantuan"),
)
#: a coordinator's /antrian without an OPD asks for one with a button per OPD
COORDINATOR_MENU = (
    (N_("🗂 Belum diarahkan"), "/triase"),
    (N_("📋 Antrian per OPD"), "/antrian"),
    (N_("📈 IKM"), "/ikm"),
    (N_("📊 Ringkasan"), "/ringkasan"),
    (N_("🗓 Forum baru"), "/forumbaru"),
    (N_("❓ Bantuan"), "/bantuan"),
)
MENUS = {Role.CITIZEN: MENU, Role.OFFICER: OFFICER_MENU, Role.COORDINATOR: COORDINATOR_MENU}
MENU_TITLES = {
    Role.CITIZEN: N_("Menu utama"),
    Role.OFFICER: N_("Menu petugas"),
    Role.COORDINATOR: N_("Menu koordinator"),
}


def menu_choices(t: Translator, role: str = Role.CITIZEN) -> list[Choice]:
    """The buttons of ``role``'s menu (the citizens' for an unknown role)."""
    return [Choice(t(label), value) for label, value in MENUS.get(role, MENU)]


def show_menu(turn: Turn, intro: str | None = None) -> None:
    """The person's menu: the services for citizens, their work for officers and coordinators."""
    t = turn.t
    role = turn.user.role if turn.user.role in MENUS else Role.CITIZEN
    default = t("Silakan pilih layanan:") if role == Role.CITIZEN else t("Apa yang ingin Anda kerjakan?")
    turn.reply(intro or default, menu_choices(t, role), title=t(MENU_TITLES[role]))


@router.command("menu", description=N_("tampilkan menu utama"))
async def menu(turn: Turn, args: str) -> None:
    turn.clear_state()
    show_menu(turn)
