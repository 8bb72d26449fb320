"""Typed answers: what a person means when they type instead of pressing a button.

One shared vocabulary (ya/iya/ok…, tidak/nggak…, batal/tidak jadi…, lewati/tidak ada…,
kembali…, puas/bagus…, tidak puas/kecewa…) understood at every step, and a typed text matched
against the *current* choices' labels: case-, accent- and emoji-insensitive, numbers ("2",
"no. 2"), prefixes and words of a label ("kesehatan" for "Dinas Kesehatan"), small typos
(``rapidfuzz``). Pure rules: the engine (``bot/engine/typed_input.py``) applies them to every
turn before the flow sees it, and flows use them for lists longer than one screen.

A choice *means* something (:class:`Means`) when it is a control (Batal, Lewati, Kembali,
Lanjut, paging) or an answer of the shared vocabulary (Ya, Tidak, Puas, Tidak puas); the others
are *content* choices: only those are numbered, and only those are matched by words and typos.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process


class Means(enum.StrEnum):
    YES = "yes"
    NO = "no"
    CANCEL = "cancel"
    SKIP = "skip"
    SKIP_ALL = "skip_all"
    BACK = "back"
    NEXT = "next"  # go on (Lanjut), not a page
    MORE = "more"  # the next page of a list
    PREVIOUS = "previous"  # the previous page of a list
    GOOD = "good"  # satisfied
    BAD = "bad"  # not satisfied
    MENU = "menu"


#: typed phrase (normalised) → what it may mean, most likely first
VOCABULARY: dict[str, tuple[Means, ...]] = {}


def _words(means: tuple[Means, ...], *phrases: str) -> None:
    for p in phrases:
        VOCABULARY[p] = VOCABULARY.get(p, ()) + means


_words((Means.YES,), "ya", "iya", "iyaa", "iye", "y", "yes", "ok", "oke", "okay", "okey", "betul", "benar", "boleh")
_words((Means.YES,), "setuju", "saya setuju", "siap", "mau", "yup", "yap", "ya betul", "ya benar", "bener", "sip")
_words((Means.NO, Means.SKIP), "tidak", "tdk", "gak", "ga", "nggak", "ngga", "enggak", "engga", "no", "nope")
_words((Means.NO,), "bukan", "jangan", "tidak mau", "tidak setuju", "gak mau", "nggak mau", "salah")
_words((Means.CANCEL,), "batal", "batalkan", "tidak jadi", "gak jadi", "nggak jadi", "ga jadi", "enggak jadi")
_words((Means.CANCEL,), "cancel", "stop", "keluar", "berhenti")
_words((Means.SKIP,), "lewati", "lewat", "skip", "tidak ada", "gak ada", "nggak ada", "ga ada", "enggak ada")
_words((Means.SKIP,), "kosong", "tidak perlu", "gak perlu", "nggak perlu", "-", "nanti saja")
_words((Means.SKIP_ALL,), "lewati semua", "skip all", "skip semua")
_words((Means.BACK,), "kembali", "back", "balik", "ulang")
_words((Means.NEXT,), "lanjut", "lanjutkan", "next", "terus", "selanjutnya", "sudah", "udah", "selesai", "cukup")
_words((Means.MORE,), "berikutnya", "lainnya", "lagi", "more", "halaman berikutnya")
_words((Means.PREVIOUS,), "sebelumnya", "previous", "prev", "halaman sebelumnya")
_words(
    (Means.GOOD,), "puas", "bagus", "mantap", "good", "senang", "memuaskan", "sangat puas", "puas sekali", "oke puas"
)
_words((Means.BAD,), "tidak puas", "kurang puas", "gak puas", "nggak puas", "belum puas", "kecewa", "jelek", "bad")
_words((Means.BAD,), "buruk", "tidak bagus", "kurang bagus", "not good", "unsatisfied", "not satisfied")
_words((Means.GOOD,), "satisfied", "very satisfied")
_words((Means.MENU,), "menu", "menu utama", "home", "beranda", "main menu")

#: labels that are controls whatever their button carries (normalised, both languages)
CONTROL_LABELS: dict[str, Means] = {
    "batal": Means.CANCEL,
    "cancel": Means.CANCEL,
    "lewati": Means.SKIP,
    "skip": Means.SKIP,
    "lewati semua": Means.SKIP_ALL,
    "skip all": Means.SKIP_ALL,
    "kembali": Means.BACK,
    "back": Means.BACK,
    "lanjut": Means.NEXT,
    "next": Means.NEXT,
    "continue": Means.NEXT,
    "berikutnya": Means.MORE,
    "sebelumnya": Means.PREVIOUS,
    "previous": Means.PREVIOUS,
    "menu": Means.MENU,
}

#: words people type for a label's word (normalised), applied before matching labels
SYNONYMS = {
    "pria": "laki laki",
    "lelaki": "laki laki",
    "cowok": "laki laki",
    "cowo": "laki laki",
    "laki": "laki laki",
    "laki2": "laki laki",
    "wanita": "perempuan",
    "cewek": "perempuan",
    "cewe": "perempuan",
    "bagus": "baik",
    "sangat bagus": "sangat baik",
    "jelek": "buruk",
    "male": "laki laki",
    "female": "perempuan",
}

_NUMBERED = re.compile(r"^\s*(\d{1,3})\s*[·.)\-:]\s+")
_NUMBER = re.compile(r"(?:no|nomor|nomer|pilihan|pilih|angka|number)?\s*(\d{1,3})")
#: a typo is forgiven from this score on (rapidfuzz 0–100), when no other label is close
FUZZY_MIN = 80
FUZZY_MARGIN = 6
#: longer texts are not answers to a list: they go to the flow as typed
MAX_WORDS_FOR_WORDS = 5


def normalise(text: str) -> str:
    """Lower case, without accents, emoji, punctuation and a "1 · " numbering; words separated by
    one space ("Laki-laki" → "laki laki", "✅ Ya!" → "ya")."""
    text = _NUMBERED.sub("", text)
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", text.casefold()):
        cat = unicodedata.category(c)
        if cat.startswith("L") or cat == "Nd":
            out.append(c)
        elif cat.startswith("M"):
            continue
        elif c == "-" and out and out[-1] != " ":
            out.append(" ")
        else:
            out.append(" ")
    words = "".join(out).split()
    if not words and text.strip() == "-":
        return "-"
    return " ".join(words)


#: :func:`normalise` for the labels of offered choices, remembered: they come from the catalogue
#: and were normalised again at every typed answer (a tenth of the group commit's time in
#: bench.turn's bulk workload). What people type is not kept.
normalise_label = functools.lru_cache(maxsize=2048)(normalise)


@dataclass(frozen=True, slots=True)
class Offered:
    """A choice as the engine remembers it between turns."""

    label: str
    value: str
    means: Means | None = None

    def meaning(self) -> Means | None:
        """What the choice means: said by the flow, or a control by its command or label."""
        if self.means is not None:
            return self.means
        if self.value in ("/batal", "/cancel"):
            return Means.CANCEL
        if self.value == "/menu":
            return Means.MENU
        return CONTROL_LABELS.get(normalise_label(self.label))


def content(choices: Sequence[Offered]) -> list[Offered]:
    """The choices a number picks: those that mean nothing of the vocabulary."""
    return [c for c in choices if c.meaning() is None]


def meanings(text: str) -> tuple[Means, ...]:
    """What a typed text may mean in the shared vocabulary (most likely first); () for none."""
    return VOCABULARY.get(normalise(text), ())


def typed_number(text: str) -> int | None:
    """``"2"``, ``"no. 2"``, ``"nomor 2"`` → 2; None for anything else."""
    m = _NUMBER.fullmatch(normalise(text))
    return int(m.group(1)) if m else None


def match(text: str, choices: Sequence[Offered]) -> Offered | None:
    """The choice ``text`` picks from ``choices``, or None (the flow gets the text as typed)."""
    n = normalise(text)
    if not n or not choices:
        return None
    number = typed_number(text)
    if number is not None:
        numbered = content(choices)
        return numbered[number - 1] if 1 <= number <= len(numbered) else None
    for candidate in (n, SYNONYMS.get(n)):
        exact = [c for c in choices if candidate and normalise_label(c.label) == candidate]
        if len(exact) == 1:
            return exact[0]
    for means in VOCABULARY.get(n, ()):
        meant = [c for c in choices if c.meaning() is means]
        if len(meant) == 1:
            return meant[0]
    if len(n.split()) > MAX_WORDS_FOR_WORDS:
        return None
    return best_label(SYNONYMS.get(n, n), content(choices))


def best_label(n: str, choices: Sequence[Offered]) -> Offered | None:
    """The one choice whose label holds the typed words (or word prefixes), else the one whose
    label holds them with a small typo in each, else the one label close enough to the whole typed
    text; None when none or several fit."""
    labels = [normalise_label(c.label).split() for c in choices]
    typed_words = n.split()
    for fits in (_same_or_prefix, _close):
        holding = [c for c, label in zip(choices, labels, strict=True) if all(fits(w, label) for w in typed_words)]
        if len(holding) > 1:  # "cepet": "Cepat" rather than "Sangat cepat"; "dinas pen": several
            same_length = [
                c
                for c in holding
                if len(label := labels[choices.index(c)]) == len(typed_words)
                and all(_close(w, label) for w in typed_words)
            ]
            return same_length[0] if len(same_length) == 1 else None
        if holding:
            return holding[0]
    if len(n) < 3:
        return None
    found = process.extract(n, [" ".join(x) for x in labels], scorer=fuzz.WRatio, limit=2)
    if not found or found[0][1] < FUZZY_MIN:
        return None
    if len(found) > 1 and found[0][1] - found[1][1] < FUZZY_MARGIN:
        return None
    return choices[found[0][2]]


def candidates(text: str, choices: Sequence[Offered]) -> list[Offered]:
    """The content choices whose labels hold every typed word (or a prefix, or with a small typo):
    what to offer back as "maksud Anda …?" when a typed text fits several."""
    typed_words = normalise(SYNONYMS.get(normalise(text), text)).split()
    pool = content(choices)
    if not typed_words:
        return []
    labels = [normalise_label(c.label).split() for c in pool]
    for fits in (_same_or_prefix, _close):
        holding = [c for c, label in zip(pool, labels, strict=True) if all(fits(w, label) for w in typed_words)]
        if holding:
            return holding
    return []


def _same_or_prefix(word: str, label: list[str]) -> bool:
    return any(word == lw or (len(word) >= 3 and lw.startswith(word)) for lw in label)


def _close(word: str, label: list[str]) -> bool:
    """A word of the label with a typo or two (words of four letters or more)."""
    if len(word) < 4:
        return word in label
    return any(fuzz.ratio(word, lw) >= FUZZY_MIN for lw in label if len(lw) >= 4)


def numbered_label(n: int, label: str) -> str:
    """ "1 · Tidak cepat": the number a person may type instead of pressing."""
    return f"{n} · {label}"
