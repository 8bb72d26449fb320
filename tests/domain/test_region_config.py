"""The region's typed settings: defaults in one place, validation with the place of each problem,
and the stored form (a plain dict) read back unchanged."""

from __future__ import annotations

from bot.domain.region import load_region_file, parse_region
from bot.domain.region_config import SkmConfig, SlaConfig


def test_defaults_and_stored_form_round_trip() -> None:
    sla, skm = SlaConfig(), SkmConfig()
    assert sla.triage_days == 3 and sla.completion_days_for("sengketa") == 14
    assert sla.completion_days_for("unknown class") == 5  # a keluhan's
    assert SlaConfig.parse(sla.as_dict()) == sla
    assert SkmConfig.parse(skm.as_dict()) == skm
    assert SlaConfig.parse(None) == sla and SkmConfig.parse({}) == skm
    assert dict(sla)["completion_days"] == {"keluhan": 5, "sengketa": 14, "lapangan": 60}
    assert sla.get("confirmation_days") == 10 and skm["weight"] == "exact"


def test_partial_table_merges_over_defaults() -> None:
    sla = SlaConfig.parse({"working_days": False, "completion_days": {"lapangan": 30, "khusus": 7}})
    assert not sla.working_days and sla.triage_days == 3
    assert sla.completion_days == {"keluhan": 5, "sengketa": 14, "lapangan": 30, "khusus": 7}
    skm = SkmConfig.parse({"period": "quarter", "population_basis": "period"})
    assert (skm.period, skm.weight, skm.population_basis, skm.missing) == ("quarter", "exact", "period", "drop")


def test_invalid_values_are_listed_and_replaced_by_the_default() -> None:
    problems: list[str] = []
    sla = SlaConfig.parse({"triage_days": -1, "working_days": "ya", "completion_days": {"keluhan": 0}}, problems)
    skm = SkmConfig.parse({"period": "week", "weight": "half", "population_basis": "day", "missing": "x"}, problems)
    assert [p.split(":")[0] for p in problems] == [
        "sla.triage_days",
        "sla.completion_days.keluhan",
        "sla.working_days",
        "skm.period",
        "skm.weight",
        "skm.population_basis",
        "skm.missing",
    ]
    assert sla == SlaConfig() and skm == SkmConfig()
    assert SlaConfig.parse(5, problems := []) == SlaConfig() and problems == ["sla: expected a table"]


def test_region_carries_typed_config_and_stores_plain_dicts() -> None:
    region = load_region_file()
    assert isinstance(region.sla, SlaConfig) and isinstance(region.skm, SkmConfig)
    config = region.config()
    assert type(config["sla"]) is dict and type(config["skm"]) is dict
    assert SlaConfig.parse(config["sla"]) == region.sla and SkmConfig.parse(config["skm"]) == region.skm
    raw = {"region": {"code": "X", "name": "X"}, "opd": [{"code": "A", "name": "A"}]}
    assert parse_region(raw).sla == SlaConfig()
