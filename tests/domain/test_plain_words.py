"""The catalog's style guide (README "Writing the texts"), checked: no Indonesian text contains a
word of the avoid-list, durations are said the way people say them, and English readers get
English names for what the bot cannot read."""

from __future__ import annotations

import re

import pytest

from bot.domain.i18n import AVOID_WORDS, Translator, day_count, duration_words, unsupported_name
from tests.domain.test_i18n import marked_strings


def avoided_in(msgid: str) -> list[str]:
    """The avoid-list words in ``msgid``; a command (``/triase``) or a placeholder (``{alpha}``) is
    a name, not a word of the text."""
    text = re.sub(r"\{\w+\}", "", msgid)
    found = []
    for word in AVOID_WORDS:
        if re.search(r"(?<![/\w-])" + re.escape(word), text, re.IGNORECASE):
            found.append(word)
    return found


def test_no_indonesian_text_uses_a_word_of_the_avoid_list():
    offending = {m: avoided_in(m) for m in marked_strings() if avoided_in(m)}
    assert not offending, "reword (README, Writing the texts):\n" + "\n".join(
        f"{words} → {[AVOID_WORDS[w] for w in words]}: {m!r}" for m, words in sorted(offending.items())
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("Didisposisikan ke OPD", ["didisposisikan"]),
        ("Menunggu verifikasi (triase)", ["triase", "verifikasi"]),
        ("minimal 15 karakter", ["karakter"]),
        ("Pilih kerahasiaan laporan", ["kerahasiaan"]),
        ("straight-lining 40%", ["straight-lining"]),
        ("Buka /triase atau /lihat <nomor>.", []),  # a command's name is allowed
        ("Sedang diperiksa petugas", []),
        ("alfa Cronbach rendah {alpha}", []),
    ],
)
def test_the_check_finds_what_it_should(text, words):
    assert sorted(avoided_in(text)) == sorted(words)


@pytest.mark.parametrize(
    "days, id_, en",
    [
        (730, "2 tahun", "2 years"),
        (365, "1 tahun", "1 year"),
        (731, "2 tahun", "2 years"),
        (180, "6 bulan", "6 months"),
        (30, "1 bulan", "1 month"),
        (14, "2 minggu", "2 weeks"),
        (10, "10 hari", "10 days"),
        (1, "1 hari", "1 day"),
    ],
)
def test_durations_are_said_as_people_say_them(days, id_, en):
    assert duration_words(Translator("id"), days) == id_
    assert duration_words(Translator("en"), days) == en


def test_deadline_days_say_working_days_when_they_are():
    assert day_count(Translator("id"), 10, working=True) == "10 hari kerja"
    assert day_count(Translator("id"), 10, working=False) == "10 hari"
    assert day_count(Translator("en"), 1, working=True) == "1 working day"


def test_unsupported_message_kinds_have_names_in_each_language():
    assert unsupported_name(Translator("id"), "voice") == "pesan suara"
    assert unsupported_name(Translator("en"), "voice") == "voice message"
    assert unsupported_name(Translator("id"), "sticker") == "stiker"
    assert unsupported_name(Translator("id"), "hologram") == "lainnya"
    assert unsupported_name(Translator("en"), None) == "other"
