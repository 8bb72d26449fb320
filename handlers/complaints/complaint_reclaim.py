"""A report that survives a lost cookie: ``/status NOMOR PIN`` from any identity on any channel.

The reporter's receipt carries the number and a PIN (``bot.domain.complaint_pin``). Someone who
is not the complaint's reporter here and types both correctly sees what the reporter sees, and is
asked "Hubungkan laporan ini ke akun ini?": **Ya** moves the complaint to the identity in use
(the old one loses it), **Tidak** leaves it where it is.

A wrong PIN and an unknown number get the same answer, and wrong PINs are counted per number
typed (existing or not, as audit events ``complaint_pin_wrong``): :data:`MAX_WRONG` within a day
lock PIN checks for that number for a day (``complaint_pin_locked``). The PIN is never stored,
logged or audited; the offer keeps only the number and when the PIN was checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum

from bot.domain import complaint_pin as pins
from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.messages import Choice, Kind
from bot.domain.typed import Means
from bot.engine.region_context import RegionContext, fmt_datetime, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.complaints.complaint_buttons import menu_choice, status_choice
from handlers.complaints.complaint_cards import short
from storage.models import Complaint

router = Router("complaints.reclaim")

RECLAIM_FLOW = "sambung"
ATTACH_YES = "sambung:ya"
ATTACH_NO = "sambung:tidak"
WRONG = "complaint_pin_wrong"
LOCKED = "complaint_pin_locked"

ShowHistory = Callable[..., Awaitable[None]]


class ReclaimStep(StrEnum):
    CONFIRM = "confirm"


def not_found_or_wrong(turn: Turn, typed: str) -> None:
    """The one answer for an unknown number and for a wrong PIN: it never tells which."""
    t = turn.t
    turn.reply(
        t(
            "Laporan {number} dengan PIN itu tidak ditemukan. Periksa nomor dan PIN-nya "
            "(ada di pesan saat laporan dikirim).",
            number=short(typed, 30),
        ),
        [menu_choice(t)],
    )


async def lock_state(turn: Turn, key: str) -> tuple[datetime | None, int]:
    """Until when PIN checks for ``key`` are locked (None: they are not), and the wrong PINs
    counted since the window began."""
    audit = turn.uow.audit
    since = turn.now - max(pins.LOCK_FOR, pins.WRONG_WINDOW)
    locks = await audit.times(action=LOCKED, subject_type="complaint", subject_id=key, since=since)
    until = pins.locked_until(locks[-1] if locks else None, turn.now)
    if until is not None:
        return until, 0
    start = turn.now - pins.WRONG_WINDOW
    if locks:  # the wrong PINs that led to the last lock count no more
        start = max(start, locks[-1] + pins.LOCK_FOR)
    wrong = await audit.times(action=WRONG, subject_type="complaint", subject_id=key, since=start)
    return None, len(wrong)


async def status_by_pin(turn: Turn, ctx: RegionContext, number: str | None, typed: str, pin: str, show: ShowHistory):
    """``/status NOMOR PIN`` for a complaint that is not this person's (``number``: normalised,
    None when ``typed`` is no number at all)."""
    if number is None:
        not_found_or_wrong(turn, typed)
        return
    until, wrong = await lock_state(turn, number)
    if until is not None:
        t = turn.t
        turn.reply(
            t(
                "Terlalu banyak PIN salah untuk laporan {number}. Pemeriksaan PIN dikunci sampai {when}.",
                number=number,
                when=fmt_datetime(turn, ctx, until),
            ),
            [menu_choice(t)],
        )
        return
    c = await turn.uow.complaints.get(number)
    if not pins.pin_matches(c.pin_hash if c else None, number, pin) or c is None:
        turn.audit(WRONG, subject_type="complaint", subject_id=number, channel=turn.inbound.channel)
        if pins.locks_now(wrong):
            turn.audit(LOCKED, subject_type="complaint", subject_id=number)
        not_found_or_wrong(turn, typed)
        return
    await show(turn, ctx, c, owner=False)
    offer_attach(turn, c)


def attach_choices(t: Translator) -> list[Choice]:
    return [Choice(t("✅ Ya"), ATTACH_YES, Means.YES), Choice(t("Tidak"), ATTACH_NO, Means.NO)]


def offer_attach(turn: Turn, c: Complaint) -> None:
    t = turn.t
    turn.set_state(RECLAIM_FLOW, ReclaimStep.CONFIRM, {"number": c.number, "checked_at": turn.now.isoformat()})
    turn.reply(
        t(
            "Hubungkan laporan ini ke akun ini?\n"
            "Ya: laporan pindah ke sini — jawaban petugas dikirim ke sini, dan akun yang lama tidak bisa "
            "melihatnya lagi. Tidak: laporan tetap di akun yang lama."
        ),
        attach_choices(t),
    )


@router.flow(RECLAIM_FLOW)
async def attach_answer(turn: Turn) -> None:
    t = turn.t
    picked = turn.inbound.choice if turn.inbound.kind is Kind.CHOICE else None
    number = str(turn.data.get("number", ""))
    if picked not in (ATTACH_YES, ATTACH_NO):
        turn.reply(
            t("Hubungkan laporan {number} ke akun ini? Pilih Ya atau Tidak.", number=number),
            attach_choices(t),
        )
        return
    checked_at = str(turn.data.get("checked_at", ""))
    turn.clear_state()
    if picked == ATTACH_NO:
        turn.reply(t("Baik, laporan {number} tetap di akun yang lama.", number=number), [menu_choice(t)])
        return
    await attach(turn, number, checked_at)


async def attach(turn: Turn, number: str, checked_at: str) -> None:
    t = turn.t
    try:
        fresh = turn.now - datetime.fromisoformat(checked_at) <= pins.ATTACH_VALID
    except (TypeError, ValueError):
        fresh = False
    repo = turn.uow.complaints
    c = await repo.get(number, lock=True) if fresh else None
    if c is None or c.pin_hash is None:
        turn.reply(
            t("Waktunya habis. Ketik lagi /status {number} PIN untuk menghubungkan laporan ini.", number=number),
            [menu_choice(t)],
        )
        return
    if c.citizen_user_id != turn.user.id:
        repo.move_to_reporter(c, turn.user.id)
        repo.add_event(
            complaint=c, at=turn.now, actor_user_id=turn.user.id, actor_role=Role.CITIZEN, action="reclaimed"
        )
        turn.audit(
            "complaint_reclaimed",
            subject_type="complaint",
            subject_id=c.number,
            via="pin",
            channel=turn.inbound.channel,
        )
    turn.reply(
        t(
            "✅ Laporan {number} sekarang terhubung ke akun ini. Jawaban petugas akan dikirim ke sini.",
            number=c.number,
        ),
        [status_choice(c.number, t("🔎 Cek Status")), menu_choice(t)],
    )


async def status_for_other(turn: Turn, args: str, number: str | None, show: ShowHistory) -> bool:
    """``/status NOMOR PIN`` when NOMOR is not this person's: the PIN path (citizens only; staff
    work with /lihat); True when answered."""
    first, _, rest = args.strip().partition(" ")
    pin = pins.typed_pin(rest)
    if pin is None or turn.user.role != Role.CITIZEN:
        return False
    await status_by_pin(turn, await region_context(turn.uow.region), number, first, pin, show)
    return True
