"""Conversation flows, channel-agnostic. ``build_router()`` wires them all."""

from bot.engine.router import Router
from handlers import account as core
from handlers import complaints, digest_command, forum
from handlers import survey as skm


def build_router() -> Router:
    router = Router()
    core.register(router)
    skm.register(router)
    complaints.register(router)
    router.include(digest_command.router)
    forum.register(router)
    return router
