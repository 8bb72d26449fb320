"""Conversation flows, channel-agnostic. ``build_router()`` composes the features' routers into
the one router the dispatcher uses (the order is the order /bantuan lists commands)."""

from bot.engine.router import Router
from handlers import account, complaints, digest_command, forum
from handlers import survey as skm


def build_router() -> Router:
    router = Router()
    router.include(account.router)
    skm.register(router)
    router.include(complaints.router)
    router.include(digest_command.router)
    forum.register(router)
    return router
