"""The complaint state machine and the tracking-number parser, with hypothesis."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import complaint_rules as rules

ACTIONS = sorted(rules.TRANSITIONS)


def test_lifecycle_happy_path_and_reopen():
    s = "triase"
    for action, expected in [
        ("route", "disposisi"),
        ("answer", "tindak_lanjut"),
        ("resolve", "selesai"),
        ("rate_bad", "tindak_lanjut"),
        ("forward", "disposisi"),
        ("resolve", "selesai"),
        ("rate_good", "ditutup"),
    ]:
        s = rules.next_state(action, s)
        assert s == expected


def test_closed_complaint_accepts_only_the_reporters_not_fixed():
    for action in ACTIONS:
        assert rules.can(action, "ditutup") == (action == "reopen_not_fixed")
    assert rules.next_state("reopen_not_fixed", "ditutup") == "tindak_lanjut"
    assert rules.ACTORS["reopen_not_fixed"] == (rules.Role.CITIZEN,)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(ACTIONS + ["bogus"]), max_size=40))
def test_no_sequence_reaches_an_invalid_state_or_raises_anything_else(actions):
    state = "triase"
    for action in actions:
        try:
            new = rules.next_state(action, state)
        except rules.InvalidTransition as exc:
            assert exc.state == state
            assert action == "bogus" or not rules.can(action, state)
            continue
        assert rules.can(action, state)
        assert new in rules.STATES
        if state == "ditutup":
            assert action == "reopen_not_fixed", "left the closed state"
        state = new


def test_number_formats():
    assert rules.format_number(2026, 42) == "ADU-2026-00042"
    assert rules.format_number(2026, 1234567) == "ADU-2026-1234567"
    for typed in ("ADU-2026-00042", "adu-2026-42", "ADU 2026 42", "#ADU-2026-0042", " 2026-42 ", "adu/2026/00042"):
        assert rules.parse_number(typed) == "ADU-2026-00042", typed
    for junk in (
        "",
        "ADU",
        "ADU-2026",
        "ADU-2026-0",
        "ADU-26-42",
        "42",
        "ADU-2026-42; DROP TABLE",
        "ADU-1999-1",
        "x" * 500,
    ):
        assert rules.parse_number(junk) is None, junk


@given(st.text(max_size=300))
def test_parser_never_raises_and_only_yields_canonical_numbers(text):
    number = rules.parse_number(text)
    assert number is None or (number.startswith("ADU-") and rules.parse_number(number) == number)
    parsed = rules.split_number(text)
    assert parsed.number is None or rules.NUMBER_RE.match(parsed.number)
    assert isinstance(parsed.rest, str)


def test_split_number_keeps_the_rest():
    p = rules.split_number("adu-2026-7   Terima kasih,  kami cek besok")
    assert p.number == "ADU-2026-00007"
    assert p.rest == "Terima kasih,  kami cek besok"


def test_text_validation_counts_words():
    """A report needs three words (what, where, since when), not a number of characters."""
    assert rules.validate_text("Jalan rusak parah") is None
    assert rules.validate_text("  Lampu RT 03 mati  ") is None
    assert rules.validate_text("Jalan rusak") is not None  # two words
    assert rules.validate_text("a a a a a a a") is not None  # letters are no words
    assert rules.validate_text("ab cd ef") is not None  # too short to say anything
    assert rules.validate_text("x" * 4000) is not None  # one word
    long = ("jalan rusak " * 400)[:4000]
    assert rules.validate_text(long) is None
    assert rules.validate_text(long + "x") is not None  # over 4,000 characters
    assert "{words} kata" in rules.validate_text("Jalan rusak")
