"""Storage of "Sudah beres?" and of the SLA performance figures (``SlaRepo``, ``ComplaintRepo``),
the same assertions on SQLite and on PostgreSQL: the job's scan and its claim (once, ever), the
reporter's waiting question, and the performance queries' window and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import Repo
from storage.models import Complaint, Opd

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def seed(uow) -> dict[str, int]:
    """Closed complaints in every situation the scan must tell apart; ids by name."""
    for code in ("PUPR", "DLH"):
        uow.session.add(Opd(code=code, name=code, keywords=[], active=True))
    users = {}
    for name in ("siti", "budi"):
        users[name] = (await Repo(uow.session).get_or_create_user("telegram", name, T0)).id
    ids = {}
    cases = {
        # name: (reporter, state, due in days from T0, asked, anonymised, opd)
        "due": ("siti", "ditutup", -1, None, None, "PUPR"),
        "due_later": ("siti", "ditutup", 1, None, None, "PUPR"),
        "asked": ("budi", "ditutup", -2, T0 - timedelta(days=1), None, "DLH"),
        "no_reporter": (None, "ditutup", -1, None, None, "PUPR"),
        "anonymised": ("budi", "ditutup", -1, None, T0, "PUPR"),
        "reopened": ("budi", "tindak_lanjut", -1, None, None, "DLH"),
        "never": ("budi", "ditutup", None, None, None, "DLH"),
    }
    for name, (who, state, due, asked, anonymised, opd) in cases.items():
        c = await uow.complaints.create(
            number_year=2026,
            citizen_user_id=users[who] if who else None,
            channel="telegram",
            text=f"keluhan {name} di jalan desa",
            privacy="biasa",
            state=state,
            opd_code=opd,
            klass="keluhan",
            filed_at=T0 - timedelta(days=20),
            updated_at=T0,
            routed_at=T0 - timedelta(days=20),
            response_due_at=T0 - timedelta(days=17),
            first_response_at=T0 - timedelta(days=18),
            completion_due_at=T0 - timedelta(days=10),
            resolved_at=T0 - timedelta(days=12),
            closed_at=T0 - timedelta(days=11) if state == "ditutup" else None,
            fixed_check_due_at=T0 + timedelta(days=due) if due is not None else None,
            fixed_asked_at=asked,
            anonymised_at=anonymised,
            reopen_count=0,
        )
        ids[name] = c.id
    return ids


async def test_the_scan_and_the_claim_ask_once(db):
    async with db.unit_of_work() as uow:
        ids = await seed(uow)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.sla.fixed_check_candidates(T0) == [ids["due"]]
        later = T0 + timedelta(days=2)
        assert await uow.sla.fixed_check_candidates(later) == sorted([ids["due"], ids["due_later"]])
        claimed = await uow.sla.claim_fixed_checks([ids["due"], ids["asked"], ids["no_reporter"]], T0)
        assert [(cid, opd, text, closed) for cid, _n, _u, opd, text, closed in claimed] == [
            (ids["due"], "PUPR", "keluhan due di jalan desa", T0 - timedelta(days=11))
        ]
        await uow.commit()
    async with db.unit_of_work() as uow:  # a second run, the same instant: nothing
        assert await uow.sla.claim_fixed_checks([ids["due"]], T0) == []
        assert await uow.sla.fixed_check_candidates(T0) == []
        c = await uow.complaints.get_by_id(ids["due"])
        assert c.fixed_asked_at == T0 and c.fixed_answer is None


async def test_two_claims_in_flight_one_wins(db):
    async with db.unit_of_work() as uow:
        ids = await seed(uow)
        await uow.commit()
    async with db.unit_of_work() as first:
        won = await first.sla.claim_fixed_checks([ids["due"]], T0)
        await first.commit()
    async with db.unit_of_work() as second:
        lost = await second.sla.claim_fixed_checks([ids["due"]], T0 + timedelta(minutes=1))
    assert len(won) == 1 and lost == []


async def test_scheduling_never_resets_an_asked_complaint(db):
    async with db.unit_of_work() as uow:
        ids = await seed(uow)
        await uow.sla.schedule_fixed_checks([(ids["asked"], T0 + timedelta(days=9)), (ids["never"], T0)])
        await uow.commit()
    async with db.unit_of_work() as uow:
        rows = dict((await uow.session.execute(select(Complaint.id, Complaint.fixed_check_due_at))).all())
        assert rows[ids["asked"]] == T0 - timedelta(days=2) and rows[ids["never"]] == T0


async def test_the_reporters_waiting_question(db):
    async with db.unit_of_work() as uow:
        ids = await seed(uow)
        await uow.commit()
    async with db.unit_of_work() as uow:
        budi = (await uow.complaints.get_by_id(ids["asked"])).citizen_user_id
        c = await uow.complaints.awaiting_fixed_answer(budi, T0 - timedelta(days=30))
        assert c is not None and c.id == ids["asked"]
        assert await uow.complaints.awaiting_fixed_answer(budi, T0) is None  # asked too long ago
        uow.complaints.record_fixed_answer(c, "sudah")
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.complaints.awaiting_fixed_answer(budi, T0 - timedelta(days=30)) is None


async def test_performance_queries_window_and_scope(db):
    async with db.unit_of_work() as uow:
        ids = await seed(uow)
        c = await uow.complaints.get_by_id(ids["reopened"])
        old = await uow.complaints.create(
            number_year=2026,
            citizen_user_id=None,
            channel="telegram",
            text="lama",
            privacy="biasa",
            state="disposisi",
            opd_code="PUPR",
            klass="keluhan",
            filed_at=T0 - timedelta(days=40),
            updated_at=T0,
            reopen_count=0,
        )
        triage = await uow.complaints.create(
            number_year=2026,
            citizen_user_id=None,
            channel="telegram",
            text="belum diarahkan",
            privacy="biasa",
            state="triase",
            klass="keluhan",
            filed_at=T0 - timedelta(days=1),
            updated_at=T0,
            reopen_count=0,
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        window = await uow.sla.performance_window(T0 - timedelta(days=30), T0)
        assert len(window) == len(ids) and old.number not in {w.number for w in window}
        assert triage.number not in {w.number for w in window}
        dlh = await uow.sla.performance_window(T0 - timedelta(days=30), T0, "DLH")
        assert {w.opd_code for w in dlh} == {"DLH"} and len(dlh) == 3
        open_now = await uow.sla.performance_open()
        assert sorted(w.number for w in open_now) == sorted([c.number, old.number])
        (row,) = await uow.sla.performance_open("DLH")
        assert (row.number, row.state, row.first_response_at) == (c.number, "tindak_lanjut", T0 - timedelta(days=18))
