"""SMS text (pure): the GSM-7 alphabet, what a text costs in segments, and a
:class:`~bot.domain.messages.Reply` rendered as one plain SMS.

Costs. A text in GSM-7 (GSM 03.38) takes 160 characters in one segment and 153 per segment when
longer (the rest carries the joining header); ``^{}[]~|€\\`` cost two. One character outside it
turns the whole SMS into UCS-2: 70 per segment, 67 when longer. :func:`to_gsm` writes Indonesian
text in GSM-7 wherever a plain equivalent exists (quotes, dashes, "…", accents; emoji and other
pictures are dropped), so a reply costs what its words cost.

Rendering. A reply is one SMS: its title, its text, its choices as a numbered list ("1 Sangat
baik"), the numbers being the ones the typed-answer vocabulary understands
(:func:`bot.domain.typed.content`: choices that mean "ya", "tidak", "lewati", "menu"… are not
numbered; their words are listed to type instead). A reply over the budget (``max_segments``,
default 2) is made shorter step by step: the hint goes, the list goes on one line, the title goes,
blank lines go; what is still longer is sent as it is and costs more (tests keep the flows within
the budget). Pictures and documents cannot go by SMS: the text says so in one short line. The
payload stores the text, its segments and, for notifications (``purpose != "reply"``), ``_notify``
(STOP is honoured for those).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from bot.domain.i18n import N_, gettext
from bot.domain.messages import SHORT, Choice, Reply
from bot.domain.typed import Means, Offered, content

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC)
_EXTENDED = frozenset(GSM_EXTENDED)
#: characters written another way in GSM-7 (what NFKD and dropping accents would not give)
_PLAIN = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "…": "...", "•": "-", "·": "-", "●": "-", "▪": "-",
    "×": "x", "→": "->", "←": "<-", "⇒": "=>", "≥": ">=", "≤": "<=", "≠": "!=", "±": "+/-", "°": " derajat",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\t": " ", "™": "", "©": "(c)", "®": "(R)", "№": "No.",
}  # fmt: skip
SINGLE, SINGLE_UCS2, PART, PART_UCS2 = 160, 70, 153, 67
DEFAULT_MAX_SEGMENTS = 2

NUMBERED_HINT = N_("Balas dengan angka 1–{n}.")
TYPE_WORDS = N_("Ketik {words}.")
TYPE_ALSO = N_("Atau ketik {words}.")
NO_ATTACHMENT = N_("(Lampiran tidak bisa dikirim lewat SMS.)")


def is_gsm(text: str) -> bool:
    return all(c in _BASIC or c in _EXTENDED for c in text)


def septets(text: str) -> int:
    return sum(2 if c in _EXTENDED else 1 for c in text)


def segments(text: str) -> int:
    """What ``text`` costs: the number of SMS segments it is sent in (at least 1)."""
    if is_gsm(text):
        n, single, part = septets(text), SINGLE, PART
    else:
        n, single, part = len(text.encode("utf-16-le")) // 2, SINGLE_UCS2, PART_UCS2
    return 1 if n <= single else -(-n // part)


def _plain(c: str) -> str:
    if c in _BASIC or c in _EXTENDED:
        return c
    if c in _PLAIN:
        return _PLAIN[c]
    decomposed = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
    if decomposed and all(x in _BASIC or x in _EXTENDED for x in decomposed):
        return decomposed
    category = unicodedata.category(c)
    if category in ("So", "Sk", "Cs", "Co", "Cn", "Mn", "Me", "Cf") or c == "\ufe0f":
        return ""  # emoji, variation selectors, joiners, pictures: nothing to say in words
    return c  # a letter of another script: kept (the SMS goes as UCS-2)


def to_gsm(text: str) -> str:
    """``text`` in the GSM-7 alphabet where a plain equivalent exists; emoji dropped, the spaces
    they leave and trailing spaces tidied."""
    out = "".join(_plain(c) for c in text)
    lines = [re.sub(r" {2,}", " ", line).strip() for line in out.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---- rendering ---------------------------------------------------------------------------
_JOINERS = frozenset({"dan", "atau", "di", "ke", "dari", "untuk", "&", "-", "/", "and", "of", "the", "for"})


def clip(label: str, longest: int) -> str:
    """``label`` cut to ``longest`` characters at a word where one is near, marked with "."."""
    if len(label) <= longest:
        return label
    cut = label[: longest - 1]
    space = cut.rfind(" ")
    words = (cut[:space] if space >= longest // 2 else cut).split(" ")
    while len(words) > 1 and words[-1].lower() in _JOINERS:
        words.pop()
    return " ".join(words).rstrip(" ,-") + "."


def _unnumbered(label: str, position: int) -> str:
    """``"2 - Perempuan"`` listed 2nd → ``"Perempuan"`` (the list numbers it already)."""
    m = re.match(r"(\d+)\s*[-.):]\s*(\S.*)", label)
    return m.group(2) if m and int(m.group(1)) == position else label


def _label(choice: Choice) -> str:
    return to_gsm(choice.label) or choice.value


def _offered(choices: tuple[Choice, ...]) -> list[Offered]:
    known = set(Means.__members__.values())
    return [Offered(c.label, c.value, Means(c.means) if c.means in known else None) for c in choices]


def compose(reply: Reply, tr: Callable[..., str], max_segments: int = DEFAULT_MAX_SEGMENTS) -> str:
    """The text of the one SMS for ``reply``, shortened to ``max_segments`` where it can be: its
    own text first, then its short text (``extra[SHORT]``) when it has one."""
    text = _compose(reply, reply.text or "", tr, max_segments)
    short = reply.extra.get(SHORT)
    if segments(text) > max_segments and isinstance(short, str) and short:
        text = _compose(reply, short, tr, max_segments)
    return text


def _compose(reply: Reply, text: str, tr: Callable[..., str], max_segments: int) -> str:
    title = to_gsm(reply.title or "")
    body = to_gsm(text)
    if any(a is not None for a in (reply.image, reply.document, reply.audio)):
        body = (body + "\n" if body else "") + to_gsm(tr(NO_ATTACHMENT))
    offered = _offered(reply.choices)
    numbered = {id(o) for o in content(offered)}
    items = [(o, _label(c)) for o, c in zip(offered, reply.choices, strict=True)]
    menu = [_unnumbered(label, i) for i, label in enumerate((x for o, x in items if id(o) in numbered), start=1)]
    words = [label for o, label in items if id(o) not in numbered]
    lines = [f"{i} {label}" for i, label in enumerate(menu, start=1)]
    hint = to_gsm(tr(NUMBERED_HINT, n=len(menu))) if len(menu) > 1 else ""
    typed = " / ".join(w.upper() for w in words)
    extra = to_gsm(tr(TYPE_ALSO if menu else TYPE_WORDS, words=typed)) if words else ""

    def build(one_line: bool, with_hint: bool, with_title: bool, tight: bool, longest: int = 0) -> str:
        head = f"{title}\n{body}" if with_title and title and body else (title if with_title and title else body)
        if tight:
            head = re.sub(r"\n\s*\n", "\n", head)
        parts = [head] if head else []
        if lines:
            shown = [clip(label, longest) for label in menu] if longest else menu
            parts.append(", ".join(f"{i}={x}" for i, x in enumerate(shown, 1)) if one_line else "\n".join(lines))
        tail = " ".join(x for x in ((hint if with_hint else ""), extra) if x)
        if tail:
            parts.append(tail)
        return ("\n" if tight or one_line else "\n\n").join(parts)

    attempts = (
        (False, True, True, False),
        (False, False, True, False),
        (True, False, True, False),
        (True, False, False, False),
        (True, False, False, True),
        *((True, False, False, True, n) for n in (28, 22, 16, 12)),
    )
    text = ""
    for attempt in attempts:
        text = build(*attempt)
        if segments(text) <= max_segments:
            return text
    return text


def render(reply: Reply, max_segments: int = DEFAULT_MAX_SEGMENTS) -> list[dict[str, Any]]:
    """The one SMS payload of ``reply``: ``{"text", "segments", "_lang", "_notify"?}``."""
    lang = reply.extra.get("lang") if isinstance(reply.extra.get("lang"), str) else "id"

    def tr(msgid: str, **values: Any) -> str:
        return gettext(lang, msgid, **values)

    text = compose(reply, tr, max_segments)
    if not text:
        return []
    payload: dict[str, Any] = {"text": text, "segments": segments(text), "_lang": lang}
    if reply.purpose != "reply":
        payload["_notify"] = True
    return [payload]
