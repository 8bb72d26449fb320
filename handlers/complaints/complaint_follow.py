"""A citizen follows their complaints: /status (their list, or one complaint's history) and
/nilai, the rating asked for once a complaint is resolved. Not satisfied reopens it for the same
OPD, after the citizen says why (the rating flow).
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain import complaint_rules as rules
from bot.domain import fixed_check
from bot.domain.complaint_rules import ComplaintState, Role
from bot.domain.i18n import N_
from bot.domain.lapor_wire import public_url
from bot.domain.messages import SHORT, Kind
from bot.engine.region_context import RegionContext, fmt_date, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import show_menu
from handlers.complaints.complaint_actions import apply_action
from handlers.complaints.complaint_buttons import (
    BAD_WORDS,
    GOOD_WORDS,
    cancel_choice,
    rate_choices,
    status_choice,
)
from handlers.complaints.complaint_cards import (
    event_line,
    notify_followers,
    notify_handlers,
    outside_body,
    short,
    state_label,
)
from handlers.complaints.complaint_reclaim import status_for_other
from handlers.complaints.complaint_similar import followed_lines, show_followed
from storage.models import Complaint

router = Router("complaints.follow")

RATE_FLOW = "nilai"


class RateStep(StrEnum):
    REASON = "reason"


# ---- /status ---------------------------------------------------------------------------------
@router.command("status", description=N_("cek status pengaduan Anda"), usage=N_("[nomor [PIN]]"))
async def status(turn: Turn, args: str) -> None:
    """``/status``: my complaints; ``/status NOMOR``: one of mine; ``/status NOMOR PIN``: one
    filed from another phone or browser (``complaint_reclaim``)."""
    t = turn.t
    ctx = await region_context(turn.uow.region)
    if not args.strip():
        await list_mine(turn, ctx)
        return
    number = rules.parse_number(args.split()[0])
    c = await turn.uow.complaints.get(number, citizen_user_id=turn.user.id) if number else None
    if c is not None:
        await show_history(turn, ctx, c)
        return
    if await show_followed(turn, ctx, number):
        return
    if await status_for_other(turn, args, number, show_history):
        return
    hint = (
        "\n" + t("Punya PIN laporan ini? Ketik /status {number} PIN.", number=short(args.split()[0], 30))
        if turn.user.role == Role.CITIZEN
        else ""
    )
    turn.reply(
        t(
            "Laporan {number} tidak ditemukan di antara laporan Anda. "
            "Periksa nomornya atau ketik /status untuk daftar laporan Anda.",
            number=short(args.split()[0], 30),
        )
        + hint
    )


async def list_mine(turn: Turn, ctx: RegionContext) -> None:
    t = turn.t
    mine = await turn.uow.complaints.for_citizen(turn.user.id)
    followed = await followed_lines(turn, ctx)
    if not mine and not followed:
        show_menu(turn, t("Anda belum pernah membuat laporan. Buat laporan baru dengan /lapor."))
        return
    if not mine:
        turn.reply("\n".join(followed[1:]))
        return
    lines = [t("Laporan Anda:")]
    for c in mine:
        updated = t("diperbarui {date}", date=fmt_date(turn, ctx, c.updated_at))
        label = state_label(t, c.state, ctx.opd_names.get(c.opd_code or "", ""))
        lines.append(f"• {c.number} — {label} ({updated})\n  {short(c.text, 70)}")
    brief = [lines[0], *(f"{c.number}: {state_label(t, c.state, c.opd_code or '')}" for c in mine[:6])]
    lines.append("")
    lines.append(t("Ketik /status <nomor> untuk riwayat lengkap."))
    lines += followed
    turn.reply("\n".join(lines), [status_choice(c.number) for c in mine[:6]], extra={SHORT: "\n".join(brief)})


async def show_history(turn: Turn, ctx: RegionContext, c: Complaint, *, owner: bool = True) -> None:
    """One complaint as its reporter sees it; ``owner`` False: seen with its PIN from another
    identity (the same view, without the rating buttons, which need the complaint to be theirs)."""
    t = turn.t
    lines = [
        t("Laporan {number}", number=c.number),
        short(c.text, 400),
        "",
        t("Status: {state}", state=state_label(t, c.state, ctx.opd_names.get(c.opd_code or "", ""))),
    ]
    if body := outside_body(ctx, c.referred_to):
        lines[-1] = t("Status: bukan urusan Pemda; diteruskan ke {body}", body=body.name)
    if c.opd_code:
        lines.append(t("Ditangani: {opd}", opd=ctx.opd_names.get(c.opd_code, c.opd_code)))
    if c.state in rules.OPEN_STATES:
        lines.append(t("Batas penyelesaian: {date}", date=fmt_date(turn, ctx, c.completion_due_at)))
    if tracking := await turn.uow.lapor.tracking_id(c.id):
        lines.append(t("Juga tercatat di SP4N-LAPOR!: {url}", url=public_url(tracking)))
    brief = [lines[0], *lines[3:]]  # without the text: where a message is short (SMS)
    lines += ["", t("Riwayat:")]
    events = await turn.uow.complaints.events(c.id, citizen_view=True)
    for ev in events:
        lines.append(event_line(turn, ctx, t, ev, for_citizen=True))
    if events:
        brief.append(short(event_line(turn, ctx, t, events[-1], for_citizen=True).lstrip("•- "), 120))
    choices = list(rate_choices(t, c.number)) if c.state == ComplaintState.SELESAI and owner else []
    turn.reply("\n".join(lines), choices, extra={SHORT: "\n".join(brief)})


# ---- /nilai and the reason for a bad rating ----------------------------------------------------
@router.command(
    "nilai",
    "rate",
    description=N_("beri penilaian atas laporan yang selesai"),
    roles=(Role.CITIZEN, Role.OFFICER, Role.COORDINATOR),
    usage=N_("<nomor> puas|tidak"),
)
async def rate(turn: Turn, args: str) -> None:
    t = turn.t
    parsed = rules.split_number(args)
    verdict = parsed.rest.lower().split()[0] if parsed.rest else ""
    repo = turn.uow.complaints
    c = await repo.get(parsed.number, citizen_user_id=turn.user.id, lock=True) if parsed.number else None
    if c is None:
        turn.reply(t("Laporan tidak ditemukan di antara laporan Anda. Ketik /status untuk daftar laporan Anda."))
        return
    if c.state != ComplaintState.SELESAI:
        turn.reply(
            t(
                'Laporan {number} berstatus "{state}"; '
                "penilaian hanya bisa diberikan setelah laporan dinyatakan selesai.",
                number=c.number,
                state=state_label(t, c.state),
            )
        )
        return
    if verdict in GOOD_WORDS:
        apply_action(turn, c, "rate_good", actor_role=Role.CITIZEN, text=None)
        repo.rate_satisfied(c)
        ctx = await region_context(turn.uow.region)
        repo.schedule_fixed_check(
            c, fixed_check.due_at(turn.now, ctx.calendar, ctx.sla.fixed_check_days_for(c.opd_code))
        )
        turn.reply(t("Terima kasih atas penilaian Anda. Laporan {number} ditutup.", number=c.number))
        await notify_followers(turn, c, N_("pelapor puas dengan penyelesaiannya; laporan ditutup."))
    elif verdict in BAD_WORDS:
        turn.set_state(RATE_FLOW, RateStep.REASON, {"number": c.number})
        turn.reply(
            t(
                "Mohon maaf belum memuaskan. Apa yang belum selesai? Tuliskan alasannya; "
                "laporan akan dibuka kembali untuk OPD yang sama."
            ),
            [cancel_choice(t)],
        )
    else:
        turn.reply(
            t("Apakah Anda puas dengan penyelesaian laporan {number}?", number=c.number),
            list(rate_choices(t, c.number)),
        )


@router.flow(RATE_FLOW)
async def rate_reason(turn: Turn) -> None:
    t = turn.t
    reason = (turn.inbound.text or "").strip() if turn.inbound.kind is Kind.TEXT else ""
    if len(reason) < 3:
        turn.reply(t("Mohon tuliskan alasannya (beberapa kata), atau ketik /batal."))
        return
    repo = turn.uow.complaints
    c = await repo.get(turn.data.get("number", ""), citizen_user_id=turn.user.id, lock=True)
    turn.clear_state()
    if c is None or c.state != ComplaintState.SELESAI:
        turn.reply(t("Laporan itu sudah tidak menunggu penilaian. Ketik /status untuk melihat statusnya."))
        return
    ctx = await region_context(turn.uow.region)
    repo.reopen_unsatisfied(c, ctx.due(turn.now, ctx.completion_days(c.klass)))
    apply_action(turn, c, "rate_bad", actor_role=Role.CITIZEN, text=reason[: rules.MAX_ANSWER])
    turn.reply(
        t(
            "Laporan {number} dibuka kembali dan diteruskan lagi ke {opd}. Batas penyelesaian baru: {date}.",
            number=c.number,
            opd=ctx.opd_names.get(c.opd_code or "", c.opd_code or "-"),
            date=fmt_date(turn, ctx, c.completion_due_at),
        )
    )
    await notify_followers(
        turn,
        c,
        N_("dibuka kembali: pelapor belum puas, {opd} menanganinya lagi."),
        opd=ctx.opd_names.get(c.opd_code or "", "-"),
    )
    await notify_handlers(
        turn,
        ctx,
        c,
        N_("🔁 Dibuka kembali: pelapor belum puas dengan {number}. Alasan: {reason}"),
        reason=short(reason, 300),
    )
