"""How routing fared in the real world over a month (pure): the coordinators' monthly figures.

From the history events of the complaints filed in the month (``filed``, ``auto_routed``, ``route``,
``forward``, ``return``, ``refer_out``), in order per complaint:

* **straight**: routed by the router at filing (``auto_routed``) — the share the coordinators never
  had to touch;
* **re-routed**: a complaint that reached an OPD (by the router or a coordinator) and was later given
  back (``return``: /kembalikan) or passed on (``forward``: /teruskan) — the real-world wrong-route
  rate, counted against the OPD it first went to;
* **outside**: closed as not the Pemda's business (``refer_out``: /luar).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ASSIGN = ("auto_routed", "route")
MOVED_ON = ("return", "forward")


@dataclass
class OpdRouting:
    opd: str
    assigned: int = 0  # complaints whose first OPD was this one
    straight: int = 0  # … of them routed there by the router at filing
    rerouted: int = 0  # … of them given back or passed on later

    @property
    def rerouted_share(self) -> float:
        return self.rerouted / self.assigned if self.assigned else 0.0


@dataclass
class RoutingMonth:
    filed: int = 0
    straight: int = 0
    assigned: int = 0
    rerouted: int = 0
    outside: int = 0
    per_opd: list[OpdRouting] = field(default_factory=list)  # most re-routed share first

    @property
    def straight_share(self) -> float:
        return self.straight / self.filed if self.filed else 0.0

    @property
    def rerouted_share(self) -> float:
        return self.rerouted / self.assigned if self.assigned else 0.0


def routing_month(events: Iterable[tuple[int, str, str | None]]) -> RoutingMonth:
    """The month's figures from ``(complaint_id, action, opd_code after the action)`` rows, in
    event order per complaint (the complaints filed in the month)."""
    first: dict[int, tuple[str, bool]] = {}  # complaint → (first OPD, by the router)
    moved: set[int] = set()
    filed: set[int] = set()
    outside: set[int] = set()
    for cid, action, opd in events:
        if action == "filed":
            filed.add(cid)
        elif action in ASSIGN and cid not in first and opd:
            first[cid] = (opd, action == "auto_routed")
        elif action in MOVED_ON and cid in first:
            moved.add(cid)
        elif action == "refer_out":
            outside.add(cid)
    per: dict[str, OpdRouting] = {}
    for cid, (opd, auto) in first.items():
        row = per.setdefault(opd, OpdRouting(opd))
        row.assigned += 1
        row.straight += auto
        row.rerouted += cid in moved
    rows = sorted(per.values(), key=lambda r: (-r.rerouted_share, -r.assigned, r.opd))
    return RoutingMonth(
        filed=len(filed),
        straight=sum(r.straight for r in rows),
        assigned=len(first),
        rerouted=len(moved),
        outside=len(outside),
        per_opd=rows,
    )
