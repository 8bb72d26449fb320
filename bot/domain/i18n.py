"""Translations through gettext catalogs (Babel).

Bahasa Indonesia is the source language: msgids are the Indonesian text, and
``bot/locale/<lang>/LC_MESSAGES/kanal.po`` holds the other languages. The .po files are read
with Babel at start-up (no compile step). Mark strings with ``t("…")`` in flows or ``N_("…")``
for module-level constants; ``pybabel extract -k t -k N_ -o kanal.pot bot handlers`` collects them.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)
SOURCE_LANGUAGE = "id"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def N_(msgid: str) -> str:
    """Mark a string for extraction; translated later, where the language is known."""
    return msgid


def locale_dir() -> Path:
    return Path(str(resources.files("bot") / "locale"))


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == SOURCE_LANGUAGE:
        return {}
    path = locale_dir() / lang / "LC_MESSAGES" / "kanal.po"
    if not path.is_file():
        log.warning("no catalog for language %s", lang)
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def gettext(lang: str, msgid: str, /, **values: object) -> str:
    text = catalog(lang).get(msgid, msgid)
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.error("bad placeholders in %s translation of %r", lang, msgid)
            return msgid.format(**values)
    return text


class Translator:
    """``t("…", name=…)`` in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, msgid: str, /, **values: object) -> str:
        return gettext(self.lang, msgid, **values)
