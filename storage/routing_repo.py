"""The region's routing examples and trained models (``routing_examples``, ``routing_models``).

An example is a complaint's text with where staff decided it belongs: ``/arahkan`` and ``/teruskan``
(the OPD), ``/luar`` (``NONE``: not the Pemda's business), ``/kembalikan`` (the OPD that gave it
back: a negative mark, never trained on as a positive) — one row per complaint, its last decision —
or a row of the region's history imported by ``kanal routing train`` (no complaint). The text of a
complaint's example is personal data: erasure and retention delete the row with the complaint's text
and drop the stored models trained on it (``forget_complaints``); the next ``routing_retrain`` run
trains again from what is left. Imported rows carry no link to a person and stay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RoutingExample, RoutingModelRow

#: the source of a negative mark (the OPD it was wrong for): not a training label
NEGATIVE_SOURCE = "kembalikan"
IMPORT_SOURCE = "import"
#: stored models kept (the newest first); older ones are deleted when a new one is saved
KEEP_MODELS = 3


class RoutingRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, *, complaint_id: int, text: str, label: str, source: str, at: datetime) -> None:
        """Staff decided where complaint ``complaint_id`` belongs: its example, replacing an earlier one."""
        await self.session.execute(delete(RoutingExample).where(RoutingExample.complaint_id == complaint_id))
        self.session.add(
            RoutingExample(complaint_id=complaint_id, text=text, label=label, source=source, created_at=at)
        )
        await self.session.flush()

    async def add_imported(self, rows: Sequence[tuple[str, str]], at: datetime, *, once: bool = False) -> int:
        """Rows of the region's history (text, OPD code or NONE), in one statement per 1,000. With
        ``once``, a row already imported (same text and label) is not added again: a history file
        loaded twice, or two overlapping exports, teach the model each report once."""
        if once:
            stmt = select(RoutingExample.text, RoutingExample.label).where(RoutingExample.source == IMPORT_SOURCE)
            seen = {tuple(r) for r in (await self.session.execute(stmt)).all()}
            fresh = []
            for row in rows:
                if tuple(row) not in seen:
                    seen.add(tuple(row))
                    fresh.append(row)
            rows = fresh
        values = [
            {"complaint_id": None, "text": text, "label": label, "source": IMPORT_SOURCE, "created_at": at}
            for text, label in rows
        ]
        for i in range(0, len(values), 1000):
            await self.session.execute(insert(RoutingExample), values[i : i + 1000])
        return len(values)

    async def training_snapshot(self) -> tuple[int, list[tuple[str, str]]]:
        """The training examples with the highest example id at this moment: a model trained on them
        is stored only if none of them went meanwhile (:meth:`unchanged_since`)."""
        top = (await self.session.execute(select(func.max(RoutingExample.id)))).scalar_one() or 0
        return int(top), await self.training_examples()

    async def unchanged_since(self, top: int, n: int) -> bool:
        """Are the ``n`` training examples up to id ``top`` all still there (no erasure, retention or
        new decision replaced one while a model was trained on them)?"""
        stmt = (
            select(func.count())
            .select_from(RoutingExample)
            .where(RoutingExample.id <= top, RoutingExample.source != NEGATIVE_SOURCE)
        )
        return int((await self.session.execute(stmt)).scalar_one()) == n

    async def training_examples(self) -> list[tuple[str, str]]:
        """(text, label) of every example a model learns from (negative marks left out), oldest first."""
        stmt = (
            select(RoutingExample.text, RoutingExample.label)
            .where(RoutingExample.source != NEGATIVE_SOURCE)
            .order_by(RoutingExample.id)
        )
        return [(text, label) for text, label in (await self.session.execute(stmt)).all()]

    async def all_examples(self) -> list[tuple[str, str, str]]:
        """(text, label, source) of every example, oldest first."""
        stmt = select(RoutingExample.text, RoutingExample.label, RoutingExample.source).order_by(RoutingExample.id)
        return [tuple(row) for row in (await self.session.execute(stmt)).all()]  # type: ignore[misc]

    async def counts_by_label(self) -> dict[str, int]:
        stmt = (
            select(RoutingExample.label, func.count())
            .where(RoutingExample.source != NEGATIVE_SOURCE)
            .group_by(RoutingExample.label)
        )
        return {label: int(n) for label, n in (await self.session.execute(stmt)).all()}

    async def new_since(self, at: datetime | None) -> int:
        """Examples recorded after ``at`` (all when None): does the model need training again?"""
        stmt = select(func.count()).select_from(RoutingExample)
        if at is not None:
            stmt = stmt.where(RoutingExample.created_at > at)
        return int((await self.session.execute(stmt)).scalar_one())

    async def save_model(
        self, *, blob: bytes, n_examples: int, sklearn_version: str, figures: dict[str, Any], at: datetime
    ) -> int:
        row = RoutingModelRow(
            created_at=at, n_examples=n_examples, sklearn_version=sklearn_version, blob=blob, figures=figures
        )
        self.session.add(row)
        await self.session.flush()
        keep = select(RoutingModelRow.id).order_by(RoutingModelRow.id.desc()).limit(KEEP_MODELS)
        keep_ids = list((await self.session.execute(keep)).scalars())
        await self.session.execute(delete(RoutingModelRow).where(RoutingModelRow.id.not_in(keep_ids)))
        return row.id

    async def latest_model_stamp(self) -> tuple[int, datetime] | None:
        """(id, created_at) of the newest model: what a cached model is checked against (an id alone
        may come again on SQLite once every model was deleted)."""
        stmt = select(RoutingModelRow.id, RoutingModelRow.created_at).order_by(RoutingModelRow.id.desc()).limit(1)
        row = (await self.session.execute(stmt)).first()
        return (int(row[0]), row[1]) if row else None

    async def latest_model(self) -> RoutingModelRow | None:
        stmt = select(RoutingModelRow).order_by(RoutingModelRow.id.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_trained_at(self) -> datetime | None:
        return (await self.session.execute(select(func.max(RoutingModelRow.created_at)))).scalar_one()

    async def forget_complaints(self, complaint_ids: Iterable[int]) -> int:
        """The examples of these complaints go (their text is personal data), and with them every
        stored model, which may have learnt from them; returns the examples deleted."""
        ids = list(complaint_ids)
        if not ids:
            return 0
        gone = await self.session.execute(delete(RoutingExample).where(RoutingExample.complaint_id.in_(ids)))
        if gone.rowcount:
            await self.session.execute(delete(RoutingModelRow))
        return int(gone.rowcount or 0)
