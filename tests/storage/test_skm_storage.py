"""SKM storage contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from bot.domain.region import load_region_file
from bot.services.regions import store_region
from storage import Repo
from storage.skm_repo import SkmRepo


@pytest.fixture
async def seeded(db, clock):
    await store_region(db, load_region_file(), clock.now())
    return db


async def answer(
    db,
    clock,
    user_key: str,
    unit: str,
    opd: str,
    values: list[int | None],
    *,
    status: str = "complete",
    period: str = "2026-S2",
):
    async with db.unit_of_work() as uow:
        user = await Repo(uow.session).get_or_create_user("web", user_key, clock.now())
        row = SkmRepo(uow.session).start(
            user_id=user.id,
            unit_code=unit,
            opd_code=opd,
            service_code=None,
            channel="web",
            period_key=period,
            now=clock.now(),
            profile={},
        )
        for i, v in enumerate(values):
            setattr(row, f"u{i + 1}", v)
        row.status = status
        row.finished_at = clock.now() if status == "complete" else None
        await uow.commit()


async def test_element_totals_per_unit_opd_and_region(seeded, clock):
    db = seeded
    await answer(db, clock, "a", "PUPR-BM", "PUPR", [4, 3, 3, 4, 3, 3, 4, 2, 3])
    await answer(db, clock, "b", "PUPR-BM", "PUPR", [2, 3, None, 4, 3, 3, 4, 2, 3])
    await answer(db, clock, "c", "PUPR-SDA", "PUPR", [1, 1, 1, 1, 1, 1, 1, 1, 1])
    await answer(db, clock, "d", "PUPR-BM", "PUPR", [1, 1, 1, 1, 1, 1, 1, 1, 1], status="in_progress")
    start, end = clock.now() - timedelta(days=1), clock.now() + timedelta(days=1)
    async with db.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        by_unit = {t.key: t for t in await repo.element_totals(start=start, end=end)}
        by_opd = await repo.element_totals(start=start, end=end, group_by="opd")
        region = await repo.element_totals(start=start, end=end, group_by="region")
        outside = await repo.element_totals(start=end, end=end + timedelta(days=1))
    assert set(by_unit) == {"PUPR-BM", "PUPR-SDA"}
    bm = by_unit["PUPR-BM"]
    assert bm.responses == 2  # the questionnaire in progress does not count
    assert bm.totals["U1"] == (6, 2) and bm.totals["U3"] == (3, 1) and bm.totals["U8"] == (4, 2)
    assert by_opd[0].key == "PUPR" and by_opd[0].responses == 3 and by_opd[0].totals["U1"] == (7, 3)
    assert region[0].responses == 3 and outside == []


async def test_once_per_unit_per_period(seeded, clock):
    db = seeded
    await answer(db, clock, "a", "PUPR-BM", "PUPR", [3] * 9)
    await answer(db, clock, "a", "PUPR-BM", "PUPR", [3] * 9, status="abandoned")  # incomplete ones may repeat
    await answer(db, clock, "a", "PUPR-BM", "PUPR", [3] * 9, period="2027-S1")
    with pytest.raises(IntegrityError):
        await answer(db, clock, "a", "PUPR-BM", "PUPR", [4] * 9)
    async with db.unit_of_work() as uow:
        user = await Repo(uow.session).get_or_create_user("web", "a", clock.now())
        assert await SkmRepo(uow.session).completed_in_period(user.id, "PUPR-BM", "2026-S2") is not None
        assert await SkmRepo(uow.session).completed_in_period(user.id, "PUPR-SDA", "2026-S2") is None


async def test_abandon_open_and_profile_and_population(seeded, clock):
    db = seeded
    await answer(db, clock, "a", "PUPR-BM", "PUPR", [3, 3], status="in_progress")
    async with db.unit_of_work() as uow:
        user = await Repo(uow.session).get_or_create_user("web", "a", clock.now())
        repo = SkmRepo(uow.session)
        assert await repo.abandon_open(user.id, clock.now()) == 1
        await repo.save_profile(user.id, {"umur": "25-34", "pendidikan": "S1"}, clock.now())
        yearly = load_region_file().opds[0].units[0].population
        assert await repo.population("PUPR-BM", "2026-S2") == (None, yearly)
        await repo.set_population("PUPR-BM", "2026-S2", 321, set_by=user.id, now=clock.now())
        await repo.set_population("PUPR-SDA", "2026-S2", 5, set_by=user.id, now=clock.now())
        await uow.commit()
    async with db.unit_of_work() as uow:
        repo = SkmRepo(uow.session)
        rows = await repo.responses(
            unit_code="PUPR-BM", start=clock.now() - timedelta(days=1), end=clock.now() + timedelta(days=1)
        )
        assert [r.status for r in rows] == ["abandoned"]
        assert (await repo.profile(user.id)).pendidikan == "S1"
        # saving again changes only the fields given
        await repo.save_profile(user.id, {"pekerjaan": "PNS", "umur": None}, clock.now())
        profile = await repo.profile(user.id)
        assert (profile.umur, profile.pendidikan, profile.pekerjaan) == (None, "S1", "PNS")
        assert await repo.profile(user.id + 1000) is None
        assert await repo.population("PUPR-BM", "2026-S2") == (321, yearly)
        assert await repo.population("PUPR-BM", "2026-S1") == (None, yearly)
        pops = await repo.populations("2026-S2", "PUPR")
        assert pops["PUPR-BM"] == (321, yearly) and pops["PUPR-SDA"][0] == 5 and "DLH-KEB" not in pops
        assert await repo.clear_population("PUPR-SDA", "2026-S2") is True
        assert await repo.clear_population("PUPR-SDA", "2026-S2") is False
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert (await SkmRepo(uow.session).populations("2026-S2"))["PUPR-SDA"][0] is None
