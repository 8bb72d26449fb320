"""The monthly routing figures from complaint histories."""

from bot.domain.routing_figures import routing_month


def test_straight_rerouted_and_outside_per_opd():
    events = [
        (1, "filed", None),
        (1, "auto_routed", "PUPR"),
        (1, "answer", "PUPR"),
        (2, "filed", None),
        (2, "auto_routed", "PUPR"),
        (2, "return", None),  # PUPR was the wrong place
        (2, "route", "DLH"),
        (3, "filed", None),
        (3, "route", "DLH"),  # routed by a coordinator from triage
        (3, "forward", "DINKES"),  # passed on: DLH was the wrong place
        (4, "filed", None),
        (4, "refer_out", None),
        (5, "filed", None),  # still in triage
    ]
    r = routing_month(events)
    assert (r.filed, r.straight, r.assigned, r.rerouted, r.outside) == (5, 2, 3, 2, 1)
    assert r.straight_share == 0.4 and round(r.rerouted_share, 3) == 0.667
    by = {o.opd: (o.assigned, o.straight, o.rerouted) for o in r.per_opd}
    assert by == {"PUPR": (2, 2, 1), "DLH": (1, 0, 1)}
    assert [o.opd for o in r.per_opd] == ["DLH", "PUPR"]  # worst share first


def test_empty_month():
    r = routing_month([])
    assert (r.filed, r.straight_share, r.rerouted_share, r.per_opd) == (0, 0.0, 0.0, [])
