"""Which language to answer in.

Order: the user's explicit choice (``/bahasa``) always wins; then ``langdetect`` on free text of
some length, restricted to the offered languages through its prior map; then what we detected
before; then the platform's hint (Telegram ``language_code``); then the deployment's default.
"""

from __future__ import annotations

import threading

from langdetect.detector_factory import DetectorFactory, init_factory
from langdetect.lang_detect_exception import LangDetectException

import langdetect.detector_factory as _df

MIN_DETECT_LETTERS = 25  # shorter texts ("ok", "ya", "terima kasih") are guessed wrong too often
MIN_DETECT_WORDS = 4
MIN_PROBABILITY = 0.90

_lock = threading.Lock()


def _factory() -> DetectorFactory:
    with _lock:
        init_factory()  # loads the profiles once per process
        return _df._factory


def detect(text: str, allowed: tuple[str, ...]) -> str | None:
    """The language of ``text`` among ``allowed``, or None when too short or unsure."""
    stripped = " ".join(text.split())
    if stripped.startswith("/") or len(allowed) < 2:
        return None
    # words of letters only: markup, numbers, codes and emoji say nothing about the language
    words = ["".join(c for c in w if c.isalpha()) for w in stripped.split()]
    words = [w for w in words if len(w) >= 2]
    if len(words) < MIN_DETECT_WORDS or sum(map(len, words)) < MIN_DETECT_LETTERS:
        return None
    detector = _factory().create()
    detector.set_prior_map({lang: (1.0 if lang in allowed else 0.0) for lang in _factory().langlist})
    detector.seed = 0
    detector.append(stripped)
    try:
        best = detector.get_probabilities()
    except LangDetectException:
        return None
    if best and best[0].lang in allowed and best[0].prob >= MIN_PROBABILITY:
        return best[0].lang
    return None


def choose_language(*, allowed: tuple[str, ...], explicit: str | None, text: str | None, stored: str | None, hint: str | None) -> tuple[str, bool]:
    """(language, detected_now). ``explicit`` is the stored choice made with /bahasa."""
    if explicit in allowed:
        return explicit, False
    if text:
        found = detect(text, allowed)
        if found:
            return found, True
    if stored in allowed:
        return stored, False
    short_hint = (hint or "").split("-")[0].lower()
    if short_hint in allowed:
        return short_hint, False
    return allowed[0], False
