"""A name a person types for themselves (the web chat has none from a platform): what is taken.

1–80 characters once trimmed (inner spaces made single), letters of any script, spaces and
``. ' -`` only (so no digits), with at least one letter.
"""

from __future__ import annotations

from bot.domain.i18n import N_
from bot.domain.typed import meanings, normalise

MAX_NAME = 80
_MARKS = frozenset(" .'-’")

TOO_LONG = N_("Nama terlalu panjang ({n} huruf); paling banyak {max} huruf.")
BAD_CHARACTERS = N_(
    "Nama hanya boleh berisi huruf, spasi, titik, tanda petik (') dan tanda hubung (-), tanpa angka. "
    "Contoh: Siti Aminah."
)

NOT_A_NAME = N_("Itu sepertinya bukan nama. Tulis nama Anda, atau tekan Lewati jika tidak ingin memberi nama.")
#: answers to the questions around the name step ("kirim" typed one step early) that are no names
ANSWER_WORDS = frozenset(
    (
        "kirim",
        "send",
        "lanjut",
        "lanjutkan",
        "next",
        "biasa",
        "rahasia",
        "anonim",
        "menu",
        "lapor",
        "status",
        "survei",
        "forum",
        "bantuan",
        "help",
    )  # fmt: skip
)


def clean_name(text: str) -> str:
    return " ".join((text or "").split())


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name (a msgid with ``{n}`` and ``{max}``), or None when it can."""
    name = clean_name(text)
    if len(name) > MAX_NAME:
        return TOO_LONG
    if not name or not any(c.isalpha() for c in name) or any(not (c.isalpha() or c in _MARKS) for c in name):
        return BAD_CHARACTERS
    if meanings(name) or normalise(name) in ANSWER_WORDS:  # "ya", "tidak", "kirim": an answer, not a name
        return NOT_A_NAME
    return None


#: how staff read a channel's name ("tanpa nama (web chat)")
CHANNEL_NAMES = {"web": "web chat", "telegram": "Telegram", "whatsapp": "WhatsApp"}
#: a person who gave no name (not one who erased their data: that is said otherwise)
NO_NAME = N_("tanpa nama ({channel})")


def channel_name(channel: str | None) -> str:
    return CHANNEL_NAMES.get(channel or "", channel or "-")
