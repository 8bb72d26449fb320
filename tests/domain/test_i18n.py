"""Every Indonesian string the code marks has an English translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.domain.i18n import catalog, gettext

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def marked_strings() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "scheduler"):
        if not (ROOT / folder).is_dir():
            continue
        for _file, _line, message, _comments, _ctx in extract_from_dir(ROOT / folder, keywords={"t": None, "N_": None}):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def test_every_marked_string_has_an_english_translation():
    en = catalog("en")
    missing = sorted(m for m in marked_strings() if m not in en)
    assert not missing, "untranslated (run pybabel extract/update, see README):\n" + "\n".join(missing)


def test_placeholders_match():
    for msgid, msgstr in catalog("en").items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr)), msgid


def test_indonesian_is_the_source_and_unknown_falls_back():
    assert gettext("id", "Menu utama") == "Menu utama"
    assert gettext("en", "Menu utama") == "Main menu"
    assert gettext("en", "kalimat yang tidak ada di katalog") == "kalimat yang tidak ada di katalog"
