"""Contract tests of ``uow.routing`` (``storage/routing_repo.py``): the same assertions on SQLite and
on PostgreSQL. The job, erasure and retention around it: ``tests/jobs/test_routing_retrain.py``."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import delete, select

from storage import Repo
from storage.models import Complaint, RoutingModelRow
from storage.routing_repo import KEEP_MODELS


async def a_complaint(uow, text: str, at) -> int:
    user = await Repo(uow.session).get_or_create_user("telegram", f"r{abs(hash(text)) % 10**8}", at)
    c = await uow.complaints.create(
        number_year=2026,
        citizen_user_id=user.id,
        channel="telegram",
        text=text,
        privacy="biasa",
        state="triase",
        opd_code=None,
        klass="keluhan",
        filed_at=at,
        updated_at=at,
        reopen_count=0,
    )
    return c.id


async def test_the_last_decision_about_a_complaint_is_its_one_example(db, clock):
    """Several decisions in one unit of work (a turn that re-routes): no unique-key clash at flush."""
    t = clock.now()
    async with db.unit_of_work() as uow:
        cid = await a_complaint(uow, "lampu jalan mati di gang melati", t)
        await uow.routing.record(complaint_id=cid, text="lampu jalan mati", label="DISHUB", source="arahkan", at=t)
        await uow.routing.record(complaint_id=cid, text="lampu jalan mati", label="DISHUB", source="kembalikan", at=t)
        await uow.routing.record(complaint_id=cid, text="lampu jalan mati", label="PUPR", source="teruskan", at=t)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [("lampu jalan mati", "PUPR", "teruskan")]
        await uow.routing.record(complaint_id=cid, text="lampu jalan mati", label="NONE", source="luar", at=t)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [("lampu jalan mati", "NONE", "luar")]
        await uow.session.execute(delete(Complaint).where(Complaint.id == cid))  # ON DELETE CASCADE
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == []


async def test_imported_history_in_bulk_and_what_training_reads(db, clock):
    t = clock.now()
    rows = [(f"keluhan nomor {i} tentang sampah", "DLH" if i % 3 else "NONE") for i in range(10_000)]
    async with db.unit_of_work() as uow:
        started = time.perf_counter()
        assert await uow.routing.add_imported(rows, t) == 10_000
        await uow.commit()
    assert time.perf_counter() - started < 10  # a region's history loads in seconds
    later = t + timedelta(hours=1)
    async with db.unit_of_work() as uow:
        cid = await a_complaint(uow, "sampah dikembalikan", later)
        await uow.routing.record(complaint_id=cid, text="sampah", label="DLH", source="kembalikan", at=later)
        await uow.commit()
    async with db.unit_of_work() as uow:
        training = await uow.routing.training_examples()
        assert training == rows  # in id order, the negative mark left out
        assert await uow.routing.counts_by_label() == {"DLH": 6_666, "NONE": 3_334}
        assert len(await uow.routing.all_examples()) == 10_001
        assert await uow.routing.all_examples() == [(text, label, "import") for text, label in rows] + [
            ("sampah", "DLH", "kembalikan")
        ]
        assert await uow.routing.new_since(None) == 10_001
        assert await uow.routing.new_since(t) == 1
        assert await uow.routing.new_since(later) == 0
        top, snapshot = await uow.routing.training_snapshot()
        assert snapshot == rows and await uow.routing.unchanged_since(top, len(snapshot))
        await uow.routing.forget_complaints([cid])  # a negative mark going changes no training set
        assert await uow.routing.unchanged_since(top, len(snapshot))


async def test_the_newest_models_are_kept(db, clock):
    t = clock.now()
    async with db.unit_of_work() as uow:
        assert await uow.routing.latest_model() is None
        assert await uow.routing.latest_model_stamp() is None and await uow.routing.last_trained_at() is None
        ids = []
        for i in range(KEEP_MODELS + 2):
            ids.append(
                await uow.routing.save_model(
                    blob=bytes([i]) * 1000,
                    n_examples=100 + i,
                    sklearn_version="1.x",
                    figures={"examples": 100 + i, "coverage": 0.5},
                    at=t + timedelta(hours=i),
                )
            )
        await uow.commit()
    async with db.unit_of_work() as uow:
        row = await uow.routing.latest_model()
        assert row.id == ids[-1] and row.n_examples == 100 + KEEP_MODELS + 1
        assert row.blob == bytes([KEEP_MODELS + 1]) * 1000 and row.figures == {"examples": 104, "coverage": 0.5}
        assert await uow.routing.latest_model_stamp() == (ids[-1], t + timedelta(hours=KEEP_MODELS + 1))
        assert await uow.routing.last_trained_at() == t + timedelta(hours=KEEP_MODELS + 1)
        kept = list((await uow.session.execute(select(RoutingModelRow.id).order_by(RoutingModelRow.id))).scalars())
        assert kept == ids[-KEEP_MODELS:]
