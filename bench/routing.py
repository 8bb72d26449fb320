"""Benchmark: routing a complaint with a model trained on 10,000 examples, and retraining (issue 20).

A generated history of the demo region (``testkit.routing_history``, ``--examples`` rows, default
10,000) trains the model the way the ``routing_retrain`` job does (``routing_model.train``, then
``dumps``/``loads`` as stored and read by every instance). Then ``--texts`` (2,000) other complaints
are routed one by one through ``routing_decision.decide`` — what filing runs — with the demo
region's keyword router and the model, beside the keyword router alone (the baseline) on the same
texts, alternating for ``--rounds`` rounds. Reported: the training time, the size of the stored
model, the cross-validated figures of the whole decision (``--folds``, 0 = skip), and the medians
over rounds of p50/p95/p99 per complaint. Goals: p95 < 20 ms, training < 60 s.

    .venv/bin/python -m bench.routing                        # 10,000 examples, 3 rounds
    .venv/bin/python -m bench.routing --examples 2000 --rounds 1 --folds 0      # quick
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.region import load_region_file  # noqa: E402
from bot.domain.routing import router_for_region  # noqa: E402
from bot.domain.routing_decision import decide  # noqa: E402
from bot.domain.routing_model import RoutingModel, cross_validate, train  # noqa: E402
from testkit.routing_history import history  # noqa: E402


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return tuple(s[min(len(s) - 1, int(q * len(s)))] * 1000 for q in (0.5, 0.95, 0.99))  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=10_000, help="training examples (default 10,000)")
    p.add_argument("--texts", type=int, default=2_000, help="complaints routed per round (default 2,000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: skip)")
    args = p.parse_args(argv)

    print(f"# routing benchmark · {platform.node()} · Python {platform.python_version()} · {time.strftime('%F %T')}")
    router = router_for_region(load_region_file())
    rows = history(args.examples, seed=1)
    started = time.perf_counter()
    model = train(rows)
    trained = time.perf_counter() - started
    assert model is not None
    blob = model.dumps()
    started = time.perf_counter()
    model = RoutingModel.loads(blob)
    loaded = time.perf_counter() - started
    assert model is not None
    print(f"training on {args.examples:,} examples: {trained:.1f} s (goal < 60 s)")
    print(f"stored model: {len(blob) / 1e6:.1f} MB, loaded in {loaded * 1000:.0f} ms")
    if args.folds:
        started = time.perf_counter()
        f = cross_validate(rows, lambda text, m: decide(text, router, m).opd_code, folds=args.folds)
        cv = time.perf_counter() - started
        print(
            f"cross-validated ({args.folds} folds, {cv:.0f} s): accuracy of confident routes {f.accuracy:.1%}, "
            f"coverage {f.coverage:.1%}, wrong-confident {f.wrong_confident:.1%} (a generated history: easy; "
            "speed, not quality)"
        )
        print(f"a retrain as the job does it (train + figures): {trained + cv:.0f} s (goal < 60 s)")
        trained += cv

    texts = [t for t, _ in history(args.texts, seed=2)]
    results: dict[str, list[tuple[float, float, float]]] = {"keywords alone": [], "keywords + model": []}
    for _ in range(args.rounds):
        for name, m in (("keywords alone", None), ("keywords + model", model)):
            samples = []
            for text in texts:
                t0 = time.perf_counter()
                decide(text, router, m)
                samples.append(time.perf_counter() - t0)
            results[name].append(quantiles(samples))
    print(f"per complaint, medians of {args.rounds} rounds over {args.texts:,} texts (ms):")
    print(f"  {'':18} {'p50':>7} {'p95':>7} {'p99':>7}")
    for name, rounds in results.items():
        p50, p95, p99 = (statistics.median(r[i] for r in rounds) for i in range(3))
        print(f"  {name:18} {p50:7.2f} {p95:7.2f} {p99:7.2f}")
    base = statistics.median(r[1] for r in results["keywords alone"])
    withm = statistics.median(r[1] for r in results["keywords + model"])
    print(f"p95 with the model: {withm:.2f} ms ({withm / base:.1f}× the keyword router alone; goal < 20 ms)")
    return 0 if withm < 20 and trained < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
