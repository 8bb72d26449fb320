"""Conversation flows, channel-agnostic. ``build_router()`` wires them all."""

from bot.flow import Router
from handlers import complaints, core, digest, forum, skm


def build_router() -> Router:
    router = Router()
    core.register(router)
    skm.register(router)
    complaints.register(router)
    digest.register(router)
    forum.register(router)
    return router
