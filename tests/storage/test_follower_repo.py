"""``FollowerRepo`` (``uow.followers``): followers of complaints and stored reply templates, the
same assertions on SQLite and on PostgreSQL; erasure and retention take a person's follower rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage import Repo
from storage.follower_repo import EVERY_OPD
from storage.models import ComplaintFollower, Opd

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def make(
    uow,
    who: str,
    *,
    state: str = "disposisi",
    opd: str | None = "PUPR",
    suggested: str | None = None,
    filed: datetime = T0,
    text: str = "jalan rusak di depan sekolah",
):
    user = await Repo(uow.session).get_or_create_user("telegram", who, T0)
    if opd and await uow.session.get(Opd, opd) is None:
        uow.session.add(Opd(code=opd, name=opd, keywords=[]))
        await uow.session.flush()
    c = await uow.complaints.create(
        number_year=2026,
        citizen_user_id=user.id,
        channel="telegram",
        text=text,
        privacy="biasa",
        state=state,
        opd_code=opd,
        suggested_opd=suggested,
        klass="keluhan",
        filed_at=filed,
        updated_at=filed,
        reopen_count=0,
    )
    return user, c


async def test_follow_once_list_count_unfollow(db):
    async with db.unit_of_work() as uow:
        reporter, c = await make(uow, "r1")
        fan, _ = await make(uow, "f1", opd=None, state="triase")
        assert await uow.followers.follow(c.id, fan.id, T0) is True
        assert await uow.followers.follow(c.id, fan.id, T0) is False
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [u.id for u in await uow.followers.followers(c.id)] == [fan.id]
        assert [x.id for x in await uow.followers.followed(fan.id)] == [c.id]
        assert await uow.followers.counts([c.id, 999]) == {c.id: 1}
        assert await uow.followers.unfollow(c.id, fan.id) is True
        assert await uow.followers.unfollow(c.id, fan.id) is False
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.followers.counts([c.id]) == {}


async def test_one_row_per_complaint_and_person(db):
    async with db.unit_of_work() as uow:
        _, c = await make(uow, "r2")
        fan, _ = await make(uow, "f2", opd=None, state="triase")
        uow.session.add(ComplaintFollower(complaint_id=c.id, user_id=fan.id, since=T0))
        uow.session.add(ComplaintFollower(complaint_id=c.id, user_id=fan.id, since=T0))
        with pytest.raises(IntegrityError):
            await uow.session.flush()


async def test_similar_pool_is_the_opds_open_recent_complaints_not_ones_own(db):
    async with db.unit_of_work() as uow:
        me, mine = await make(uow, "me")
        _, handled = await make(uow, "a", state="tindak_lanjut")
        _, waiting = await make(uow, "b", state="triase", opd=None, suggested="PUPR")
        _, elsewhere = await make(uow, "c", opd="DLH")
        _, closed = await make(uow, "d", state="ditutup")
        _, old = await make(uow, "e", filed=T0 - timedelta(days=90))
        await uow.commit()
    async with db.unit_of_work() as uow:
        pool = await uow.followers.similar_pool(opd_code="PUPR", since=T0 - timedelta(days=60), other_than_user=me.id)
        assert {c.id for c in pool} == {handled.id, waiting.id}
        assert await uow.followers.similar_pool(opd_code=None, since=T0, other_than_user=me.id) == []


async def test_erasure_and_retention_remove_follower_rows(db):
    async with db.unit_of_work() as uow:
        _, c = await make(uow, "r3")
        _, closed = await make(uow, "r4", state="ditutup")
        closed.closed_at = T0 - timedelta(days=800)
        fan, _ = await make(uow, "f3", opd=None, state="triase")
        other, _ = await make(uow, "f4", opd=None, state="triase")
        await uow.followers.follow(c.id, fan.id, T0)
        await uow.followers.follow(c.id, other.id, T0)
        await uow.followers.follow(closed.id, other.id, T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.personal.erase([await uow.users.get_user(fan.id)], T0)
        await uow.sla.anonymise([closed.id], closed_before=T0, now=T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(ComplaintFollower))).scalars().all()
        assert [(r.complaint_id, r.user_id) for r in rows] == [(c.id, other.id)]


async def test_templates_per_opd_and_for_every_opd(db):
    async with db.unit_of_work() as uow:
        assert await uow.followers.put_template("PUPR", "aspal", "Sudah diaspal {nomor}", T0) is True
        assert await uow.followers.put_template("PUPR", "aspal", "Sudah diaspal ulang {nomor}", T0) is False
        await uow.followers.put_template("DLH", "angkut", "Diangkut", T0)
        await uow.followers.put_template(EVERY_OPD, "salam", "Terima kasih", T0)
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [(t.name, t.text) for t in await uow.followers.templates("PUPR")] == [
            ("aspal", "Sudah diaspal ulang {nomor}"),
            ("salam", "Terima kasih"),
        ]
        assert [t.name for t in await uow.followers.templates(None)] == ["salam"]
        assert await uow.followers.drop_template("DLH", "aspal") is False
        assert await uow.followers.drop_template("PUPR", "ASPAL") is True
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert [t.name for t in await uow.followers.templates("PUPR")] == ["salam"]
