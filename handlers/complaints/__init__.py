"""Pengaduan: citizens file and follow complaints; OPD officers and coordinators handle them.

``router`` includes, in the order /bantuan lists their commands: filing (/lapor), following (/status, /nilai),
a report found again with its PIN from another identity (``complaint_reclaim``), follow-ups (/tambah, and what
a citizen sends outside a flow), the officers' commands, the coordinators' triage and the "not ours" close
(/luar, ``complaint_routing``). Privacy is enforced in two places: queries for officers are scoped to their
OPD in SQL (``storage.complaint_repo``), and every text staff see about a reporter is built by
``complaint_cards.reporter_line``.
"""

from __future__ import annotations

from bot.engine.router import Router
from handlers.complaints import (
    complaint_beres,
    complaint_filing,
    complaint_follow,
    complaint_followup,
    complaint_performance,
    complaint_reclaim,
    complaint_routing,
    complaint_similar,
    complaint_staff,
    complaint_templates,
    complaint_triage,
)
from handlers.complaints.complaint_cards import PAGE

__all__ = ["PAGE", "router"]

router = Router("complaints")
for _module in (
    complaint_filing,
    complaint_follow,
    complaint_similar,
    complaint_reclaim,
    complaint_beres,  # before the follow-ups: a typed "belum" answers "Sudah beres?" first
    complaint_followup,
    complaint_staff,
    complaint_templates,
    complaint_triage,
    complaint_routing,
    complaint_performance,
):
    router.include(_module.router)
