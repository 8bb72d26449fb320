"""``/kinerja``: SLA performance per OPD — % on time (first response, resolution) over the last
``sla.kinerja_window_days`` days, open and late counts, 🚩 on an OPD with a complaint
``sla.kinerja_flag_days`` working days without a first response — and ``/kinerja KODE``: that
OPD's late complaints, longest waiting first, each with a button to view it.

With SMS on, coordinators also read what SMS cost this month (``bot.services.sms_cost``).

Coordinators see every OPD; an officer sees their own OPD only (its figures and its late
complaints at once). Figures and texts: :mod:`bot.services.sla_report` (the digest's section is
the same).
"""

from __future__ import annotations

from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Choice
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.sla_report import collect_performance, late_lines, opd_line, performance_lines
from bot.services.sms_cost import cost_line, sms_month
from handlers.complaints.complaint_buttons import command, menu_choice, view_choice
from handlers.complaints.complaint_cards import short

router = Router("complaints.performance")

MAX_BUTTONS = 8


@router.command(
    "kinerja",
    "performance",
    description=N_("kinerja SLA per OPD: persen tepat waktu, laporan terlambat"),
    roles=(Role.OFFICER, Role.COORDINATOR),
    usage=N_("[kode OPD]"),
)
async def kinerja(turn: Turn, args: str) -> None:
    t = turn.t
    code = (args.split() or [""])[0].upper()
    if turn.user.role == Role.OFFICER:
        if not turn.user.opd_code:
            turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
            return
        if code and code != turn.user.opd_code:
            turn.reply(t("Anda hanya bisa melihat kinerja OPD Anda sendiri ({opd}).", opd=turn.user.opd_code))
            return
        code = turn.user.opd_code
    if code:
        await one_opd(turn, code)
    else:
        await all_opds(turn)
    turn.audit("performance_viewed", subject_type="opd", subject_id=code or "region")


async def all_opds(turn: Turn) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    data = await collect_performance(turn.uow, ctx, turn.now)
    lines = performance_lines(t, data)
    worst = [p.opd for p in data.rows if p.red or p.late][:MAX_BUTTONS]
    if worst:
        lines += ["", t("Ketik /kinerja <kode OPD> untuk daftar laporan terlambatnya.")]
    choices = [Choice(("🚩 " if p.red else "") + p.opd, command("kinerja", p.opd)) for p in data.rows if p.opd in worst]
    if turn.user.role == Role.COORDINATOR and turn.settings.sms_transport:
        month = await sms_month(turn.uow, ctx, turn.now, turn.settings.sms_segment_price)
        lines += ["", cost_line(t, month)]
    turn.reply("\n".join(lines), [*choices, menu_choice(t)], title=t("Kinerja SLA per OPD"))


async def one_opd(turn: Turn, code: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    if code not in ctx.opd_names:
        turn.reply(t("OPD {code} tidak dikenal. Ketik /kinerja untuk semua OPD.", code=short(code, 20)))
        return
    data = await collect_performance(turn.uow, ctx, turn.now, code)
    (row,) = [p for p in data.rows if p.opd == code] or [None]
    lines = [
        ctx.opd_names[code],
        t("Laporan masuk {days} hari terakhir: {n}.", days=data.window_days, n=row.received if row else 0),
    ]
    if row is not None:
        lines.append(opd_line(t, row))
    lines += ["", *late_lines(t, data)]
    choices = [view_choice(t, c.number, c.number) for c in data.late[:MAX_BUTTONS]]
    if turn.user.role == Role.COORDINATOR:
        choices.append(Choice(t("⏱ Semua OPD"), command("kinerja")))
    turn.reply("\n".join(lines), [*choices, menu_choice(t)], title=t("Kinerja {opd}", opd=code))
