"""The region file's SP4N-LAPOR! ids ([lapor], opd.lapor_topic / lapor_instansi) and the wire format
module (pure: request bodies, parsed answers, privacy carried by code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain import lapor_wire as wire
from bot.domain.region import LaporMap, RegionError, load_region_file, parse_region


def region(lapor=None, **opd_extra) -> dict:
    raw = {
        "region": {"code": "X", "name": "Kab X"},
        "opd": [
            {"code": "PUPR", "name": "Dinas PU", "keywords": ["jalan"], **opd_extra.get("pupr", {})},
            {"code": "DLH", "name": "Dinas LH", "keywords": ["sampah"], **opd_extra.get("dlh", {})},
        ],
    }
    if lapor is not None:
        raw["lapor"] = lapor
    return raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(RegionError) as err:
        parse_region(raw)
    return err.value.problems


def test_demo_region_maps_every_opd():
    mapping = load_region_file().lapor
    assert mapping.instansi_id == "1000" and mapping.default_topic == "99"
    assert mapping.opd_for("1008", None) == "DISHUB" and mapping.topic_for("PUPR") == "34"
    assert mapping.topic_for(None) == "99" and mapping.instansi_for(None) == "1000"
    assert LaporMap.from_dict(load_region_file().config()["lapor"]) == mapping


def test_no_lapor_table_is_fine_and_maps_nothing():
    r = parse_region(region())
    assert r.lapor == LaporMap() and r.lapor.opd_for("1", "2") is None


def test_every_mapping_problem_is_reported_with_its_place():
    found = problems(
        region(
            {"instansi_id": "10 00", "default_topic": True, "instansi": "x"},
            pupr={"lapor_instansi": "2001", "lapor_topic": ["34"]},
            dlh={"lapor_instansi": "2001", "lapor_topic": ""},
        )
    )
    assert found == [
        "opd[0].lapor_topic: expected a SP4N-LAPOR! id (1-32 of A-Z a-z 0-9 _ -), got ['34']",
        "opd[1].lapor_topic: expected a SP4N-LAPOR! id (1-32 of A-Z a-z 0-9 _ -), got ''",
        "lapor.instansi: unknown key (known: instansi_id, default_topic)",
        "lapor.instansi_id: expected a SP4N-LAPOR! id (1-32 of A-Z a-z 0-9 _ -), got '10 00'",
        "lapor.default_topic: expected a SP4N-LAPOR! id (1-32 of A-Z a-z 0-9 _ -), got True",
        "opd[1].lapor_instansi: 2001 is also opd[0]'s; each OPD needs its own",
    ]
    assert problems(region({"default_topic": 99}, dlh={"lapor_topic": 37})) == [
        "lapor.instansi_id: required when an OPD has lapor_topic or lapor_instansi"
    ]


def test_an_opd_cannot_share_the_pemdas_instansi_and_lapor_must_be_a_table():
    assert problems(region({"instansi_id": 1000}, pupr={"lapor_instansi": 1000})) == [
        "opd[0].lapor_instansi: 1000 is the Pemda's lapor.instansi_id; an OPD needs its own"
    ]
    assert problems(region("1000")) == ["lapor: expected a [lapor] table"]


def test_disposition_finds_its_opd_by_instansi_else_by_a_topic_only_one_opd_has():
    m = LaporMap("1", "9", {"PUPR": "34", "DLH": "34", "DISHUB": "33"}, {"PUPR": "11"})
    assert m.opd_for("11", None) == "PUPR"
    assert m.opd_for("99", "33") == "DISHUB"
    assert m.opd_for("99", "34") is None  # two OPDs share the topic: the coordinators decide
    assert m.opd_for(None, None) is None


AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("privacy", "flags", "named"),
    [("biasa", (0, 0), True), ("anonim", (1, 0), False), ("rahasia", (1, 1), False), ("???", (1, 1), False)],
)
def test_privacy_is_carried_by_code(privacy, flags, named):
    body = wire.create_body(
        "tok-12345678",
        wire.NewReport("ADU-2026-00001", "Jalan rusak parah", privacy, AT, "34", "1001", "Jl. A", "Siti"),
    )
    assert (body["anonymous"], body["confidential"]) == flags
    assert ("reporter_name" in body) is named
    assert body["external_ref"] == "ADU-2026-00001" and body[wire.TOKEN_FIELD] == "tok-12345678"


def test_biasa_without_a_name_sends_none():
    body = wire.create_body("t" * 8, wire.NewReport("ADU-2026-00002", "Teks", "biasa", AT, reporter_name="  "))
    assert "reporter_name" not in body and "topic_id" not in body


def test_errors_say_whether_to_retry():
    limited = wire.error_for(429, {"message": "slow down"}, "120")
    assert limited.retry and limited.retry_after == 120.0
    assert wire.error_for(429, None, "soon").retry_after == wire.DEFAULT_RETRY
    assert wire.error_for(503, None).retry and wire.error_for(502, "<html>").retry
    refused = wire.error_for(401, {"status": "error", "message": "KEYTOKEN tidak valid"})
    assert refused.retry and refused.retry_after == wire.MAX_BACKOFF and "KANAL_LAPOR_TOKEN" in str(refused)
    assert not wire.error_for(422, {"code": "invalid_topic"}).retry


def test_answers_are_parsed_and_odd_ones_refused():
    assert wire.parse_created({"status": "ok", "TrackingID": 123, "existing": True}) == wire.Created("123", True)
    with pytest.raises(wire.WireError):
        wire.parse_created({"status": "ok"})
    with pytest.raises(wire.WireError):
        wire.parse_created({"status": "error", "message": "x"})
    topics = wire.parse_topics([{"id": 1, "parent": 0, "topic_name": "Kesehatan"}, {"bad": 1}])
    assert topics == [wire.Topic("1", "0", "Kesehatan")]
    page = wire.parse_updates(
        {
            "status": "ok",
            "cursor": "7",
            "updates": [
                {
                    "update_id": "7",
                    "type": "status",
                    "TrackingID": "55",
                    "status": "proses",
                    "date": "2026-11-23T03:00:00Z",
                },
                {"type": "mystery", "TrackingID": "56"},
                "junk",
            ],
        }
    )
    assert page.cursor == "7" and [u.tracking_id for u in page.updates] == ["55"]
    assert page.updates[0].at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_only_events_lapor_must_hear_of_become_calls():
    def calls(action, role="officer", channel="telegram", before="disposisi", after="tindak_lanjut", text="x"):
        return wire.calls_for_event(
            action=action, actor_role=role, channel=channel, from_state=before, to_state=after, text=text
        )

    assert calls("filed", role="citizen", before=None, after="disposisi") == ("create",)
    assert calls("filed", role="lapor", channel="lapor", before=None) == ()
    assert calls("answer") == ("answer", "status")
    assert calls("answer", before="tindak_lanjut") == ("answer",)
    assert calls("resolve", after="selesai") == ("answer", "status")
    assert calls("followup", role="citizen", before=None, after="disposisi") == ("followup",)
    assert calls("auto_routed", role="system", before=None) == ()
    assert calls("route", role="coordinator", before="triase", after="disposisi", text=None) == ("status",)
    assert calls("autoclose", role="system", before="selesai", after="ditutup", text=None) == ()  # both "selesai"
    assert calls("lapor_status", role="lapor", before=None) == ()
    assert calls("reclassify", before="disposisi", after="disposisi", text=None) == ()
