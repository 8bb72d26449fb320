"""``bot.domain.reply_templates`` and the region file's ``[[templates]]`` / ``[[opd.templates]]``."""

from __future__ import annotations

import pytest

from bot.domain.region import RegionError, load_region_file, parse_region
from bot.domain.reply_templates import Template, fill, find, offered, text_problem


def region(**extra) -> dict:
    return {
        "region": {"code": "X", "name": "X"},
        "opd": [
            {"code": "PUPR", "name": "PU", "templates": extra.pop("opd_templates", [])},
            {"code": "DLH", "name": "DLH"},
        ],
        **extra,
    }


def test_region_wide_and_opd_templates_are_read_with_their_place():
    r = parse_region(
        region(
            templates=[{"name": "diterima", "text": "Laporan {nomor} diterima {opd}."}],
            opd_templates=[{"name": "survei", "text": "Tim {opd} meninjau {nomor}."}],
        )
    )
    assert [(t.opd, t.name) for t in r.all_templates()] == [(None, "diterima"), ("PUPR", "survei")]
    assert {"opd": "PUPR", "name": "survei", "text": "Tim {opd} meninjau {nomor}."} in r.config()["templates"]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"templates": [{"name": "dua kata", "text": "x"}]}, "templates[0].name"),
        ({"templates": [{"name": "a", "text": ""}]}, "templates[0].text: required"),
        ({"templates": [{"name": "a", "text": "Halo {nama}"}]}, "unknown placeholder {nama}"),
        ({"templates": [{"name": "a", "text": "x"}, {"name": "A", "text": "y"}]}, "templates[1].name: A appears twice"),
        ({"opd_templates": [{"name": "a"}]}, "opd[0].templates[0].text: required"),
        ({"templates": "nope"}, "templates: expected"),
    ],
)
def test_bad_templates_are_reported_with_their_place(extra, problem):
    with pytest.raises(RegionError) as e:
        parse_region(region(**extra))
    assert any(problem in p for p in e.value.problems), e.value.problems


def test_the_demo_region_has_templates_for_every_opd_and_for_some_opds():
    r = load_region_file()
    assert any(t.opd is None for t in r.all_templates()) and any(t.opd == "PUPR" for t in r.all_templates())


def test_an_officer_is_offered_their_opds_and_the_region_wide_ones_only():
    ts = [
        Template("salam", "a"),
        Template("survei", "b", "PUPR"),
        Template("angkut", "c", "DLH"),
        Template("SALAM", "d", "PUPR"),
    ]
    assert [(t.name, t.text) for t in offered(ts, "PUPR")] == [("survei", "b"), ("SALAM", "d")]
    assert [t.name for t in offered(ts, None)] == ["salam"]
    picked = offered(ts, "DLH")
    assert find(picked, "2").name == "salam" and find(picked, "ANGKUT").name == "angkut" and find(picked, "9") is None


def test_fill_replaces_only_the_placeholders():
    assert (
        fill("Laporan {nomor} oleh {opd} {x}", number="ADU-2026-00001", opd="PU")
        == "Laporan ADU-2026-00001 oleh PU {x}"
    )
    assert text_problem("{nomor} {opd}") is None and text_problem("x" * 3000)
