"""The learned router: the model (train, probabilities, storing and refusing another version) and the
one decision that combines it with the keyword router (each rule of ``routing_decision``)."""

from __future__ import annotations

import pickle

import pytest

from bot.domain import routing_model
from bot.domain.region import RegionError, load_region_file, parse_region
from bot.domain.routing import KeywordRouter, Outside, router_for_region
from bot.domain.routing_decision import AGREE_P, SURE_P, decide
from bot.domain.routing_model import MIN_EXAMPLES, NONE_LABEL, RoutingModel, cross_validate, train
from testkit.routing_history import history


class Stub:
    """A model that says what the test wants."""

    def __init__(self, probs: dict[str, float]) -> None:
        self.probs = probs

    def probabilities(self, text: str) -> dict[str, float]:
        return self.probs


@pytest.fixture(scope="module")
def router() -> KeywordRouter:
    return KeywordRouter(
        [("PUPR", ["jalan rusak", "jembatan"]), ("DLH", ["sampah"]), ("DINKES", ["puskesmas"])],
        outside=[Outside("PLN", "PLN (123)", ("listrik padam", "token listrik"))],
    )


@pytest.fixture(scope="module")
def model() -> RoutingModel:
    m = train(history(800, seed=11))
    assert m is not None
    return m


# --- the model -------------------------------------------------------------------------------------
def test_a_model_learns_what_the_keywords_do_not_say(model):
    assert set(model.labels) >= {"PUPR", "DLH", NONE_LABEL} and model.n_examples == 800
    p = model.probabilities("talud dekat rumah ambrol kena hujan")  # no keyword of the demo region
    assert max(p, key=p.get) == "PUPR" and abs(sum(p.values()) - 1) < 1e-6
    p = model.probabilities("gaji di pabrik belum dibayar")
    assert max(p, key=p.get) == NONE_LABEL


def test_stored_and_loaded_and_another_version_refused(model, monkeypatch):
    again = RoutingModel.loads(model.dumps())
    text = "sampah tidak diangkut seminggu"
    assert again is not None and again.probabilities(text) == model.probabilities(text)
    monkeypatch.setattr(routing_model.sklearn, "__version__", "0.1")
    assert RoutingModel.loads(model.dumps()) is not None  # dumps and loads agree on the running version
    blob = pickle.dumps({"format": 1, "sklearn": "0.0.1", "n": 1, "pipeline": None})
    assert RoutingModel.loads(blob) is None and RoutingModel.loads(b"not a pickle") is None


def test_too_few_examples_make_no_model():
    rows = history(MIN_EXAMPLES - 1, seed=3)
    assert train(rows) is None
    assert train([(t, "PUPR") for t, _ in history(200, seed=3)]) is None  # one label: nothing to choose
    rare = [*history(200, seed=3), ("satu-satunya contoh", "KOMINFO2")]
    assert "KOMINFO2" not in train(rare).labels  # a label with too few examples is not learnt


def test_cross_validation_scores_the_whole_decision(router):
    figures = cross_validate(history(300, seed=5), lambda text, m: decide(text, router, m).opd_code, folds=3)
    assert figures.examples == 300 and figures.routed == figures.right + figures.wrong
    assert 0 <= figures.wrong_confident <= 1 and figures.as_dict()["coverage"] == round(figures.coverage, 4)


# --- the decision ----------------------------------------------------------------------------------
def test_without_a_model_the_keywords_decide(router):
    d = decide("jalan rusak parah", router, None)
    assert (d.opd_code, d.reason, d.model) == ("PUPR", "keywords", None)
    d = decide("listrik padam tiga hari", router, None)
    assert (d.opd_code, d.outside, d.clearly_outside, d.reason) == (None, "PLN", True, "outside")
    d = decide("sampah di jembatan dan jembatan", router, None)
    assert d.opd_code is None or d.opd_code in {"PUPR", "DLH"}
    assert decide("halo apa kabar", router, None).reason == "none"


def test_agreeing_evidence_routes(router):
    d = decide("jalan rusak parah", router, Stub({"PUPR": 0.7, "DLH": 0.2, NONE_LABEL: 0.1}))
    assert (d.opd_code, d.reason) == ("PUPR", "agree") and d.confidence >= 0.7


def test_a_model_strongly_against_the_keywords_sends_to_triage(router):
    d = decide("jalan rusak parah", router, Stub({"DLH": 0.8, "PUPR": 0.05, NONE_LABEL: 0.15}))
    assert (d.opd_code, d.reason) == (None, "disagree")
    assert d.suggestions[:2] == ("DLH", "PUPR")  # the best suggestion first on the Arahkan buttons


def test_keywords_route_when_the_model_does_not_contradict(router):
    d = decide("jalan rusak parah", router, Stub({"DLH": 0.4, "PUPR": 0.3, NONE_LABEL: 0.3}))
    assert (d.opd_code, d.reason) == ("PUPR", "keywords")
    d = decide("jalan rusak parah", router, Stub({"DINKES": 0.5, NONE_LABEL: 0.5}))  # never saw PUPR
    assert d.opd_code == "PUPR"


def test_a_very_sure_model_routes_what_the_keywords_miss(router):
    assert decide("talud ambrol", router, Stub({"PUPR": SURE_P, "DLH": 1 - SURE_P})).opd_code == "PUPR"
    d = decide("talud ambrol", router, Stub({"PUPR": SURE_P - 0.05, "DLH": 1.05 - SURE_P}))
    assert (d.opd_code, d.reason, d.suggestions[0]) == (None, "none", "PUPR")
    # weak keywords and the model agreeing
    weak = decide("jembatan dan sampah", router, Stub({"DLH": AGREE_P + 0.1, "PUPR": 0.3, NONE_LABEL: 0.15}))
    assert weak.keyword.opd_code is None and weak.opd_code == "DLH" and weak.reason == "agree"


def test_not_ours_from_either_side(router):
    d = decide("listrik padam tiga hari", router, Stub({NONE_LABEL: 0.9, "PUPR": 0.1}))
    assert (d.opd_code, d.outside, d.clearly_outside) == (None, "PLN", True)
    d = decide("listrik padam tiga hari", router, Stub({"PUPR": 0.9, NONE_LABEL: 0.1}))
    assert (d.opd_code, d.outside, d.clearly_outside) == (None, "PLN", False)  # the model doubts: not told
    d = decide("kades menyelewengkan bantuan", router, Stub({NONE_LABEL: 0.8, "DLH": 0.2}))
    assert (d.opd_code, d.outside, d.reason) == (None, None, "outside")  # only the model: no body named
    d = decide("jalan rusak dan listrik padam", router, None)
    assert d.opd_code is None and not d.clearly_outside  # an OPD's words too: the citizen is not told


def test_the_demo_region_with_a_model_still_routes_its_keywords(model):
    router = router_for_region(load_region_file())
    assert decide("sampah tidak diangkut seminggu di gang mawar", router, model).opd_code == "DLH"
    assert decide("THR dari pabrik belum dibayar", router, model).outside == "NAKER"


# --- the region file's outside bodies ---------------------------------------------------------------
def test_outside_bodies_validated_with_their_place():
    raw = {
        "region": {"code": "X", "name": "X"},
        "opd": [{"code": "PUPR", "name": "PU", "keywords": ["jalan"]}],
        "outside": [
            {"code": "PUPR", "name": "", "markers": []},
            {"code": "pln!", "name": "PLN", "markers": ["listrik"], "lapor": "ya"},
        ],
    }
    with pytest.raises(RegionError) as err:
        parse_region(raw)
    text = str(err.value)
    for problem in (
        "outside[0].code: PUPR is an OPD's code",
        "outside[0].name: required",
        "outside[0].markers: expected a non-empty list",
        "outside[1].code: expected 1-20 of A-Z 0-9 -",
        "outside[1].lapor: expected true or false",
    ):
        assert problem in text, text
    ok = parse_region({**raw, "outside": [{"code": "PLN", "name": "PLN (123)", "markers": ["Listrik"]}]})
    assert ok.outside == (Outside("PLN", "PLN (123)", ("listrik",), True),)
    assert ok.config()["outside"] == [{"code": "PLN", "name": "PLN (123)", "markers": ["listrik"], "lapor": True}]
