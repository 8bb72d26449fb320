"""The routing model learns from the region's own decisions: the ``routing_retrain`` job on SQLite and
PostgreSQL (whichever the suite runs on), the examples' repository, and erasure and retention taking
a complaint's example — and every model that learnt from it — with the complaint's text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.channels.registry import renderers as renderers_for
from bot.domain.clock import ManualClock
from bot.domain.region import load_region_file
from bot.engine.notify import Notifier
from bot.engine.region_context import routing_model
from bot.services.regions import store_region
from scheduler.job_context import JobContext
from scheduler.job_routing_retrain import NEW_EXAMPLES, routing_retrain
from storage import Repo
from storage.models import Complaint
from testkit.routing_history import history

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def job(db, settings):
    await store_region(db, load_region_file(), T0)
    clock = ManualClock(T0)
    ctx = JobContext(db, settings, Notifier(renderers_for(None), languages=("id", "en")), clock=clock)
    return ctx, clock


async def complaint_with_example(db, text: str, label: str, at: datetime) -> tuple[int, int]:
    """A citizen's complaint routed by a coordinator to ``label``: (user id, complaint id)."""
    async with db.unit_of_work() as uow:
        user = await Repo(uow.session).get_or_create_user("telegram", f"c{abs(hash(text)) % 10**8}", at)
        c = await uow.complaints.create(
            number_year=2026,
            citizen_user_id=user.id,
            channel="telegram",
            text=text,
            privacy="biasa",
            state="disposisi",
            opd_code=label if label != "NONE" else None,
            klass="keluhan",
            filed_at=at,
            updated_at=at,
            reopen_count=0,
        )
        await uow.routing.record(complaint_id=c.id, text=text, label=label, source="arahkan", at=at)
        await uow.commit()
        return user.id, c.id


async def test_the_job_trains_when_there_is_something_to_learn(db, job):
    ctx, clock = job
    out = await routing_retrain(ctx)
    assert out.counts == {"too_few_examples": 1}
    async with db.unit_of_work() as uow:
        await uow.routing.add_imported(history(300, seed=4), T0)
        await uow.commit()
    clock.set(T0 + timedelta(minutes=5))
    out = await routing_retrain(ctx)
    assert out.counts == {"trained": 1, "examples": 300}
    async with db.unit_of_work() as uow:
        model = await routing_model(uow.routing)
        row = await uow.routing.latest_model()
    assert model is not None and model.n_examples == 300 and row.figures["examples"] == 300
    assert model.probabilities("sampah di gang mawar tidak diangkut seminggu")["DLH"] > 0.5

    clock.set(T0 + timedelta(hours=1))
    assert (await routing_retrain(ctx)).counts == {"nothing_new": 1}  # nothing new: no new model
    for i in range(NEW_EXAMPLES - 1):
        await complaint_with_example(db, f"jalan dusun {i} rusak berlubang besar", "PUPR", T0 + timedelta(hours=1))
    clock.set(T0 + timedelta(hours=2))
    assert (await routing_retrain(ctx)).counts == {"nothing_new": 1}  # a few: wait for more, or a day
    clock.set(T0 + timedelta(days=1, minutes=10))
    assert (await routing_retrain(ctx)).counts["trained"] == 1  # a day old and something new
    async with db.unit_of_work() as uow:
        assert (await uow.routing.latest_model()).n_examples == 300 + NEW_EXAMPLES - 1


async def test_one_example_per_complaint_and_negative_marks_are_not_labels(db, job):
    _, cid = await complaint_with_example(db, "sampah menumpuk di gang", "PUPR", T0)
    async with db.unit_of_work() as uow:
        await uow.routing.record(
            complaint_id=cid, text="sampah menumpuk di gang", label="PUPR", source="kembalikan", at=T0
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [("sampah menumpuk di gang", "PUPR", "kembalikan")]
        assert await uow.routing.training_examples() == []
        await uow.routing.record(complaint_id=cid, text="sampah menumpuk di gang", label="DLH", source="arahkan", at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.training_examples() == [("sampah menumpuk di gang", "DLH")]
        assert await uow.routing.counts_by_label() == {"DLH": 1}


async def test_erasure_takes_the_example_and_the_models_that_learnt_from_it(db, job):
    ctx, clock = job
    secret = "Saya Wiryo Sumarto dari gang Kenanga 7, air pdam di rumah saya mati seminggu"
    user_id, _ = await complaint_with_example(db, secret, "PDAM", T0)
    async with db.unit_of_work() as uow:
        await uow.routing.add_imported(history(300, seed=5), T0)
        await uow.commit()
    assert (await routing_retrain(ctx)).counts["trained"] == 1

    async with db.unit_of_work() as uow:
        user = await uow.users.get_user(user_id)
        await uow.personal.erase([user], T0 + timedelta(hours=1))
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert secret not in [t for t, _, _ in await uow.routing.all_examples()]
        assert len(await uow.routing.all_examples()) == 300  # the imported history stays
        assert await uow.routing.latest_model() is None  # it may have learnt from the text
        assert await routing_model(uow.routing) is None  # the keyword router routes alone meanwhile
    clock.set(T0 + timedelta(hours=2))
    assert (await routing_retrain(ctx)).counts["trained"] == 1  # trained again from what is left
    async with db.unit_of_work() as uow:
        assert (await uow.routing.latest_model()).n_examples == 300


async def test_retention_takes_the_example_with_the_text(db, job):
    _, cid = await complaint_with_example(db, "jalan depan rumah saya rusak parah", "PUPR", T0)
    async with db.unit_of_work() as uow:
        await uow.routing.save_model(blob=b"x", n_examples=1, sklearn_version="0", figures={}, at=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.session.execute(update(Complaint).where(Complaint.id == cid).values(state="ditutup", closed_at=T0))
        assert await uow.sla.anonymise([cid], closed_before=T0 + timedelta(days=1), now=T0 + timedelta(days=2))
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.routing.all_examples() == [] and await uow.routing.latest_model() is None


async def test_a_model_of_another_scikit_learn_version_is_trained_again(db, job):
    ctx, clock = job
    async with db.unit_of_work() as uow:
        await uow.routing.add_imported(history(120, seed=6), T0)
        await uow.routing.save_model(blob=b"made elsewhere", n_examples=120, sklearn_version="0.1", figures={}, at=T0)
        await uow.commit()
    clock.set(T0 + timedelta(minutes=5))
    assert (await routing_retrain(ctx)).counts["trained"] == 1
    async with db.unit_of_work() as uow:
        assert (await routing_model(uow.routing)).n_examples == 120


async def test_an_erasure_while_it_trains_stores_no_model(db, job, monkeypatch):
    """Training holds no transaction (on SQLite it would stop every turn); a model whose examples
    lost one meanwhile is not stored, and the next run trains without it."""
    from bot.services import routing_service

    ctx, clock = job
    _, cid = await complaint_with_example(db, "air pdam di rumah saya mati seminggu", "PDAM", T0)
    async with db.unit_of_work() as uow:
        await uow.routing.add_imported(history(200, seed=8), T0)
        await uow.commit()
    real, erased = asyncio.to_thread, []

    async def erase_first(fn, *args):
        if not erased:  # the reporter erases their data while the model trains
            erased.append(cid)
            async with db.unit_of_work() as uow:
                await uow.routing.forget_complaints([cid])
                await uow.commit()
        return await real(fn, *args)

    monkeypatch.setattr(routing_service.asyncio, "to_thread", erase_first)
    assert (await routing_retrain(ctx)).counts == {"examples_changed": 1}
    monkeypatch.setattr(routing_service.asyncio, "to_thread", real)
    async with db.unit_of_work() as uow:
        assert await uow.routing.latest_model() is None
    clock.set(T0 + timedelta(minutes=10))
    assert (await routing_retrain(ctx)).counts["trained"] == 1
    async with db.unit_of_work() as uow:
        assert (await uow.routing.latest_model()).n_examples == 200
