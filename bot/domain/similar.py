"""Similar complaints: is a new complaint probably about the same problem as an open one?

Pure rules, used at the summary step of /lapor (``handlers/complaints/complaint_similar.py``): the
open complaints of the same OPD, filed in the last :data:`RECENT_DAYS` days, whose text is close to
the new one (``rapidfuzz`` ``token_set_ratio`` over the words as the router reads them, without
the common words that say nothing of the problem) and whose place is near (haversine distance at
most :data:`NEAR_METRES` when both have coordinates). When either has no coordinates, the texts
must be closer (:data:`TEXT_MIN_NO_PLACE`): the place may be in the text itself ("di depan SDN 2").

What a citizen is shown of another person's complaint: :func:`excerpt` — a short excerpt of a
"biasa" complaint, never any text of a "rahasia" or "anonim" one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.domain.routing import tokens

#: open complaints older than this are not offered
RECENT_DAYS = 60
#: at most this many candidates are offered
MAX_CANDIDATES = 3
#: the texts' score (0–100) from which two complaints near each other are "similar"
TEXT_MIN_NEAR = 70
#: … and when either has no coordinates (stricter: nothing else says it is the same place)
TEXT_MIN_NO_PLACE = 82
#: two points this close (metres) are the same place
NEAR_METRES = 500.0
#: shared words that say something, needed besides the score (one shared word is chance)
MIN_SHARED_WORDS = 2
#: the excerpt of a "biasa" complaint shown to another citizen
EXCERPT_CHARS = 120

#: words that say nothing of the problem (tokens() already drops politeness formulas)
_STOPWORDS_TEXT = """
yang dan di ke dari ini itu ada sudah belum akan sangat sekali juga dengan untuk pada dalam
kami saya kita mereka dia tidak bisa lagi sejak hari kemarin tadi sore pagi malam siang
mohon tolong agar segera karena oleh atau tapi tetapi sampai masih banyak sering selalu
the of in on at to is are
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())  # noqa: SIM905 - a readable word list


@dataclass(frozen=True, slots=True)
class Place:
    latitude: float
    longitude: float


def words(text: str) -> list[str]:
    """The words that say what the problem is: the router's words (folded, abbreviations expanded),
    without :data:`STOPWORDS` and one-letter words."""
    return [t.word for t in tokens(text) if len(t.word) > 1 and t.word not in STOPWORDS]


def text_score(a: str, b: str) -> float:
    """0–100: how close two texts are (``token_set_ratio`` of their words); 0 when they share fewer
    than :data:`MIN_SHARED_WORDS` words."""
    wa, wb = words(a), words(b)
    if len(set(wa) & set(wb)) < MIN_SHARED_WORDS:
        return 0.0
    return float(fuzz.token_set_ratio(" ".join(wa), " ".join(wb)))


def distance_m(a: Place, b: Place) -> float:
    """The haversine distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp = p2 - p1
    dl = math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def place_of(lat: float | None, lon: float | None) -> Place | None:
    return Place(lat, lon) if lat is not None and lon is not None else None


def similar(text: str, place: Place | None, other_text: str, other_place: Place | None) -> float | None:
    """The text score when the two are similar (close texts, near places), else None."""
    score = text_score(text, other_text)
    if place is not None and other_place is not None:
        if distance_m(place, other_place) > NEAR_METRES:
            return None
        return score if score >= TEXT_MIN_NEAR else None
    return score if score >= TEXT_MIN_NO_PLACE else None


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open complaint as the rule reads it (the flow passes its id back)."""

    key: int
    text: str
    place: Place | None


def best(text: str, place: Place | None, others: Sequence[Candidate], limit: int = MAX_CANDIDATES) -> list[int]:
    """The keys of the most similar ``others``, best first, at most ``limit``."""
    scored = [(s, o.key) for o in others if (s := similar(text, place, o.text, o.place)) is not None]
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [key for _, key in scored[:limit]]


def excerpt(text: str, privacy: str) -> str | None:
    """What another citizen may read of a complaint's text: a short excerpt of a "biasa" one, else None."""
    if privacy != "biasa" or not text:
        return None
    one = " ".join(text.split())
    return one if len(one) <= EXCERPT_CHARS else one[: EXCERPT_CHARS - 1].rstrip() + "…"
