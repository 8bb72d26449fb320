"""Which language to answer in.

Order: the user's explicit choice (``/bahasa``) always wins; then ``langdetect`` on free text of
some length, choosing among the offered languages only; then what we detected before; then the
platform's hint (Telegram ``language_code``); then the deployment's default.

The detector loads the profiles of the offered languages only (2 of langdetect's 55 for id + en),
not all of them restricted by a prior map: the answer is among the same languages, and loading
and every detection cost a fraction. :func:`warm` loads them at start-up, so no citizen's turn
waits for it.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

MIN_DETECT_LETTERS = 25  # shorter texts ("ok", "ya", "terima kasih") are guessed wrong too often
MIN_DETECT_WORDS = 4
MIN_PROBABILITY = 0.90

_lock = threading.Lock()


@functools.cache
def _factory_for(languages: tuple[str, ...]) -> DetectorFactory | None:
    """A detector factory knowing only ``languages`` (sorted; those langdetect has a profile for),
    or None when fewer than two of them have one: there is nothing to choose between."""
    profiles = [Path(PROFILES_DIRECTORY, lang) for lang in languages]
    known = [p.read_text(encoding="utf-8") for p in profiles if p.is_file()]
    if len(known) < 2:
        return None
    factory = DetectorFactory()
    factory.load_json_profile(known)
    return factory


def _factory(allowed: tuple[str, ...]) -> DetectorFactory | None:
    with _lock:  # loads each set of profiles once per process
        return _factory_for(tuple(sorted(set(allowed))))


def warm(allowed: tuple[str, ...]) -> None:
    """Load the profiles for ``allowed`` now (at start-up) instead of at the first long message."""
    _factory(allowed)


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
    factory = _factory(allowed)
    if factory is None:
        return None
    detector = factory.create()
    detector.seed = 0
    detector.append(stripped)
    try:
        best = detector.get_probabilities()
    except LangDetectException:
        return None
    if best and best[0].lang in allowed and best[0].prob >= MIN_PROBABILITY:
        return best[0].lang
    return None


def choose_language(
    *, allowed: tuple[str, ...], explicit: str | None, text: str | None, stored: str | None, hint: str | None
) -> tuple[str, bool]:
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
