"""Training the region's routing model and reading a region's history, shared by the
``routing_retrain`` job and ``kanal routing train|evaluate``.

* :func:`retrain`: the examples in the database (staff decisions and imported history), a model
  trained on them (in a worker thread, outside any transaction: the bot keeps serving turns), its
  cross-validated figures (the whole decision, ``routing_decision.decide``, on held-out folds),
  stored so every instance loads the same one. Too few examples: nothing is stored, the keyword
  router works alone.
* :func:`read_history`: a ``text,opd`` CSV checked as a whole (encoding, header, every OPD code)
  before anything is stored: a file with one problem loads nothing, and every problem is listed with
  its line.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sklearn

from bot.domain.routing import KeywordRouter
from bot.domain.routing_decision import decide
from bot.domain.routing_model import NONE_LABEL, Figures, cross_validate, train
from storage import Database

#: cross-validation folds of a retrain (the figures printed and stored with the model)
FOLDS = 5
MAX_PROBLEMS = 20


class HistoryError(Exception):
    """A history file that cannot be loaded; ``problems`` are one line each."""

    def __init__(self, path: str, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS] + (
            [f"… and {len(problems) - MAX_PROBLEMS} more"] if len(problems) > MAX_PROBLEMS else []
        )
        super().__init__(f"{path}: nothing loaded:\n  " + "\n  ".join(shown))
        self.problems = problems


@dataclass
class RetrainReport:
    model_id: int | None  # None: too few examples, no model stored
    examples: int
    per_label: dict[str, int] = field(default_factory=dict)
    figures: Figures | None = None
    seconds: float = 0.0
    stale: bool = False  # examples went while it trained (erasure, retention): not stored


def read_history(path: str | Path, opd_codes: set[str]) -> list[tuple[str, str]]:
    """The ``(text, opd)`` rows of a CSV with the header ``text,opd`` (``opd`` an OPD code of the
    region or ``NONE``); raises :class:`HistoryError` listing every problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise HistoryError(str(p), [f"cannot read it: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HistoryError(
            str(p),
            [
                f"line {line}: not UTF-8 (byte {raw[exc.start]:#04x} at position {exc.start}); "
                "save the file as CSV UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)')"
            ],
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "text" not in header or "opd" not in header:
        raise HistoryError(str(p), [f"line 1: the header must name the columns text,opd (found: {','.join(header)})"])
    ti, oi = header.index("text"), header.index("opd")
    rows: list[tuple[str, str]] = []
    problems: list[str] = []
    allowed = set(opd_codes) | {NONE_LABEL}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(ti, oi):
            problems.append(f"line {line}: expected the columns text,opd")
            continue
        body, code = row[ti].strip(), row[oi].strip().upper()
        if not body:
            problems.append(f"line {line}: empty text")
        elif code not in allowed:
            problems.append(f"line {line}: unknown OPD code {row[oi].strip()!r}")
        else:
            rows.append((body, code))
    if problems:
        unknown = sorted({p.split("'")[1] for p in problems if "unknown OPD code" in p})
        if unknown:
            problems.append(
                f"unknown codes: {', '.join(unknown)}; known: {', '.join(sorted(allowed))} (NONE: not the Pemda's)"
            )
        raise HistoryError(str(p), problems)
    if not rows:
        raise HistoryError(str(p), ["no rows after the header"])
    return rows


def figures_of(examples: list[tuple[str, str]], router: KeywordRouter, folds: int = FOLDS) -> Figures:
    """The whole decision's figures on held-out folds (trains ``folds`` models: CPU-heavy)."""
    return cross_validate(examples, lambda text, model: decide(text, router, model).opd_code, folds=folds)


async def retrain(db: Database, router: KeywordRouter, now: datetime, *, folds: int = FOLDS) -> RetrainReport:
    """Train on the stored examples and store the model. The examples are read in one unit of work
    and the model saved in another: training (seconds to tens of seconds) holds no transaction, so
    on SQLite, where every transaction is the one writer, turns go on meanwhile. A model is saved only
    if every example it learnt from is still there (an erasure meanwhile: the next run trains again)."""
    started = time.perf_counter()
    async with db.unit_of_work() as uow:
        top, examples = await uow.routing.training_snapshot()
    per_label = dict(Counter(label for _, label in examples))
    model = await asyncio.to_thread(train, examples)
    if model is None:
        return RetrainReport(None, len(examples), per_label, seconds=time.perf_counter() - started)
    figures = await asyncio.to_thread(figures_of, examples, router, folds)
    async with db.unit_of_work() as uow:
        if not await uow.routing.unchanged_since(top, len(examples)):
            return RetrainReport(None, len(examples), per_label, figures, time.perf_counter() - started, stale=True)
        model_id = await uow.routing.save_model(
            blob=model.dumps(),
            n_examples=model.n_examples,
            sklearn_version=sklearn.__version__,
            figures=figures.as_dict(),
            at=now,
        )
        await uow.commit()
    return RetrainReport(model_id, len(examples), per_label, figures, time.perf_counter() - started)
