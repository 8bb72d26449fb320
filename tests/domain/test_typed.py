"""Typed answers matched against the offered choices (bot/domain/typed.py)."""

from __future__ import annotations

import pytest

from bot.domain.typed import Means, Offered, candidates, match, meanings, normalise, typed_number

SPEED = [
    Offered("1 · Tidak cepat", "q:1"),
    Offered("2 · Kurang cepat", "q:2"),
    Offered("3 · Cepat", "q:3"),
    Offered("4 · Sangat cepat", "q:4"),
    Offered("⬅️ Kembali", "q:back"),
]
OPDS = [
    Offered("Dinas Kesehatan", "opd:DINKES"),
    Offered("Dinas Pekerjaan Umum dan Penataan Ruang", "opd:PUPR"),
    Offered("Dinas Kependudukan dan Pencatatan Sipil", "opd:DUKCAPIL"),
    Offered("Berikutnya ▶️", "page:1"),
    Offered("❌ Batal", "/batal"),
]
YES_NO = [
    Offered("✅ Ya, tambahkan", "add:yes", Means.YES),
    Offered("📝 Laporan baru", "add:new"),
    Offered("❌ Batal", "/batal"),
]
GENDER = [Offered("Laki-laki", "p:0"), Offered("Perempuan", "p:1"), Offered("⏭ Lewati", "p:skip")]


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("cepat", "q:3"),
        ("Sangat cepat", "q:4"),
        ("SANGAT CEPAT!!", "q:4"),
        ("sangat", "q:4"),
        ("kurang", "q:2"),
        ("cepet", "q:3"),
        ("4", "q:4"),
        ("no. 2", "q:2"),
        ("1 · Tidak cepat", "q:1"),
        ("kembali", "q:back"),
        ("5", None),  # the back button has no number
        ("hari ini antriannya panjang sekali dan petugasnya tidak ramah", None),
    ],
)
def test_answers_to_a_question(typed, value):
    got = match(typed, SPEED)
    assert (got.value if got else None) == value


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("kesehatan", "opd:DINKES"),
        ("dinas kesehatan", "opd:DINKES"),
        ("dukcapil", None),  # no word of the label: the flow searches codes and the whole list
        ("kependudukan", "opd:DUKCAPIL"),
        ("pekerjaan umum", "opd:PUPR"),
        ("dinas", None),  # several: not guessed
        ("dinas pe", None),
        ("dinas pek", "opd:PUPR"),
        ("2", "opd:PUPR"),
        ("berikutnya", "page:1"),
        ("batal", "/batal"),
        ("tidak jadi", "/batal"),
        ("kesehatn", "opd:DINKES"),
    ],
)
def test_a_list_of_agencies(typed, value):
    got = match(typed, OPDS)
    assert (got.value if got else None) == value


@pytest.mark.parametrize(
    ("typed", "value"),
    [("iya", "add:yes"), ("ok", "add:yes"), ("Betul", "add:yes"), ("laporan baru", "add:new"), ("2", None)],
)
def test_the_shared_vocabulary(typed, value):
    got = match(typed, YES_NO)
    assert (got.value if got else None) == value
    assert match("1", YES_NO).value == "add:new"  # numbers pick content choices only


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("laki-laki", "p:0"),
        ("laki laki", "p:0"),
        ("pria", "p:0"),
        ("Perempuan", "p:1"),
        ("lewati", "p:skip"),
        ("tidak ada", "p:skip"),
        ("35", None),
    ],
)
def test_profile_answers(typed, value):
    got = match(typed, GENDER)
    assert (got.value if got else None) == value


def test_normalise_and_numbers():
    assert normalise("✅  Saya   SETUJU!") == "saya setuju"
    assert normalise("Laki-laki") == "laki laki"
    assert normalise("Kécamatan") == "kecamatan"
    assert typed_number("nomor 3") == 3 and typed_number("3a") is None
    assert meanings("Nggak") == (Means.NO, Means.SKIP)
    assert meanings("batal") == (Means.CANCEL,)


def test_candidates_for_maksud_anda():
    assert [c.value for c in candidates("dinas", OPDS)] == ["opd:DINKES", "opd:PUPR", "opd:DUKCAPIL"]
    assert [c.value for c in candidates("dan", OPDS)] == ["opd:PUPR", "opd:DUKCAPIL"]
    assert candidates("xyz", OPDS) == []
