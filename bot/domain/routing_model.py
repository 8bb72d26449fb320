"""The region's learned router (pure: scikit-learn, no I/O): where complaints like this one went.

Trained on the region's own labelled examples — every routing decision its coordinators and OPDs
made (``/arahkan``, ``/teruskan``, ``/luar``) and the history it imported (``kanal routing train``):
a text's words (1–2-grams) and letter groups inside words (2–5, which absorb typos, affixes and chat
spellings) weighted by TF-IDF (sublinear term frequency), then a multinomial logistic regression,
whose probabilities are calibrated well enough to be compared with thresholds (``routing_decision``).
``NONE`` (not the Pemda's business) is a class like the OPDs.

Privacy: a word or letter group enters the vocabulary only when it occurs in at least two examples
(``min_df=2``), so one person's name, phone number or house number written in one complaint is not
kept in the stored model; and erasure drops every stored model (``storage.routing_repo``).

A model is pickled with the scikit-learn version that made it; :meth:`RoutingModel.loads` refuses
another version (returns None) and the keyword router works alone until the job trains again.
"""

from __future__ import annotations

import pickle
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

NONE_LABEL = "NONE"
#: below this many usable examples (or fewer than two labels) there is no model
MIN_EXAMPLES = 50
#: a label with fewer examples is left out of training (it cannot be learnt, only guessed)
MIN_PER_LABEL = 3
_FORMAT = 1


def _clean(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Figures:
    """Cross-validated figures of the whole decision (``routing_decision.decide``) on held-out folds."""

    examples: int = 0
    per_label: dict[str, int] = field(default_factory=dict)
    routed: int = 0  # confident routes (to an OPD)
    right: int = 0  # … to the right OPD
    wrong: int = 0  # … to a wrong OPD (a NONE text routed to any OPD counts)

    @property
    def coverage(self) -> float:
        return self.routed / self.examples if self.examples else 0.0

    @property
    def accuracy(self) -> float:
        """Accuracy of confident routes."""
        return self.right / self.routed if self.routed else 0.0

    @property
    def wrong_confident(self) -> float:
        """Share of all texts routed confidently to a wrong OPD."""
        return self.wrong / self.examples if self.examples else 0.0

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "coverage": round(self.coverage, 4),
            "accuracy": round(self.accuracy, 4),
            "wrong_confident": round(self.wrong_confident, 4),
        }

    def count(self, truth: str, predicted: str | None) -> None:
        self.examples += 1
        self.per_label[truth] = self.per_label.get(truth, 0) + 1
        if predicted is None:
            return
        self.routed += 1
        if predicted == truth:
            self.right += 1
        else:
            self.wrong += 1


class RoutingModel:
    """A trained pipeline: ``probabilities(text)`` gives label → probability (summing to 1)."""

    def __init__(self, pipeline: Pipeline, n_examples: int) -> None:
        self.pipeline = pipeline
        self.n_examples = n_examples
        self.labels: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)

    def probabilities(self, text: str) -> dict[str, float]:
        row = self.pipeline.predict_proba([_clean(text)])[0]
        return {label: float(p) for label, p in zip(self.labels, row, strict=True)}

    def dumps(self) -> bytes:
        return pickle.dumps(
            {"format": _FORMAT, "sklearn": sklearn.__version__, "n": self.n_examples, "pipeline": self.pipeline},
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    @classmethod
    def loads(cls, blob: bytes) -> RoutingModel | None:
        """The model in ``blob`` (from :meth:`dumps`, read from the region's own database), or None
        when another scikit-learn version or format made it."""
        try:
            data = pickle.loads(blob)  # noqa: S301 - our own rows, written by dumps()
        except Exception:
            return None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("sklearn") != sklearn.__version__:
            return None
        return cls(data["pipeline"], int(data["n"]))


def usable(examples: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The examples a model learns from: non-empty texts of labels with enough examples."""
    rows = [(t, lab) for t, lab in examples if t and t.strip() and lab]
    counts = Counter(lab for _, lab in rows)
    return [(t, lab) for t, lab in rows if counts[lab] >= MIN_PER_LABEL]


def _pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)),
            (
                "letters",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=300_000
                ),
            ),
        ]
    )
    return Pipeline([("features", features), ("classify", LogisticRegression(C=10.0, max_iter=300))])


def train(examples: Sequence[tuple[str, str]]) -> RoutingModel | None:
    """A model of ``(text, label)`` examples; None when there are too few to learn from."""
    rows = usable(examples)
    if len(rows) < MIN_EXAMPLES or len({lab for _, lab in rows}) < 2:
        return None
    pipeline = _pipeline()
    pipeline.fit([_clean(t) for t, _ in rows], [lab for _, lab in rows])
    return RoutingModel(pipeline, len(rows))


def cross_validate(
    examples: Sequence[tuple[str, str]],
    route: Callable[[str, RoutingModel | None], str | None],
    *,
    folds: int = 5,
    seed: int = 7,
) -> Figures:
    """``route(text, model)`` (the whole decision: OPD code or None for triage) scored on each fold
    with a model trained on the other folds."""
    rows = usable(examples)
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    figures = Figures()
    for k in range(folds):
        held = {i for n, i in enumerate(order) if n % folds == k}
        model = train([rows[i] for i in order if i not in held])
        for i in sorted(held):
            text, truth = rows[i]
            figures.count(truth, route(text, model))
    return figures
