"""The keyword router on real, public complaint texts it was never written from
(``tests/data/real/``: citizens' words quoted in Indonesian news reports and one city's complaint
app; sources and labelling rules in its README). Prints the figures with ``-s``; asserts only floors
that hold, so a change that makes the router confidently wrong more often is seen."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from bot.domain.region import load_region_file
from bot.domain.routing import router_for_region

DATA = Path(__file__).resolve().parents[1] / "data" / "real" / "complaints_public.csv"


def test_keyword_router_on_real_complaints():
    router = router_for_region(load_region_file())
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["opd"]) for r in csv.DictReader(f)]
    assert len(rows) >= 100
    routed = right = outside_named = 0
    wrong: Counter[tuple[str, str]] = Counter()
    lines = []
    for text, truth in rows:
        r = router.route(text)
        if r.outside and truth == "NONE":
            outside_named += 1
        if r.opd_code is None:
            continue
        routed += 1
        if r.opd_code == truth:
            right += 1
        else:
            wrong[(truth, r.opd_code)] += 1
            lines.append(f"  {truth:>11} → {r.opd_code:<11} {text[:90]}")
    n = len(rows)
    none = sum(1 for _, t in rows if t == "NONE")
    print(
        f"\nreal complaints ({n}, {none} not the Pemda's): accuracy of confident routes "
        f"{right / max(routed, 1):.3f} ({right}/{routed}), coverage {routed / n:.3f}, "
        f"wrong-confident {(routed - right) / n:.3f}; not-ours texts with the outside body named "
        f"{outside_named}/{none}"
    )
    print("\n".join(lines))
    assert (routed - right) / n <= 0.10, "wrong-confident share over the issue's 10 % for the keyword router"
    assert routed / n >= 0.45
