"""“Sudah beres?”: the reporter's answer to the question the ``fixed_check`` job sends N working
days after a complaint is closed (rules: :mod:`bot.domain.fixed_check`).

- The buttons run ``/beres <nomor> sudah|belum``; the same words typed outside any flow ("sudah",
  "ya", "belum", "tidak", "belum, masih bocor") answer the reporter's most recent open question
  (a WhatsApp template carries no buttons, so typing is the usual way there).
- "Sudah": the answer is recorded in the history; thanks.
- "Belum": the reason (typed, or a voice note), then the complaint is opened again for the same
  OPD (``reopen_not_fixed``, with the reason as its event's text), a new completion deadline, and
  the OPD's officers are told with the card, where ``reporter_line`` keeps an anonymous reporter
  anonymous.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain import complaint_rules as rules
from bot.domain import fixed_check
from bot.domain.complaint_rules import ComplaintState, Role
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind, clock_length
from bot.domain.typed import Means
from bot.engine.region_context import fmt_date, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import show_menu
from handlers.complaints.complaint_actions import apply_action
from handlers.complaints.complaint_buttons import cancel_choice, command, menu_choice, status_choice
from handlers.complaints.complaint_cards import notify_handlers, short
from handlers.complaints.complaint_filing import store_voice, voice_item
from storage.models import Complaint

router = Router("complaints.beres")

FLOW = "beres"


class Step(StrEnum):
    REASON = "reason"


def answer_choices(t, number: str) -> list[Choice]:
    return [
        Choice(t("✅ Sudah beres"), command("beres", number, fixed_check.FIXED), Means.YES),
        Choice(t("❌ Belum"), command("beres", number, fixed_check.NOT_FIXED), Means.NO),
    ]


@router.command(
    "beres",
    "fixed",
    description=N_("jawab pertanyaan “Sudah beres?” atas laporan yang sudah ditutup"),
    roles=(Role.CITIZEN,),
    usage=N_("<nomor> sudah|belum"),
)
async def beres(turn: Turn, args: str) -> None:
    t = turn.t
    turn.clear_state()
    parsed = rules.split_number(args)
    answer, reason = fixed_check.answer_with_reason(parsed.rest) if parsed.rest else (None, "")
    repo = turn.uow.complaints
    c = await repo.get(parsed.number, citizen_user_id=turn.user.id, lock=True) if parsed.number else None
    if c is None:
        turn.reply(t("Laporan tidak ditemukan di antara laporan Anda. Ketik /status untuk daftar laporan Anda."))
        return
    await answer_question(turn, c, answer, reason)


@router.free_text_hook
async def typed_answer(turn: Turn) -> bool:
    """ "sudah" / "belum" typed outside a flow while a "Sudah beres?" question waits."""
    if turn.user.role != Role.CITIZEN or turn.inbound.kind is not Kind.TEXT:
        return False
    answer, reason = fixed_check.answer_with_reason(turn.inbound.text or "")
    if answer is None:
        return False
    since = fixed_check.answer_window_start(turn.now)
    c = await turn.uow.complaints.awaiting_fixed_answer(turn.user.id, since)
    if c is None:
        return False
    await answer_question(turn, c, answer, reason)
    return True


def waiting(c: Complaint) -> bool:
    return c.state == ComplaintState.DITUTUP and c.fixed_asked_at is not None and c.fixed_answer is None


async def answer_question(turn: Turn, c: Complaint, answer: str | None, reason: str) -> None:
    t = turn.t
    if not waiting(c):
        if c.fixed_answer is not None:
            turn.reply(t("Jawaban Anda untuk laporan {number} sudah kami catat. Terima kasih.", number=c.number))
        else:
            turn.reply(
                t("Laporan {number} tidak sedang menunggu jawaban ini.", number=c.number), [status_choice(c.number)]
            )
        return
    if answer is None:
        turn.reply(t("Apakah masalah laporan {number} sudah beres?", number=c.number), answer_choices(t, c.number))
        return
    if answer == fixed_check.FIXED:
        turn.uow.complaints.record_fixed_answer(c, fixed_check.FIXED)
        turn.uow.complaints.add_event(
            complaint=c, at=turn.now, actor_user_id=turn.user.id, actor_role=Role.CITIZEN, action="fixed_confirmed"
        )
        turn.audit("complaint_fixed_confirmed", subject_type="complaint", subject_id=c.number)
        show_menu(turn, t("Terima kasih! Senang masalah laporan {number} sudah beres.", number=c.number))
        return
    if fixed_check.valid_reason(reason):
        await reopen(turn, c, reason)
        return
    ask_reason(turn, c.number)


def ask_reason(turn: Turn, number: str) -> None:
    t = turn.t
    turn.set_state(FLOW, Step.REASON, {"number": number})
    turn.reply(
        t(
            "Mohon maaf masalahnya belum beres. Apa yang masih terjadi? Tuliskan singkat atau kirim pesan suara; "
            "laporan {number} akan dibuka kembali untuk OPD yang sama.",
            number=number,
        ),
        [cancel_choice(t)],
    )


@router.flow(FLOW)
async def reason_step(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    number = turn.data.get("number", "")
    voice = voice_item(inbound) if inbound.kind is Kind.VOICE and inbound.voice is not None else None
    text = (inbound.text or "").strip() if inbound.kind is Kind.TEXT else ""
    if voice is None and not fixed_check.valid_reason(text):
        turn.reply(t("Mohon tuliskan apa yang belum beres (beberapa kata), atau ketik batal."), [cancel_choice(t)])
        return
    c = await turn.uow.complaints.get(number, citizen_user_id=turn.user.id, lock=True) if number else None
    turn.clear_state()
    if c is None or not waiting(c):
        turn.reply(t("Laporan itu sudah tidak menunggu jawaban ini. Ketik /status untuk melihat statusnya."))
        return
    if voice is not None:
        store_voice(turn, c, voice)
        text = rules.voice_description(clock_length(voice.get("duration")))
    await reopen(turn, c, text)


async def reopen(turn: Turn, c: Complaint, reason: str) -> None:
    """ "Belum": open again for the same OPD, new deadline, the officers told with the reason."""
    t = turn.t
    turn.clear_state()
    ctx = await region_context(turn.uow.region)
    reason = reason.strip()[: rules.MAX_ANSWER]
    turn.uow.complaints.reopen_not_fixed(c, ctx.due(turn.now, ctx.completion_days(c.klass)))
    apply_action(turn, c, "reopen_not_fixed", actor_role=Role.CITIZEN, text=reason)
    turn.reply(
        t(
            "Laporan {number} dibuka kembali dan diteruskan lagi ke {opd}. Batas penyelesaian baru: {date}.",
            number=c.number,
            opd=ctx.opd_names.get(c.opd_code or "", c.opd_code or "-"),
            date=fmt_date(turn, ctx, c.completion_due_at),
        ),
        [status_choice(c.number, t("🔎 Cek Status")), menu_choice(t)],
    )
    await notify_handlers(
        turn,
        ctx,
        c,
        N_("🔁 Dibuka kembali: pelapor menyatakan masalah {number} belum beres. Alasan: {reason}"),
        reason=short(reason, 300),
    )
