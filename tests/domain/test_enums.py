"""The domain's StrEnums keep the stored string values: code that compares with, stores or
formats the plain strings reads them unchanged."""

from __future__ import annotations

import json

from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import ComplaintState, Privacy, Role
from bot.domain.messages import Purpose, Reply


def test_values_are_the_stored_strings() -> None:
    assert [str(s) for s in ComplaintState] == ["triase", "disposisi", "tindak_lanjut", "selesai", "ditutup"]
    assert list(Privacy) == ["biasa", "rahasia", "anonim"] and list(Role) == ["citizen", "officer", "coordinator"]
    assert Reply("x").purpose == "reply" and Purpose.NOTIFICATION == "notification"
    assert json.dumps({"state": ComplaintState.SELESAI}) == '{"state": "selesai"}'
    assert f"lapor:privacy:{Privacy.ANONIM}" == "lapor:privacy:anonim"


def test_rules_accept_plain_strings_and_return_states() -> None:
    assert "triase" in rules.OPEN_STATES and rules.PRIVACY_LABELS["rahasia"] == "Rahasia"
    assert rules.next_state("resolve", "disposisi") is ComplaintState.SELESAI
    assert rules.next_state("reclassify", "triase") is ComplaintState.TRIASE
    assert rules.can("route", "triase") and "coordinator" in rules.ACTORS["route"]
