"""The account flows: /start with the consent gate, the main menu, /bantuan, /batal, /bahasa,
/datasaya, /hapusdata, /gabung, the fallback and the answer to a forbidden command.

``router`` includes the modules' routers in the order /bantuan lists their commands. Other flows
end with the main menu: ``show_menu`` is re-exported here for them.
"""

from __future__ import annotations

from bot.engine.router import Router
from handlers.account import (
    account_cancel,
    account_erase,
    account_fallback,
    account_forbidden,
    account_help,
    account_join,
    account_language,
    account_menu,
    account_mydata,
    account_resume,
    account_sms,
    account_staff,
    account_start,
)
from handlers.account.account_menu import menu_choices, show_menu

__all__ = ["menu_choices", "router", "show_menu"]

router = Router("account")
for _module in (
    account_start,
    account_menu,
    account_help,
    account_cancel,
    account_resume,
    account_language,
    account_mydata,
    account_erase,
    account_join,
    account_staff,
    account_sms,
    account_fallback,
    account_forbidden,
):
    router.include(_module.router)
