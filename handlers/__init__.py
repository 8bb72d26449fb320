"""Conversation flows, channel-agnostic. ``build_router()`` wires them all."""

from bot.flow import Router
from bot.i18n import N_

from . import core


def build_router() -> Router:
    router = Router()
    core.register(router)
    # Menu entries whose flows arrive with later issues answer "segera hadir" until then.
    core.placeholder(router, "survei", "survey", description=N_("isi survei kepuasan layanan (SKM)"))
    core.placeholder(router, "lapor", "complaint", description=N_("buat pengaduan"))
    core.placeholder(router, "status", description=N_("cek status pengaduan Anda"))
    core.placeholder(router, "forum", description=N_("forum konsultasi publik"))
    return router
