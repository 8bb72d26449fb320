"""FKP storage contract, on SQLite and PostgreSQL alike: paging, registrations, the reminder's
idempotency key, anonymous input, subscriptions, the berita acara audience, erasure, the agenda
data and the digest hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Repo
from storage.complaint_repo import ComplaintRepo
from storage.forum_repo import ForumRepo, upcoming_forums
from storage.models import ForumReminder, SurveyResponse, User
from storage.sla_repo import SlaRepo

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def seeded(db, clock):
    await store_region(db, load_region_file(), clock.now())
    return db


async def users(db, *keys: str) -> list[int]:
    async with db.unit_of_work() as uow:
        repo = Repo(uow.session)
        ids = [(await repo.get_or_create_user("web", k, NOW, display_name=k.title())).id for k in keys]
        await uow.commit()
    return ids


async def new_forum(db, opd: str = "PDAM", *, starts: datetime, title: str = "Forum Air Bersih", **kw) -> int:
    values = {
        "opd_code": opd,
        "title": title,
        "topic": "Air",
        "starts_at": starts,
        "place": "Aula",
        "online_url": None,
        "capacity": 2,
        "description": "Membahas layanan air.",
        "agenda": "1. Pembukaan",
        "status": "published",
        "created_via": "cli",
        "created_at": NOW,
    }
    values.update(kw)
    async with db.unit_of_work() as uow:
        f = await ForumRepo(uow.session).create(**values)
        await uow.commit()
        return f.id


async def test_upcoming_and_past_pages_by_opd(seeded):
    db = seeded
    ids = [await new_forum(db, starts=NOW + timedelta(days=d), title=f"Forum {d}") for d in (3, 1, 2)]
    await new_forum(db, "DLH", starts=NOW + timedelta(days=1))
    past = await new_forum(db, starts=NOW - timedelta(days=1))
    await new_forum(db, starts=NOW + timedelta(days=4), status="cancelled")
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        first = await repo.upcoming(NOW, limit=2, opd_code="PDAM")
        second = await repo.upcoming(NOW, limit=2, offset=2, opd_code="PDAM")
        everyone = await repo.upcoming(NOW, limit=10)
        gone = await repo.past(NOW)
        assert [f.id for f in first.rows] == [ids[1], ids[2]] and first.total == 3
        assert [f.id for f in second.rows] == [ids[0]]
        assert everyone.total == 4  # the cancelled one is not listed
        assert [f.id for f in gone.rows] == [past]
        assert await repo.get(ids[0], opd_code="DLH") is None and await repo.get(ids[0], opd_code="PDAM") is not None
        assert await repo.get(0) is None and await repo.get(10**16) is None


async def test_registration_cancel_and_renew(seeded):
    db = seeded
    ani, budi = await users(db, "ani", "budi")
    fid = await new_forum(db, starts=NOW + timedelta(days=2))
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        await repo.register(fid, ani, NOW)
        await repo.register(fid, budi, NOW)
        assert await repo.registered_count(fid) == 2
        assert await repo.cancel(fid, budi, NOW) is True
        assert await repo.cancel(fid, budi, NOW) is False  # not registered any more
        assert await repo.registered_counts([fid, 999]) == {fid: 1, 999: 0}
        await repo.register(fid, budi, NOW + timedelta(hours=1))  # the same row, renewed
        people = await repo.attendees(fid, include_cancelled=True)
        assert [(p.name, p.status) for p in people] == [("Ani", "registered"), ("Budi", "registered")]
        assert [f.id for f in await repo.registrations_of(ani, NOW)] == [fid]
        await uow.commit()


async def test_reminder_is_recorded_once_and_the_key_is_unique(seeded):
    db = seeded
    ani, budi = await users(db, "ani", "budi")
    fid = await new_forum(db, starts=NOW + timedelta(days=1))
    later = await new_forum(db, starts=NOW + timedelta(days=5))
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        for f in (fid, later):
            await repo.register(f, ani, NOW)
        await repo.register(fid, budi, NOW)
        await uow.commit()
    horizon = NOW + timedelta(days=2)
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        rows = await repo.reminder_candidates(NOW, horizon)
        assert [(r.forum_id, u.id) for r, _f, u in rows] == [
            (fid, ani),
            (fid, budi),
        ]  # the forum in 5 days is beyond the horizon
        page = await repo.reminder_candidates(NOW, horizon, after=(fid, ani))
        assert [(r.forum_id, r.user_id) for r, _f, _u in page] == [(fid, budi)]
        assert await repo.record_reminder(fid, ani, NOW) is True
        assert await repo.record_reminder(fid, ani, NOW) is False
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        assert [u.id for _r, _f, u in await repo.reminder_candidates(NOW, horizon)] == [budi]
        await repo.cancel(fid, ani, NOW)
        await repo.register(fid, ani, NOW)  # renewing does not earn a second reminder
        assert [u.id for _r, _f, u in await repo.reminder_candidates(NOW, horizon)] == [budi]
        assert [(u, k) for u, k, _at in await repo.reminders(fid)] == [(ani, "day_before")]
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with db.unit_of_work() as uow:
            await uow.session.execute(
                insert(ForumReminder).values(forum_id=fid, user_id=ani, kind="day_before", sent_at=NOW)
            )
            await uow.commit()


async def test_anonymous_input_never_carries_its_sender(seeded):
    db = seeded
    ani, budi = await users(db, "ani", "budi")
    fid = await new_forum(db, starts=NOW + timedelta(days=2))
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        repo.add_input(
            forum_id=fid, user_id=ani, anonymous=True, channel="web", text="Rahasia: air keruh tiap pagi.", now=NOW
        )
        repo.add_input(
            forum_id=fid, user_id=budi, anonymous=False, channel="web", text="Tagihan naik dua kali lipat.", now=NOW
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        rows = await repo.inputs(fid)
        assert [(r.anonymous, r.name) for r in rows] == [(True, None), (False, "Budi")]
        assert not any(hasattr(r, "user_id") for r in rows)
        assert await repo.input_count(fid, ani) == 1 and await repo.input_count(fid) == 2


async def test_subscriptions_and_the_berita_acara_audience(seeded):
    db = seeded
    ani, budi, citra, dodi, eka, fajar = await users(db, "ani", "budi", "citra", "dodi", "eka", "fajar")
    data_from = NOW - timedelta(days=60)
    fid = await new_forum(db, starts=NOW - timedelta(hours=2), data_from=data_from, data_to=NOW - timedelta(days=30))
    async with db.unit_of_work() as uow:
        s = uow.session
        repo = ForumRepo(s)
        assert await repo.subscribe(ani, "PDAM", NOW) is True and await repo.subscribe(ani, "PDAM", NOW) is False
        for uid in (budi, citra, eka, fajar):
            await repo.subscribe(uid, "region", NOW)
        await repo.subscribe(dodi, "DLH", NOW)
        await repo.register(fid, ani, NOW - timedelta(days=3))
        complaints = ComplaintRepo(s)
        for uid, opd, at in (
            (budi, "PDAM", data_from + timedelta(days=1)),  # subscribed contributor
            (dodi, "PDAM", data_from + timedelta(days=1)),  # subscribed to another OPD only
            (citra, "DLH", data_from + timedelta(days=1)),  # about another OPD
            (fajar, "PDAM", data_from - timedelta(days=1)),
        ):  # before the data period
            await complaints.create(
                number_year=2026,
                citizen_user_id=uid,
                channel="web",
                text="Air mati tiga hari berturut-turut",
                privacy="biasa",
                state="disposisi",
                opd_code=opd,
                topic="air",
                filed_at=at,
                updated_at=at,
            )
        s.add(
            SurveyResponse(
                user_id=eka,
                unit_code="PDAM-PUSAT",
                opd_code="PDAM",
                service_code=None,
                channel="web",
                period_key="2026-S2",
                status="complete",
                started_at=NOW - timedelta(days=10),
                finished_at=NOW - timedelta(days=10),
                profile={},
            )
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        assert [u.id for u in await repo.subscribers("PDAM")] == [ani, budi, citra, eka, fajar]
        assert [u.id for u in await repo.subscribers("DLH")] == [budi, citra, dodi, eka, fajar]
        forum = await repo.get(fid)
        audience = await repo.outcome_audience(forum, data_from, NOW)
        assert audience.participants == {ani}
        assert audience.contributors == {budi, eka}
        assert await repo.unsubscribe(budi, "region") is True and await repo.unsubscribe(budi, "region") is False
        assert (await repo.outcome_audience(forum, data_from, NOW)).contributors == {eka}
        await uow.commit()


async def test_erasure_ends_subscriptions_frees_seats_and_keeps_input(seeded):
    db = seeded
    (ani,) = await users(db, "ani")
    coming = await new_forum(db, starts=NOW + timedelta(days=2))
    held = await new_forum(db, starts=NOW - timedelta(days=2))
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        await repo.subscribe(ani, "region", NOW)
        await repo.register(coming, ani, NOW - timedelta(days=3))
        await repo.register(held, ani, NOW - timedelta(days=3))
        repo.add_input(
            forum_id=coming, user_id=ani, anonymous=False, channel="web", text="Masukan yang tetap disimpan.", now=NOW
        )
        await uow.personal.erase([await uow.session.get(User, ani)], NOW)  # storage.erasure
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        assert await repo.subscriptions(ani) == []
        assert await repo.registered_count(coming) == 0 and await repo.registered_count(held) == 1  # history stays
        (row,) = await repo.inputs(coming)
        assert row.text == "Masukan yang tetap disimpan." and row.name is None and row.erased


async def test_agenda_data_and_the_digest_hook(seeded):
    db = seeded
    start, end = NOW - timedelta(days=30), NOW
    async with db.unit_of_work() as uow:
        complaints = ComplaintRepo(uow.session)
        for topic, n in (("air keruh", 2), ("tagihan", 3), (None, 1)):
            for i in range(n):
                at = start + timedelta(days=i)
                await complaints.create(
                    number_year=2026,
                    citizen_user_id=None,
                    channel="web",
                    text="Keluhan layanan air minum",
                    privacy="biasa",
                    state="disposisi",
                    opd_code="PDAM",
                    topic=topic,
                    filed_at=at,
                    updated_at=at,
                )
        await complaints.create(
            number_year=2026,
            citizen_user_id=None,
            channel="web",
            text="Keluhan di luar periode data",
            privacy="biasa",
            state="disposisi",
            opd_code="PDAM",
            topic="tagihan",
            filed_at=end,
            updated_at=end,
        )
        await uow.commit()
    fid = await new_forum(db, starts=NOW + timedelta(days=3))
    await new_forum(db, starts=NOW + timedelta(days=9))
    (ani,) = await users(db, "ani")
    async with db.unit_of_work() as uow:
        repo = ForumRepo(uow.session)
        assert await repo.complaint_topics("PDAM", start, end) == [("tagihan", 3), ("air keruh", 2)]
        assert await repo.complaint_count("PDAM", start, end) == 6
        await repo.register(fid, ani, NOW)
        await uow.commit()
    week = await upcoming_forums(db, NOW, 7)
    assert [(f.id, f.registered, f.capacity) for f in week] == [(fid, 1, 2)]
    async with db.unit_of_work() as uow:  # what the scheduler's digest calls
        via_sla = await SlaRepo(uow.session).upcoming_forums(NOW, 7)
        assert [(f.id, f.title, f.opd_code, f.registered) for f in via_sla] == [(fid, "Forum Air Bersih", "PDAM", 1)]
        assert await SlaRepo(uow.session).upcoming_forums(NOW, 7, "DLH") == []
