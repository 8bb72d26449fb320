"""``RoutingRepo`` (``uow.routing``): the region's routing examples and stored models, the same
assertions on SQLite and on PostgreSQL. The job that trains on them is tested in
``tests/jobs/test_routing_retrain.py``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from storage import Repo
from storage.models import Complaint, RoutingExample, RoutingModelRow
from storage.routing_repo import KEEP_MODELS

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def complaint(uow, text: str) -> int:
    user = await Repo(uow.session).get_or_create_user("telegram", f"u{abs(hash(text)) % 10**8}", T0)
    c = await uow.complaints.create(
        number_year=2026,
        citizen_user_id=user.id,
        channel="telegram",
        text=text,
        privacy="biasa",
        state="triase",
        klass="keluhan",
        filed_at=T0,
        updated_at=T0,
        reopen_count=0,
    )
    return c.id


async def test_a_complaint_has_one_example_its_last_decision(db):
    async with db.unit_of_work() as uow:
        cid = await complaint(uow, "lampu jalan mati di gang melati")
        await uow.routing.record(complaint_id=cid, text="lampu jalan mati", label="PUPR", source="arahkan", at=T0)
        await uow.routing.record(
            complaint_id=cid, text="lampu jalan mati", label="PUPR", source="kembalikan", at=T0 + timedelta(hours=1)
        )
        await uow.routing.record(
            complaint_id=cid, text="lampu jalan mati", label="DISHUB", source="teruskan", at=T0 + timedelta(hours=2)
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [("lampu jalan mati", "DISHUB", "teruskan")]
        assert await uow.routing.training_examples() == [("lampu jalan mati", "DISHUB")]
        assert await uow.routing.new_since(T0 + timedelta(hours=1)) == 1
        assert await uow.routing.new_since(T0 + timedelta(hours=2)) == 0


async def test_imported_history_in_bulk_and_counts(db):
    rows = [(f"sampah menumpuk di rt {i}", "DLH") for i in range(6000)] + [
        (f"listrik padam di dusun {i}", "NONE") for i in range(4000)
    ]
    started = time.perf_counter()
    async with db.unit_of_work() as uow:
        assert await uow.routing.add_imported(rows, T0) == 10_000
        await uow.commit()
    assert time.perf_counter() - started < 10  # one statement per 1,000 rows (about 1 s here)
    async with db.unit_of_work() as uow:
        cid = await complaint(uow, "guru tidak masuk")
        await uow.routing.record(complaint_id=cid, text="guru tidak masuk", label="DISDIK", source="kembalikan", at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.counts_by_label() == {"DLH": 6000, "NONE": 4000}  # a negative mark is no label
        examples = await uow.routing.training_examples()
        assert len(examples) == 10_000 and examples[0] == ("sampah menumpuk di rt 0", "DLH")
        assert await uow.routing.new_since(None) == 10_001
        assert await uow.routing.new_since(T0) == 0
        imported = select(func.count()).where(RoutingExample.complaint_id.is_(None), RoutingExample.source == "import")
        assert (await uow.session.execute(imported)).scalar_one() == 10_000


async def test_the_newest_models_are_kept(db):
    async with db.unit_of_work() as uow:
        assert await uow.routing.latest_model() is None
        assert await uow.routing.latest_model_stamp() is None
        assert await uow.routing.last_trained_at() is None
        ids = []
        for i in range(KEEP_MODELS + 2):
            ids.append(
                await uow.routing.save_model(
                    blob=bytes([i]) * 100,
                    n_examples=100 + i,
                    sklearn_version="1.0",
                    figures={"accuracy": 0.9, "examples": 100 + i},
                    at=T0 + timedelta(hours=i),
                )
            )
        await uow.commit()
    async with db.unit_of_work() as uow:
        last = await uow.routing.latest_model()
        assert last.id == ids[-1] and last.blob == bytes([KEEP_MODELS + 1]) * 100
        assert last.n_examples == 100 + KEEP_MODELS + 1 and last.figures["accuracy"] == 0.9
        assert await uow.routing.latest_model_stamp() == (ids[-1], T0 + timedelta(hours=KEEP_MODELS + 1))
        assert await uow.routing.last_trained_at() == T0 + timedelta(hours=KEEP_MODELS + 1)
        kept = (await uow.session.execute(select(RoutingModelRow.id).order_by(RoutingModelRow.id))).scalars().all()
        assert kept == ids[-KEEP_MODELS:]


async def test_forgetting_complaints_takes_their_examples_and_the_models(db):
    async with db.unit_of_work() as uow:
        mine = await complaint(uow, "Saya Sri Lestari, jalan depan rumah saya rusak")
        other = await complaint(uow, "air pdam mati dua hari")
        await uow.routing.record(
            complaint_id=mine, text="Saya Sri Lestari, jalan rusak", label="PUPR", source="arahkan", at=T0
        )
        await uow.routing.record(complaint_id=other, text="air pdam mati", label="PDAM", source="arahkan", at=T0)
        await uow.routing.add_imported([("sampah di pasar", "DLH")], T0)
        await uow.routing.save_model(blob=b"m", n_examples=3, sklearn_version="1.0", figures={}, at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        silent = await complaint(uow, "no example")  # a complaint nobody routed: the model stays
        assert await uow.routing.forget_complaints([silent]) == 0
        assert await uow.routing.forget_complaints([]) == 0
        assert await uow.routing.latest_model() is not None
        assert await uow.routing.forget_complaints([mine]) == 1
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [
            ("air pdam mati", "PDAM", "arahkan"),
            ("sampah di pasar", "DLH", "import"),  # imported history names no one: it stays
        ]
        assert await uow.routing.latest_model() is None  # it may have learnt from the text


async def test_a_snapshot_knows_when_its_examples_changed(db):
    async with db.unit_of_work() as uow:
        cid = await complaint(uow, "jalan rusak")
        await uow.routing.record(complaint_id=cid, text="jalan rusak", label="PUPR", source="arahkan", at=T0)
        await uow.routing.add_imported([("sampah di pasar", "DLH")], T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        top, examples = await uow.routing.training_snapshot()
        assert len(examples) == 2
    async with db.unit_of_work() as uow:  # a new example after the snapshot changes nothing it learnt
        await uow.routing.add_imported([("got lampu mati", "PUPR")], T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.unchanged_since(top, len(examples))
        # the complaint is routed again: its earlier example (which the snapshot holds) is replaced
        await uow.routing.record(complaint_id=cid, text="jalan rusak", label="DLH", source="teruskan", at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert not await uow.routing.unchanged_since(top, len(examples))


async def test_a_deleted_complaint_takes_its_example(db):
    async with db.unit_of_work() as uow:
        cid = await complaint(uow, "jalan rusak")
        await uow.routing.record(complaint_id=cid, text="jalan rusak", label="PUPR", source="arahkan", at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.session.execute(delete(Complaint).where(Complaint.id == cid))  # ON DELETE CASCADE
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == []
