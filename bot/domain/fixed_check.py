"""“Sudah beres?” (pure): N working days after a complaint is closed, its reporter is asked whether
the problem is really solved; "belum" opens it again for the same OPD (``reopen_not_fixed``).

* Only complaints closed by the reporter's "puas" or by auto-close are asked (not ``refer_out``:
  the Pemda did not handle those); ``fixed_check_due_at`` is set when they close, from the OPD's
  ``fixed_check_days`` (``bot.domain.region_config.SlaConfig.fixed_check_days_for``; 0: never).
* Asked once per complaint, ever: ``fixed_asked_at`` is claimed by a conditional UPDATE before the
  question is queued, in the same transaction (a second run, a second instance, a restart gets
  nothing back). A complaint reopened and closed again is not asked a second time.
* Never asked: reporters who erased their data or were anonymised (no ``citizen_user_id``).
* The answer may be a button or typed — outside any flow too, as long as the question is recent
  (``ANSWER_DAYS``): "sudah", "ya", "beres" / "belum", "tidak", "masih", and "belum, masih bocor"
  carries its reason at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.i18n import N_
from bot.domain.typed import Means, meanings, normalise
from bot.domain.workdays import WorkCalendar

FIXED = "sudah"
NOT_FIXED = "belum"
ANSWERS = (FIXED, NOT_FIXED)
#: a typed "sudah"/"belum" outside a flow answers a question asked at most this many days ago
ANSWER_DAYS = 30
MIN_REASON = 3  # characters

#: typed words (normalised) for each answer, beside the shared vocabulary's yes / no
FIXED_WORDS = frozenset(
    ("sudah", "udah", "sdh", "dah", "sudah beres", "beres", "udah beres", "sudah selesai", "sudah bagus", "fixed")
)
NOT_FIXED_WORDS = frozenset(
    ("belum", "blm", "belom", "blum", "belum beres", "masih", "belum selesai", "masih rusak", "not fixed")
)
#: the first word of "belum, masih bocor": the answer with its reason
NOT_FIXED_LEAD = frozenset(("belum", "blm", "belom", "blum", "masih"))

QUESTION = N_(
    "🔎 Laporan {number} ({opd}) sudah ditutup {days} hari kerja lalu.\n“{summary}”\n\n"
    "Apakah masalahnya sudah benar-benar beres? Balas SUDAH atau BELUM."
)
TITLE = N_("Sudah beres?")


def due_at(closed_at: datetime, cal: WorkCalendar, days: int) -> datetime | None:
    """When the reporter is asked: the start of the ``days``-th working day after the local day of
    closing (None: ``days`` is 0, never)."""
    if days <= 0:
        return None
    return cal.start_of_day(cal.working_day_after(cal.local_date(closed_at), days))


def answer_window_start(now: datetime) -> datetime:
    """A question asked before this instant is no longer answered by a plain typed word."""
    return now - timedelta(days=ANSWER_DAYS)


def typed_answer(text: str) -> str | None:
    """``FIXED`` / ``NOT_FIXED`` for a short typed answer ("sudah", "ya", "belum", "tidak"), else None."""
    n = normalise(text or "")
    if n in FIXED_WORDS:
        return FIXED
    if n in NOT_FIXED_WORDS:
        return NOT_FIXED
    found = meanings(text or "")
    if Means.YES in found or Means.GOOD in found:
        return FIXED
    if Means.NO in found or Means.BAD in found:
        return NOT_FIXED
    return None


def answer_with_reason(text: str) -> tuple[str | None, str]:
    """("belum", "masih bocor") for "Belum, masih bocor di ujung gang"; (answer, "") for a bare
    answer; (None, "") for anything else."""
    answer = typed_answer(text)
    if answer is not None:
        return answer, ""
    head, _, rest = (text or "").strip().partition(" ")
    if normalise(head) in NOT_FIXED_LEAD and len(normalise(rest).split()) >= 2:
        return NOT_FIXED, rest.strip(" ,.;:-")
    return None, ""


def valid_reason(text: str | None) -> bool:
    return len((text or "").strip()) >= MIN_REASON
