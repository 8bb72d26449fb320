"""/bantuan: the commands the person's role may use, from the whole composed router."""

from __future__ import annotations

from bot.domain.i18n import N_
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import ROLE_NAMES

router = Router("account.help")


@router.command("bantuan", "help", description=N_("daftar perintah"), needs_consent=False)
async def help_(turn: Turn, args: str) -> None:
    t = turn.t
    lines = [t("Perintah yang bisa Anda pakai ({role}):", role=t(ROLE_NAMES.get(turn.user.role, "warga")))]
    for cmd in turn.router.commands_for(turn.user.role):
        names = " ".join(f"/{n}" for n in cmd.names)
        usage = f" {t(cmd.usage)}" if cmd.usage else ""
        lines.append(f"• {names}{usage} — {t(cmd.description)}")
    lines.append("")
    lines.append(t("Anda juga bisa memakai tombol menu. Ketik /batal untuk keluar dari proses apa pun."))
    turn.reply("\n".join(lines), title=t("Bantuan"))
