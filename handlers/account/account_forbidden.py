"""What a person gets for a command their role may not use: which roles may, and where to look."""

from __future__ import annotations

from bot.engine.router import Command, Router
from bot.engine.turn import Turn
from handlers.account.account_menu import ROLE_NAMES

router = Router("account.forbidden")


@router.forbidden_handler
async def forbidden(turn: Turn, command: Command) -> None:
    t = turn.t
    turn.reply(
        t(
            "Perintah /{name} hanya untuk {roles}. Ketik /bantuan untuk melihat perintah yang bisa Anda pakai.",
            name=command.names[0],
            roles=", ".join(t(ROLE_NAMES[r]) for r in command.roles),
        )
    )
