"""The ``/ringkasan`` (``/digest``) command: the daily digest on demand, for officers and coordinators.

Coordinators get the region's digest with the chart, an officer their OPD's; "new since" is the
last 24 hours. The figures and texts come from :mod:`bot.services.digest`, the same service the
scheduled digest (``scheduler.job_digest``) uses.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.digest import chart_png, collect_digest, coordinator_reply, officer_reply

router = Router("digest")


@router.command(
    "ringkasan", "digest", description=N_("ringkasan harian pengaduan dan SKM"), roles=(Role.OFFICER, Role.COORDINATOR)
)
async def ringkasan(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    start = turn.now - timedelta(hours=24)
    if turn.user.role == Role.COORDINATOR:
        price = turn.settings.sms_segment_price if turn.settings.sms_transport else None
        data = await collect_digest(turn.uow, ctx, turn.now, start, sms_price=price)
        reply = coordinator_reply(t, ctx, data, await chart_png(t, ctx, data))
    elif turn.user.opd_code:
        reply = officer_reply(t, ctx, await collect_digest(turn.uow, ctx, turn.now, start, opd=turn.user.opd_code))
    else:
        turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
        return
    turn.replies.append(reply)
    turn.audit("digest_viewed", subject_type="digest", subject_id=turn.user.opd_code or "region")
