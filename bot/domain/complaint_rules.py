"""Pengaduan rules (pure): states, who may do what in which state, tracking numbers, limits.

The lifecycle follows SP4N-LAPOR! (``shared/domain/PENGADUAN.md``)::

    triase ──route──▶ disposisi ──answer──▶ tindak_lanjut ──resolve──▶ selesai ──rate puas / window──▶ ditutup
      ▲                 │  ▲ forward            │ forward/return         │ rate tidak puas
      └──── return ─────┘  └────────────────────┘                        └──▶ tindak_lanjut (reopened)
    triase ──refer_out──▶ ditutup   (not the Pemda's business: "diteruskan ke instansi berwenang")
    ditutup ──reopen_not_fixed──▶ tindak_lanjut   ("Sudah beres?" answered "belum", N working days later)

A complaint is filed straight into ``disposisi`` when auto-routing is confident, else into
``triase`` (the coordinators' queue). Every transition is checked here, so the handlers and the
property tests share one definition of "valid".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.i18n import N_


class Role(StrEnum):
    """Who a person is to the bot (``users.role``)."""

    CITIZEN = "citizen"
    OFFICER = "officer"  # of one OPD
    COORDINATOR = "coordinator"


class ComplaintState(StrEnum):
    """Where a complaint is in its lifecycle (``complaints.state``)."""

    TRIASE = "triase"
    DISPOSISI = "disposisi"
    TINDAK_LANJUT = "tindak_lanjut"
    SELESAI = "selesai"
    DITUTUP = "ditutup"


class Privacy(StrEnum):
    """How much of the reporter staff may see (``complaints.privacy``)."""

    BIASA = "biasa"
    RAHASIA = "rahasia"  # the identity is hidden from the OPD
    ANONIM = "anonim"  # no identity is kept for staff at all


STATES: tuple[ComplaintState, ...] = tuple(ComplaintState)
OPEN_STATES: tuple[ComplaintState, ...] = (
    ComplaintState.TRIASE,
    ComplaintState.DISPOSISI,
    ComplaintState.TINDAK_LANJUT,
)
#: what a state means to the citizen who filed the complaint, in plain words (``{opd}``: the OPD's
#: name); staff see their own labels
STATE_LABELS = {
    ComplaintState.TRIASE: N_("Sedang diperiksa petugas"),
    ComplaintState.DISPOSISI: N_("Sudah diteruskan ke {opd}, menunggu tanggapan"),
    ComplaintState.TINDAK_LANJUT: N_("Sedang dikerjakan {opd}"),
    ComplaintState.SELESAI: N_("Sudah selesai, menunggu penilaian Anda"),
    ComplaintState.DITUTUP: N_("Selesai dan ditutup"),
}
#: the states as officers and coordinators read them (the labels above speak to the reporter)
STAFF_STATE_LABELS = {
    ComplaintState.TRIASE: N_("Belum diarahkan ke OPD"),
    ComplaintState.DISPOSISI: N_("Baru masuk OPD, belum dijawab"),
    ComplaintState.TINDAK_LANJUT: N_("Sudah dijawab, sedang ditangani"),
    ComplaintState.SELESAI: N_("Selesai, menunggu penilaian pelapor"),
    ComplaintState.DITUTUP: N_("Ditutup"),
}
PRIVACY: tuple[Privacy, ...] = tuple(Privacy)
PRIVACY_LABELS = {Privacy.BIASA: N_("Biasa"), Privacy.RAHASIA: N_("Rahasia"), Privacy.ANONIM: N_("Anonim")}
CLASSES = ("keluhan", "sengketa", "lapangan")
SYSTEM = "system"  # the actor of what no person does (the autoclose job)

MIN_WORDS = 3  # a complaint says what, where, since when
MIN_TEXT = 10  # characters, with the words: "ab cd ef" is no report
WORD_RE = re.compile(r"\w{2,}")
MAX_TEXT = 4000
MAX_PHOTOS = 5
MAX_VOICES = 3  # voice notes (or audio files) kept with one complaint
MAX_ANSWER = 4000

# action -> (states it is allowed from, resulting state or None = unchanged)
TRANSITIONS: dict[str, tuple[tuple[ComplaintState, ...], ComplaintState | None]] = {
    "route": ((ComplaintState.TRIASE,), ComplaintState.DISPOSISI),
    "answer": ((ComplaintState.DISPOSISI, ComplaintState.TINDAK_LANJUT), ComplaintState.TINDAK_LANJUT),
    "resolve": ((ComplaintState.DISPOSISI, ComplaintState.TINDAK_LANJUT), ComplaintState.SELESAI),
    "forward": ((ComplaintState.DISPOSISI, ComplaintState.TINDAK_LANJUT), ComplaintState.DISPOSISI),
    "return": ((ComplaintState.DISPOSISI, ComplaintState.TINDAK_LANJUT), ComplaintState.TRIASE),
    "rate_good": ((ComplaintState.SELESAI,), ComplaintState.DITUTUP),
    "rate_bad": ((ComplaintState.SELESAI,), ComplaintState.TINDAK_LANJUT),
    "autoclose": ((ComplaintState.SELESAI,), ComplaintState.DITUTUP),
    "reclassify": (OPEN_STATES, None),
    # not the Pemda's business: closed as "diteruskan ke instansi berwenang" (PLN, BPN, …)
    "refer_out": ((ComplaintState.TRIASE,), ComplaintState.DITUTUP),
    # "Sudah beres?" answered "belum" days after closing: open again for the same OPD
    "reopen_not_fixed": ((ComplaintState.DITUTUP,), ComplaintState.TINDAK_LANJUT),
}

# who may take an action: an officer (of the complaint's OPD), a coordinator, the citizen (the reporter)
ACTORS: dict[str, tuple[str, ...]] = {
    "route": (Role.COORDINATOR,),
    "answer": (Role.OFFICER, Role.COORDINATOR),
    "resolve": (Role.OFFICER, Role.COORDINATOR),
    "forward": (Role.OFFICER, Role.COORDINATOR),
    "return": (Role.OFFICER,),
    "rate_good": (Role.CITIZEN,),
    "rate_bad": (Role.CITIZEN,),
    "autoclose": (SYSTEM,),
    "reclassify": (Role.OFFICER, Role.COORDINATOR),
    "refer_out": (Role.COORDINATOR,),
    "reopen_not_fixed": (Role.CITIZEN,),
}


class InvalidTransition(Exception):
    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"{action} not allowed in state {state}")
        self.action = action
        self.state = state


def can(action: str, state: str) -> bool:
    allowed, _ = TRANSITIONS[action]
    return state in allowed


def next_state(action: str, state: str) -> ComplaintState:
    """The state after ``action``; raises :class:`InvalidTransition` when not allowed from ``state``."""
    if action not in TRANSITIONS:
        raise InvalidTransition(action, state)
    allowed, target = TRANSITIONS[action]
    if state not in allowed:
        raise InvalidTransition(action, state)
    return target or ComplaintState(state)


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


def voice_description(length: str | None) -> str:
    """The stored text of a complaint told by voice note, so its description is never empty:
    ``"(pesan suara, 0:42)"`` (``length`` as :func:`bot.domain.messages.clock_length` gives it).
    Stored in the region's working language, like the text a citizen types."""
    return f"(pesan suara, {length})" if length else "(pesan suara)"


def word_count(text: str) -> int:
    """Words of two or more letters or digits ("a a a" is no report; "RT 03" counts two)."""
    return len(WORD_RE.findall(text or ""))


def validate_text(text: str | None) -> str | None:
    """The problem statement's error msgid (placeholders ``{words}``, ``{max}``, ``{n}``), or None
    when acceptable: at least ``MIN_WORDS`` words and ``MIN_TEXT`` characters."""
    body = (text or "").strip()
    if word_count(body) < MIN_WORDS or len(body) < MIN_TEXT:
        return N_("Ceritakan sedikit lebih lengkap (minimal {words} kata): apa masalahnya, di mana, sejak kapan.")
    if len(body) > MAX_TEXT:
        return N_(
            "Laporan terlalu panjang ({n} huruf). Paling banyak {max} huruf; ringkas atau bagi menjadi beberapa laporan."  # noqa: E501 - one msgid
        )
    return None
