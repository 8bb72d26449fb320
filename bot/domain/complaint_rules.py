"""Pengaduan rules (pure): states, who may do what in which state, tracking numbers, limits.

The lifecycle follows SP4N-LAPOR! (``shared/domain/PENGADUAN.md``)::

    triase ──route──▶ disposisi ──answer──▶ tindak_lanjut ──resolve──▶ selesai ──rate puas / window──▶ ditutup
      ▲                 │  ▲ forward            │ forward/return         │ rate tidak puas
      └──── return ─────┘  └────────────────────┘                        └──▶ tindak_lanjut (reopened)

A complaint is filed straight into ``disposisi`` when auto-routing is confident, else into
``triase`` (the coordinators' queue). Every transition is checked here, so the handlers and the
property tests share one definition of "valid".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.i18n import N_

STATES = ("triase", "disposisi", "tindak_lanjut", "selesai", "ditutup")
OPEN_STATES = ("triase", "disposisi", "tindak_lanjut")
STATE_LABELS = {
    "triase": N_("Menunggu verifikasi (triase)"),
    "disposisi": N_("Didisposisikan ke OPD"),
    "tindak_lanjut": N_("Ditindaklanjuti"),
    "selesai": N_("Selesai, menunggu konfirmasi Anda"),
    "ditutup": N_("Ditutup"),
}
PRIVACY = ("biasa", "rahasia", "anonim")
PRIVACY_LABELS = {"biasa": N_("Biasa"), "rahasia": N_("Rahasia"), "anonim": N_("Anonim")}
CLASSES = ("keluhan", "sengketa", "lapangan")

MIN_TEXT = 15
MAX_TEXT = 4000
MAX_PHOTOS = 5
MAX_ANSWER = 4000

# action -> (states it is allowed from, resulting state or None = unchanged)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "route": (("triase",), "disposisi"),
    "answer": (("disposisi", "tindak_lanjut"), "tindak_lanjut"),
    "resolve": (("disposisi", "tindak_lanjut"), "selesai"),
    "forward": (("disposisi", "tindak_lanjut"), "disposisi"),
    "return": (("disposisi", "tindak_lanjut"), "triase"),
    "rate_good": (("selesai",), "ditutup"),
    "rate_bad": (("selesai",), "tindak_lanjut"),
    "autoclose": (("selesai",), "ditutup"),
    "reclassify": (OPEN_STATES, None),
}

# who may take an action: "officer" (of the complaint's OPD), "coordinator", "citizen" (the reporter)
ACTORS: dict[str, tuple[str, ...]] = {
    "route": ("coordinator",),
    "answer": ("officer", "coordinator"),
    "resolve": ("officer", "coordinator"),
    "forward": ("officer", "coordinator"),
    "return": ("officer",),
    "rate_good": ("citizen",),
    "rate_bad": ("citizen",),
    "autoclose": ("system",),
    "reclassify": ("officer", "coordinator"),
}


class InvalidTransition(Exception):
    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"{action} not allowed in state {state}")
        self.action = action
        self.state = state


def can(action: str, state: str) -> bool:
    allowed, _ = TRANSITIONS[action]
    return state in allowed


def next_state(action: str, state: str) -> str:
    """The state after ``action``; raises :class:`InvalidTransition` when not allowed from ``state``."""
    if action not in TRANSITIONS:
        raise InvalidTransition(action, state)
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise InvalidTransition(action, state)
    return target or state


# ---- tracking numbers ------------------------------------------------------------------------
NUMBER_RE = re.compile(r"^\s*#?\s*(?:ADU)?[\s\-_/]*(\d{4})[\s\-_/]+0*(\d{1,12})\s*$", re.IGNORECASE)


def format_number(year: int, seq: int) -> str:
    return f"ADU-{year:04d}-{seq:05d}"


def parse_number(text: str) -> str | None:
    """Normalise what a person typed ("adu-2026-42", "ADU 2026 00042", "2026-42") to the stored form."""
    m = NUMBER_RE.match(text or "")
    if not m:
        return None
    year, seq = int(m.group(1)), int(m.group(2))
    if seq <= 0 or not 2000 <= year <= 2999:
        return None
    return format_number(year, seq)


@dataclass(frozen=True)
class ParsedCommand:
    number: str | None
    rest: str


def split_number(args: str) -> ParsedCommand:
    """``"<nomor> <rest>"`` → (normalised number or None, rest). The number is the first word."""
    args = (args or "").strip()
    if not args:
        return ParsedCommand(None, "")
    first, _, rest = args.partition(" ")
    return ParsedCommand(parse_number(first), rest.strip())


def validate_text(text: str | None) -> str | None:
    """The problem statement's error msgid, or None when acceptable."""
    body = (text or "").strip()
    if len(body) < MIN_TEXT:
        return N_("Ceritakan sedikit lebih lengkap (minimal {min} karakter): apa masalahnya, di mana, sejak kapan.")
    if len(body) > MAX_TEXT:
        return N_(
            "Laporan terlalu panjang ({n} karakter). Maksimal {max} karakter; ringkas atau bagi menjadi beberapa laporan."
        )
    return None
