"""``bot.domain.similar``: which open complaints a new one probably repeats, and what another
citizen may read of them."""

from __future__ import annotations

import pytest

from bot.domain.similar import (
    EXCERPT_CHARS,
    MAX_CANDIDATES,
    NEAR_METRES,
    Candidate,
    Place,
    best,
    distance_m,
    excerpt,
    similar,
    text_score,
)

ROAD = "Jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali dan sudah ada motor jatuh kemarin sore."
SAME = "Jalan di depan SDN 2 Sukamaju rusak dan berlubang dalam, motor sering jatuh di situ."
LAMP = "Lampu penerangan jalan di depan SDN 2 Sukamaju mati sejak seminggu, gelap sekali malam hari."
TRASH = "Sampah menumpuk di pasar Sukamaju dan baunya menyengat sampai ke rumah warga."
HERE = Place(-6.9175, 107.6191)


def test_distance_is_haversine_in_metres():
    assert distance_m(HERE, HERE) == 0
    assert distance_m(Place(0.0, 0.0), Place(0.0, 1.0)) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(HERE, Place(-6.9190, 107.6200)) == pytest.approx(194, abs=5)


def test_the_same_problem_in_other_words_is_similar_a_different_one_is_not():
    assert text_score(ROAD, SAME) >= 80
    assert text_score(ROAD, TRASH) == 0  # one shared word ("Sukamaju") is chance
    assert similar(ROAD, HERE, SAME, Place(-6.9190, 107.6200)) is not None
    assert similar(ROAD, HERE, LAMP, Place(-6.9190, 107.6200)) is None  # same place, another problem
    assert similar(ROAD, HERE, TRASH, HERE) is None


def test_far_away_is_not_similar_and_without_a_place_the_text_must_be_closer():
    far = Place(HERE.latitude + 2 * NEAR_METRES / 111_195, HERE.longitude)
    assert similar(ROAD, HERE, SAME, far) is None
    assert similar(ROAD, None, SAME, HERE) is not None  # 87: close enough without a place
    loose = "Jalan berlubang di depan sekolah Sukamaju, motor sering jatuh."  # 78
    near_score = text_score(ROAD, loose)
    assert similar(ROAD, HERE, loose, HERE) is not None
    assert similar(ROAD, None, loose, None) is None, near_score


def test_best_keeps_at_most_three_best_first():
    others = [Candidate(i, SAME if i % 2 else TRASH, HERE) for i in range(10)]
    others.append(Candidate(99, ROAD, HERE))  # the very same text scores highest
    keys = best(ROAD, HERE, others)
    assert len(keys) == MAX_CANDIDATES and keys[0] == 99 and all(k % 2 for k in keys[1:])


def test_another_citizen_never_reads_a_rahasia_or_anonim_text():
    assert excerpt(ROAD, "biasa") is not None and len(excerpt(ROAD, "biasa")) <= EXCERPT_CHARS
    assert excerpt("x " * 200, "biasa").endswith("…")
    assert excerpt(ROAD, "rahasia") is None and excerpt(ROAD, "anonim") is None
