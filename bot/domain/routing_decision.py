"""The one routing decision a complaint gets (pure): the keyword router and the region's learned model
together. Filing, ``kanal routing evaluate`` and ``kanal routing explain`` all call :func:`decide`.

K is the keyword router's result (``routing.KeywordRouter.route``: a confident OPD, an outside body,
or nothing sure); M the model's most probable label with its probability p (``routing_model``).
Precision first — a complaint in the wrong queue waits days, one in triage minutes:

* **No model** (the region has too few examples yet): K alone.
* **Outside**: K saw an outside body's words, or M says ``NONE`` with p ≥ ``OUTSIDE_P`` → triage with
  the outside body suggested (K's; none when only M says so). The citizen is told at filing
  (``clearly_outside``) only when K saw the body's words, no OPD keyword at all, and M (if any)
  agrees that it is not the Pemda's.
* **K routes to an OPD**: confident when M agrees (top label, p ≥ ``AGREE_P``), or when M does not
  contradict it (M gives K's OPD at least ``SUPPORT_P``, or never saw that OPD, and no other label
  reaches ``AGAINST_P``); otherwise triage ("disagree").
* **K is not sure**: M alone routes when very sure (p ≥ ``SURE_P``) and no keyword points elsewhere;
  M and K's best-scoring OPD (one of them, on a tie) agreeing routes at p ≥ ``AGREE_P``; otherwise
  triage ("weak" / "none").

``suggestions`` (the Arahkan buttons' order) mix M's probabilities with K's scores scaled to the best.
The thresholds are constants chosen on generated region histories (``testkit/routing_history.py``),
not on the evaluation sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.routing import KeywordRouter, RouteResult
from bot.domain.routing_model import NONE_LABEL, RoutingModel

AGREE_P = 0.35
SUPPORT_P = 0.10
AGAINST_P = 0.60
SURE_P = 0.85
OUTSIDE_P = 0.60
MODEL_WEIGHT = 0.6  # in the suggestions' order; the keyword scores weigh the rest


@dataclass(frozen=True)
class Decision:
    opd_code: str | None  # confident route; None → triage
    outside: str | None  # the outside body suggested (opd_code is None)
    clearly_outside: bool  # tell the citizen at filing time that it belongs elsewhere
    confidence: float  # 0..1
    suggestions: tuple[str, ...]  # OPD codes best first, for the Arahkan buttons
    reason: str  # keywords | model | agree | outside | weak | disagree | none
    keyword: RouteResult
    model: dict[str, float] | None
    topic: str | None


def _suggestions(k: RouteResult, probs: dict[str, float] | None, opds: tuple[str, ...]) -> tuple[str, ...]:
    best = max(k.scores.values(), default=0.0)
    mixed: dict[str, float] = {}
    for code in opds:
        score = (k.scores.get(code, 0.0) / best) if best else 0.0
        p = (probs or {}).get(code, 0.0)
        value = MODEL_WEIGHT * p + (1 - MODEL_WEIGHT) * score if probs is not None else score
        if value > 0:
            mixed[code] = value
    return tuple(code for code, _ in sorted(mixed.items(), key=lambda kv: (-kv[1], kv[0])))


def decide(text: str, router: KeywordRouter, model: RoutingModel | None) -> Decision:
    k = router.route(text)
    probs = model.probabilities(text) if model is not None else None
    suggestions = _suggestions(k, probs, router.opd_codes)

    def made(opd: str | None, reason: str, confidence: float, *, outside: str | None = None, clearly=False):
        return Decision(opd, outside, clearly, round(confidence, 4), suggestions, reason, k, probs, k.topic)

    if probs is None:
        if k.opd_code:
            return made(k.opd_code, "keywords", k.confidence)
        if k.outside:
            return made(None, "outside", k.confidence, outside=k.outside, clearly=not k.scores)
        return made(None, "weak" if k.scores else "none", k.confidence)

    top, p = max(probs.items(), key=lambda kv: (kv[1], kv[0]))
    if k.outside or (top == NONE_LABEL and p >= OUTSIDE_P):
        clearly = bool(k.outside) and not k.scores and top == NONE_LABEL
        return made(
            None, "outside", max(k.confidence, p if top == NONE_LABEL else 0.0), outside=k.outside, clearly=clearly
        )
    if k.opd_code:
        if top == k.opd_code and p >= AGREE_P:
            return made(k.opd_code, "agree", max(k.confidence, p))
        known = k.opd_code in probs
        supported = not known or probs[k.opd_code] >= SUPPORT_P
        if supported and not (top != k.opd_code and p >= AGAINST_P):
            return made(k.opd_code, "keywords", k.confidence * (probs.get(k.opd_code, 1.0) if known else 1.0))
        return made(None, "disagree", 0.0)
    if top != NONE_LABEL and top in router.opd_codes:
        best = max(k.scores.values(), default=0.0)
        best_k = {code for code, score in k.scores.items() if score == best}  # ties: every one of them
        if p >= SURE_P and (not best_k or top in best_k):
            return made(top, "model", p)
        if p >= AGREE_P and top in best_k:
            return made(top, "agree", p)
    return made(None, "weak" if k.scores else "none", 0.0)
