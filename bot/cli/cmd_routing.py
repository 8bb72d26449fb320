"""`kanal routing train FILE.csv | evaluate FILE.csv -o PREDICTIONS.csv | explain "teks"`: bootstrap
the region's routing model from its history, measure the router on labelled texts, and show why a
text goes where it goes. Every decision is ``bot.domain.routing_decision.decide`` with the loaded
region's keyword router and the stored model: exactly what a new complaint gets."""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from datetime import datetime

from bot.domain.export_safety import safe_row
from bot.domain.routing_decision import Decision, decide
from bot.domain.routing_model import NONE_LABEL, Figures
from bot.engine.region_context import RegionContext, region_context, routing_model
from bot.services.routing_service import read_history, retrain
from storage import Database

COMMANDS = ("routing",)
HISTORY_HELP = "CSV UTF-8 with the header text,opd; opd = an OPD code of the loaded region, or NONE (not ours)"


def add_parsers(sub) -> None:
    routing = sub.add_parser(
        "routing",
        help="complaint routing: train from history, evaluate, explain",
        description="Train the region's routing model from its history (LAPOR!/SP4N exports, past dispositions), "
        "measure the router on labelled complaints, explain one decision. "
        "/ Latih model pengarahan dari riwayat wilayah, ukur, dan jelaskan satu keputusan.",
    )
    rsub = routing.add_subparsers(dest="routing_command", metavar="ACTION", required=True)
    tr = rsub.add_parser(
        "train",
        help="add a labelled history to the region's examples and retrain",
        description="Check FILE as a whole (unknown OPD codes, encoding: then nothing is loaded), add its rows "
        "as labelled examples of the loaded region, train the model and print the examples per OPD and "
        "the cross-validated figures.",
    )
    tr.add_argument("file", metavar="FILE.csv", help=HISTORY_HELP)
    ev = rsub.add_parser(
        "evaluate",
        help="route labelled texts as new complaints would be routed; store nothing",
        description="Route every text of FILE with the current router (keywords and the stored model) exactly "
        "as a new complaint, store nothing, write text,opd,predicted,confidence,reason (predicted empty = "
        "triage) and print the accuracy of confident routes, the coverage and the wrong-confident share.",
    )
    ev.add_argument("file", metavar="FILE.csv", help=HISTORY_HELP)
    ev.add_argument("-o", "--output", metavar="PREDICTIONS.csv", required=True, help="where to write the predictions")
    ex = rsub.add_parser(
        "explain",
        help="one text's decision with its evidence",
        description="The decision for TEXT with its evidence: keywords hit per OPD, outside-authority markers, "
        "the model's probabilities.",
    )
    ex.add_argument("text", metavar="TEXT")


async def run(args: argparse.Namespace, db: Database, settings, now: datetime) -> int:
    if args.routing_command == "train":
        return await _train(db, args.file, now)
    async with db.unit_of_work() as uow:
        ctx = await region_context(uow.region)
        model = await routing_model(uow.routing)
    if args.routing_command == "evaluate":
        return _evaluate(ctx, model, args.file, args.output)
    _explain(ctx, decide(args.text, ctx.router, model))
    return 0


async def _train(db: Database, path: str, now: datetime) -> int:
    """The rows are stored in one short transaction; training (tens of seconds for 10,000) holds
    none, so a running bot's turns never wait for it."""
    async with db.unit_of_work() as uow:
        ctx = await region_context(uow.region)
        rows = read_history(path, set(ctx.opd_names))
        added = await uow.routing.add_imported(rows, now)
        total = await uow.routing.counts_by_label()
        await uow.commit()
    print(f"» {added} examples read from {path}; training on {sum(total.values())} examples …", flush=True)
    report = await retrain(db, ctx.router, now)
    print("examples per OPD:")
    for label, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {label:14} {n:6}  {ctx.opd_names.get(label, 'bukan urusan Pemda / not ours')}")
    if report.stale:
        print("examples were erased while it trained: nothing stored; run it again")
        return 1
    if report.model_id is None:
        print("too few examples for a model yet: the keyword router routes alone")
        return 0
    print(f"model {report.model_id} trained in {report.seconds:.1f} s; cross-validated ({_FOLDS_TEXT}):")
    _print_figures(report.figures)
    return 0


_FOLDS_TEXT = "5 folds, the whole decision: keywords and model"


def _print_figures(f: Figures | None) -> None:
    if f is None:
        return
    print(f"  accuracy of confident routes  {f.accuracy:7.1%}  ({f.right}/{f.routed})")
    print(f"  coverage (routed straight)    {f.coverage:7.1%}  ({f.routed}/{f.examples})")
    print(f"  wrong-confident               {f.wrong_confident:7.1%}  ({f.wrong}/{f.examples})")


def _evaluate(ctx: RegionContext, model, path: str, output: str) -> int:
    rows = read_history(path, set(ctx.opd_names))
    total = Figures()
    per: dict[str, Figures] = {}
    wrong: Counter[tuple[str, str]] = Counter()
    with open(output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "opd", "predicted", "confidence", "reason"])
        for text, truth in rows:
            d = decide(text, ctx.router, model)
            total.count(truth, d.opd_code)
            per.setdefault(truth, Figures()).count(truth, d.opd_code)
            if d.opd_code and d.opd_code != truth:
                wrong[(truth, d.opd_code)] += 1
            reason = f"{d.reason}:{d.outside}" if d.outside else d.reason
            w.writerow(safe_row([text, truth, d.opd_code or "", f"{d.confidence:.3f}", reason]))
    print(f"{len(rows)} texts routed with {'keywords and model' if model else 'keywords only (no model yet)'}")
    _print_figures(total)
    print("per OPD (label: routed straight / right / wrong):")
    for label, f in sorted(per.items()):
        print(f"  {label:14} {f.examples:5} texts  {f.coverage:6.1%} routed  {f.right:4} right  {f.wrong:4} wrong")
    if wrong:
        print("wrong routes (label → predicted):")
        for (truth, got), n in wrong.most_common(10):
            print(f"  {truth} → {got}: {n}")
    print(f"predictions written to {output}")
    return 0


def _explain(ctx: RegionContext, d: Decision) -> None:
    k = d.keyword
    if d.opd_code:
        print(f"decision: {d.opd_code} ({ctx.opd_names.get(d.opd_code, '')}), confidence {d.confidence:.2f}")
    elif d.outside:
        body = next((o.name for o in ctx.outside if o.code == d.outside), d.outside)
        told = "; the citizen is told at filing" if d.clearly_outside else ""
        print(f"decision: triage, not the Pemda's: {d.outside} ({body}){told}")
    else:
        print("decision: triage (the coordinators route it)")
    print(f"reason: {d.reason}")
    print("keywords hit:" if k.matched else "keywords hit: none")
    for code, words in sorted(k.matched.items(), key=lambda kv: -k.scores[kv[0]]):
        print(f"  {code:14} {k.scores[code]:5.2f}  {', '.join(words)}")
    if k.outside_matched:
        print("outside-authority markers:")
        for code, words in k.outside_matched.items():
            print(f"  {code:14} {', '.join(words)}")
    if d.model is None:
        print("model: none yet (the keyword router routes alone)")
    else:
        top = sorted(d.model.items(), key=lambda kv: -kv[1])[:5]
        print("model probabilities: " + ", ".join(f"{label} {p:.2f}" for label, p in top))
    if d.suggestions:
        print("suggested order for the coordinators: " + ", ".join(d.suggestions[:5]))
    if NONE_LABEL in (d.model or {}) and d.opd_code is None and not d.outside:
        print(f"(model's {NONE_LABEL}: not the Pemda's = {d.model[NONE_LABEL]:.2f})")
