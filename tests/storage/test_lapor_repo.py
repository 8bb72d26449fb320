"""``LaporRepo`` (``uow.lapor``): the SP4N-LAPOR! queue written with the complaint change only when
the bridge is on, sent in order per complaint, emptied by erasure and retention; the same
assertions on SQLite and on PostgreSQL. The job is tested in ``tests/e2e/test_lapor_bridge.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from storage import Repo
from storage.models import Complaint, LaporLink, LaporQueueRow

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def filed(uow, text: str, *, state: str = "disposisi") -> Complaint:
    user = await Repo(uow.session).get_or_create_user("telegram", f"u{abs(hash(text)) % 10**8}", T0)
    c = await uow.complaints.create(
        number_year=2026,
        citizen_user_id=user.id,
        channel="telegram",
        text=text,
        privacy="biasa",
        state=state,
        klass="keluhan",
        filed_at=T0,
        updated_at=T0,
        reopen_count=0,
    )
    uow.complaints.add_event(complaint=c, at=T0, actor_user_id=user.id, actor_role="citizen", action="filed", text=text)
    return c


async def rows(db) -> list[tuple[int, str, str]]:
    async with db.unit_of_work() as uow:
        stmt = select(LaporQueueRow).order_by(LaporQueueRow.id)
        return [(r.complaint_id, r.kind, r.status) for r in (await uow.session.execute(stmt)).scalars()]


async def test_nothing_is_queued_while_the_bridge_is_off(db):
    async with db.unit_of_work() as uow:
        await filed(uow, "jalan rusak di depan pasar")
        await uow.commit()
    assert await rows(db) == []


async def test_queued_in_the_changes_transaction_and_sent_in_order_per_complaint(db):
    db.lapor_bridge = True
    async with db.unit_of_work() as uow:
        a = await filed(uow, "jalan rusak di depan pasar")
        b = await filed(uow, "sampah menumpuk di rt 3")
        uow.complaints.record_transition(
            a, action="answer", to_state="tindak_lanjut", at=T0, actor_user_id=None, actor_role="officer", text="ok"
        )
        uow.complaints.record_transition(
            a,
            action="forward",
            to_state="disposisi",
            at=T0,
            actor_user_id=None,
            actor_role="officer",
            text="catatan internal",
            visible_to_citizen=False,
        )
        await uow.commit()
    async with db.unit_of_work() as uow:  # a rolled back change queues nothing
        await filed(uow, "tidak jadi dikirim")
    assert await rows(db) == [
        (a.id, "create", "pending"),
        (b.id, "create", "pending"),
        (a.id, "answer", "pending"),
        (a.id, "status", "pending"),
        (a.id, "status", "pending"),
    ]
    async with db.unit_of_work() as uow:
        heads = await uow.lapor.due(T0)
        assert [(r.complaint_id, r.kind) for r in heads] == [(a.id, "create"), (b.id, "create")]
        statuses = (await uow.session.execute(select(LaporQueueRow).where(LaporQueueRow.kind == "status"))).scalars()
        assert all("text" not in r.payload for r in statuses)  # the forward's internal note never leaves
        assert await uow.lapor.finish(heads[0].id, T0, status="failed", error="HTTP 422: invalid_topic")
        assert not await uow.lapor.finish(heads[0].id, T0)  # not pending any more
        assert await uow.lapor.finish(heads[1].id, T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.lapor.due(T0) == []  # a's answer waits behind its refused create
        assert await uow.lapor.counts() == {"failed": 1, "done": 1, "pending": 3}
        (failure,) = await uow.lapor.failures()
        assert (failure.number, failure.kind, failure.error) == (a.number, "create", "HTTP 422: invalid_topic")
        assert await uow.lapor.requeue_failed() == 1
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [r.kind for r in await uow.lapor.due(T0)] == ["create"]
        assert await uow.lapor.due(T0 - timedelta(seconds=1)) == []


async def test_links_state_erasure_and_cascade(db):
    db.lapor_bridge = True
    async with db.unit_of_work() as uow:
        a = await filed(uow, "jalan rusak di depan pasar", state="ditutup")
        a.closed_at = T0
        uow.complaints.record_transition(
            a,
            action="answer",
            to_state="ditutup",
            at=T0,
            actor_user_id=None,
            actor_role="officer",
            text="Pak Budi, sudah kami tambal",
        )
        await uow.lapor.add_link(complaint_id=a.id, tracking_id="5000001", origin="kanal", now=T0)
        await uow.lapor.set_state("cursor", "7", T0)
        await uow.lapor.set_state("cursor", "8", T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.lapor.tracking_id(a.id) == "5000001"
        assert (await uow.lapor.by_tracking_id("5000001")).complaint_id == a.id
        assert await uow.lapor.state("cursor") == "8" and await uow.lapor.links_count() == {"kanal": 1}
        first = (await uow.lapor.due(T0))[0]
        await uow.lapor.finish(first.id, T0)
        await uow.commit()
    # retention anonymises the closed complaint: the queued answer goes, the sent create is emptied
    async with db.unit_of_work() as uow:
        assert await uow.sla.anonymise([a.id], closed_before=T0 + timedelta(days=1), now=T0) == [a.number]
        await uow.commit()
    async with db.unit_of_work() as uow:
        left = (await uow.session.execute(select(LaporQueueRow))).scalars().all()
        assert [(r.kind, r.status, r.payload) for r in left] == [("create", "done", {})]
        await uow.session.execute(delete(Complaint).where(Complaint.id == a.id))
        await uow.commit()
    async with db.unit_of_work() as uow:
        for model in (LaporQueueRow, LaporLink):
            assert (await uow.session.execute(select(func.count()).select_from(model))).scalar_one() == 0
