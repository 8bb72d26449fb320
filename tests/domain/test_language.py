"""Language detection: among the offered languages only, and only on text long enough to tell."""

from __future__ import annotations

import pytest

from bot.engine import language

ID_EN = ("id", "en")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Jalan di depan kantor kelurahan rusak parah sejak bulan lalu dan belum diperbaiki", "id"),
        ("Pelayanan KTP sangat lambat, saya sudah menunggu tiga minggu tanpa kabar", "id"),
        ("The road in front of the village office has been badly damaged since last month", "en"),
        ("I have been waiting three weeks for my ID card and nobody answers the phone", "en"),
        ("ok sip makasih banyak ya pak", None),  # too few letters to tell
        ("/lapor jalan rusak di depan kantor kelurahan sejak bulan lalu", None),  # a command
        ("12345 67890 !!! ??? 😀😀😀 <b>x</b>", None),  # no words
    ],
)
def test_detects_among_the_offered_languages(text, expected):
    assert language.detect(text, ID_EN) == expected


def test_never_answers_a_language_that_is_not_offered():
    german = "Die Straße vor dem Rathaus ist seit letztem Monat schwer beschädigt und niemand repariert sie"
    assert language.detect(german, ID_EN) in (None, "id", "en")
    # one offered language, or offered languages langdetect has no profile for: nothing to choose
    assert language.detect(german, ("id",)) is None
    assert language.detect(german, ("id", "xx")) is None


def test_warm_loads_only_the_offered_profiles():
    language.warm(("en", "id"))
    factory = language._factory(ID_EN)
    assert factory is not None and sorted(factory.get_lang_list()) == ["en", "id"]
    assert language._factory(("en", "id", "en")) is factory  # the same set, loaded once


def test_choose_language_order():
    long_en = "The road in front of the village office has been badly damaged since last month"
    assert language.choose_language(allowed=ID_EN, explicit="id", text=long_en, stored="en", hint="en") == ("id", False)
    assert language.choose_language(allowed=ID_EN, explicit=None, text=long_en, stored="id", hint=None) == ("en", True)
    assert language.choose_language(allowed=ID_EN, explicit=None, text="ya", stored="en", hint="id") == ("en", False)
    assert language.choose_language(allowed=ID_EN, explicit=None, text=None, stored=None, hint="en-GB") == ("en", False)
    assert language.choose_language(allowed=ID_EN, explicit=None, text=None, stored=None, hint="fr") == ("id", False)
