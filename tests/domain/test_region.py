from __future__ import annotations

import pytest

from bot.domain.region import CODE_RE, RegionError, load_region_file, parse_region

REQUIRED = {
    "PUPR",
    "DLH",
    "DISDUKCAPIL",
    "DINKES",
    "RSUD",
    "DISDIK",
    "DPMPTSP",
    "DISHUB",
    "DINSOS",
    "SATPOLPP",
    "KOMINFO",
}


def test_demo_region_is_complete():
    region = load_region_file()
    codes = {o.code for o in region.opds}
    assert codes >= REQUIRED
    for opd in region.opds:
        assert opd.keywords and opd.units, opd.code
        for unit in opd.units:
            assert CODE_RE.match(unit.code) and unit.services and unit.population, unit.code
    assert region.sla["completion_days"] == {"keluhan": 5, "sengketa": 14, "lapangan": 60}
    assert any("Idul Fitri" in name for _, name in region.holidays)


def test_every_problem_is_named_with_its_place():
    raw = {
        "region": {"code": "bad code", "name": "", "timezone": "Mars/Olympus"},
        "sla": {"triage_days": -1, "completion_days": {"keluhan": 0}},
        "skm": {"period": "decade"},
        "holiday": [{"date": "2026-13-01"}],
        "opd": [
            {
                "code": "PUPR",
                "name": "PU",
                "keywords": ["jalan"],
                "unit": [{"code": "U1", "name": "A", "services": [{"code": "S1", "name": "x"}]}],
            },
            {
                "code": "PUPR",
                "name": "",
                "keywords": "jalan",
                "unit": [{"code": "U1", "name": "B", "population": -5, "services": [{"code": "S1"}]}],
            },
        ],
    }
    with pytest.raises(RegionError) as err:
        parse_region(raw)
    problems = "\n".join(err.value.problems)
    for place in (
        "region.code",
        "region.name",
        "region.timezone",
        "sla.triage_days",
        "sla.completion_days.keluhan",
        "skm.period",
        "holiday[0].date",
        "opd[1].code: PUPR appears twice",
        "opd[1].name",
        "opd[1].keywords",
        "opd[1].unit[0].code: U1 appears twice",
        "opd[1].unit[0].population",
        "opd[1].unit[0].services[0].code: S1 appears twice",
        "opd[1].unit[0].services[0].name",
    ):
        assert place in problems, place


def test_the_header_facts_of_the_region_file(tmp_path):
    region = load_region_file()
    assert region.public.emergency == "112" and "0800" in (region.public.contact or "")
    assert (region.public.logo or "").startswith("data:image/svg+xml;base64,")
    assert region.config()["public"]["contact"] == region.public.contact
    assert region.public.publik_k == 5 and region.config()["public"]["publik_k"] == 5
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + b"0" * 70_000)
    base = {"code": "X", "name": "Kota X"}
    for extra, problem in (
        ({"logo": "logo.gif"}, "region.logo: expected a .png"),
        ({"logo": "missing.png"}, "region.logo: file not found"),
        ({"logo": "big.png"}, "region.logo: at most 64 KB"),
        ({"contact": "x" * 300}, "region.contact: at most"),
        ({"emergency": "1" * 30}, "region.emergency"),
        ({"publik_k": 0}, "region.publik_k: expected a whole number 1-100, got 0"),
        ({"publik_k": "5"}, "region.publik_k: expected a whole number 1-100, got '5'"),
        ({"publik_k": True}, "region.publik_k"),
        ({"publik_k": 101}, "region.publik_k"),
    ):
        with pytest.raises(RegionError) as err:
            parse_region({"region": {**base, **extra}, "opd": []}, folder=tmp_path)
        assert any(p.startswith(problem) for p in err.value.problems), err.value.problems
