"""Conversation flows, channel-agnostic. ``build_router()`` composes the features' routers into
the one router the dispatcher uses (the order is the order /bantuan lists commands)."""

from bot.engine.router import Router
from handlers import account, complaints, digest_command, forum, survey


def build_router() -> Router:
    router = Router()
    for feature in (account, survey, complaints, digest_command, forum):
        router.include(feature.router)
    return router
