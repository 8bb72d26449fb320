"""The digest's chart: overdue complaints and IKM by OPD, one PNG (matplotlib, headless).

Uses matplotlib's object API with the Agg canvas directly (no ``pyplot``, no global state, no
display), so it is safe in a worker thread (:func:`render_chart_async`) while the event loop runs.
matplotlib is imported on the first chart, so the chat and the CLI start without it.
Texts (title, axis labels, legend) come from the caller already translated.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_BARS = 12
OPEN_COLOR = "#9ecae1"
OVERDUE_COLOR = "#d62728"
IKM_COLOR = "#2c7fb8"
PREVIOUS_COLOR = "#404040"
# IKM grade thresholds on the 25-100 scale (PermenPANRB 14/2017): D < 65 ≤ C < 76.61 ≤ B < 88.31 ≤ A
GRADE_LINES = ((65.0, "C"), (76.61, "B"), (88.31, "A"))


@dataclass(frozen=True)
class ChartLabels:
    title: str
    complaints_title: str
    open_label: str
    overdue_label: str
    ikm_title: str
    ikm_label: str
    previous_label: str
    no_complaints: str
    no_ikm: str
    decimal: str = "."  # the language's decimal separator ("," in Indonesian)


def _draw_complaints(ax: Any, complaints: Sequence[tuple[str, int, int]], labels: ChartLabels) -> None:
    rows = [r for r in complaints if r[1] or r[2]][:MAX_BARS]
    ax.set_title(labels.complaints_title, fontsize=11)
    if not rows:
        ax.text(0.5, 0.5, labels.no_complaints, ha="center", va="center", transform=ax.transAxes, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    names = [r[0] for r in rows][::-1]
    opens = [r[1] for r in rows][::-1]
    lates = [r[2] for r in rows][::-1]
    y = range(len(rows))
    ax.barh(y, opens, color=OPEN_COLOR, label=labels.open_label)
    ax.barh(y, lates, color=OVERDUE_COLOR, label=labels.overdue_label, height=0.5)
    ax.set_yticks(list(y), names, fontsize=9)
    for i, (o, late) in enumerate(zip(opens, lates, strict=False)):
        ax.text(o, i, f" {late}/{o}", va="center", fontsize=8)
    ax.set_xlim(0, max(opens) * 1.25 + 1)
    ax.legend(loc="lower right", fontsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)


def _draw_grades(ax: Any) -> None:
    for x, grade in GRADE_LINES:
        ax.axvline(x, color="#999999", linewidth=0.8, linestyle=":")
        # the grade a bar past this line earns, at the foot of the line (inside the axes)
        ax.text(
            x + 0.6,
            0.01,
            grade,
            ha="left",
            va="bottom",
            fontsize=8,
            color="#666666",
            transform=ax.get_xaxis_transform(),
        )


def _draw_ikm(ax: Any, ikm: Sequence[tuple[str, float | None, float | None]], labels: ChartLabels) -> None:
    scored = [r for r in ikm if r[1] is not None or r[2] is not None][:MAX_BARS]
    ax.set_title(labels.ikm_title, fontsize=11)
    if not scored:
        ax.text(0.5, 0.5, labels.no_ikm, ha="center", va="center", transform=ax.transAxes, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    names = [r[0] for r in scored][::-1]
    now = [r[1] if r[1] is not None else 0.0 for r in scored][::-1]
    prev = [r[2] for r in scored][::-1]
    y = list(range(len(scored)))
    ax.barh(y, now, color=IKM_COLOR, label=labels.ikm_label)
    px = [(p, i) for i, p in enumerate(prev) if p is not None]
    if px:
        ax.scatter(
            [p for p, _ in px],
            [i for _, i in px],
            marker="|",
            s=220,
            color=PREVIOUS_COLOR,
            label=labels.previous_label,
            zorder=3,
        )
    for i, v in enumerate(now):
        if v:
            ax.text(v, i, f" {v:.2f}".replace(".", labels.decimal), va="center", fontsize=8)
    _draw_grades(ax)
    ax.set_yticks(y, names, fontsize=9)
    ax.set_xlim(25, 108)
    ax.legend(loc="lower right", fontsize=8)


def render_chart(
    complaints: Sequence[tuple[str, int, int]],
    ikm: Sequence[tuple[str, float | None, float | None]],
    labels: ChartLabels,
    *,
    dpi: int = 100,
) -> bytes:
    """PNG bytes. ``complaints``: (OPD label, open, overdue), worst first; ``ikm``: (OPD label,
    IKM this period or None, IKM of the previous period or None). At most ``MAX_BARS`` each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - heavy, only when a chart is drawn
    from matplotlib.figure import Figure  # noqa: PLC0415 - heavy, only when a chart is drawn

    fig = Figure(figsize=(10, 5.2), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(labels.title, fontsize=13, fontweight="bold")
    left, right = fig.subplots(1, 2)
    _draw_complaints(left, complaints, labels)
    _draw_ikm(right, ikm, labels)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


async def render_chart_async(*args, **kwargs) -> bytes:
    """:func:`render_chart` in a worker thread (drawing takes a few hundred ms of CPU)."""
    return await asyncio.to_thread(render_chart, *args, **kwargs)
