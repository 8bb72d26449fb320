"""``/kinerja`` and the digest's SLA section end to end on Telegram, checked against complaints
seeded with known times (Monday 23 November 2026, 09:00 WIB; window 30 days, red flag at 6
working days without a first response)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from bot.domain.region import load_region_file
from bot.domain.workdays import WorkCalendar
from bot.settings import Settings
from storage.models import User
from testkit.tg_chat import buttons, person, running, text_of

CAL = WorkCalendar.from_region(load_region_file())
TEXT = "Laporan contoh untuk menguji angka kinerja OPD di Sukamaju."


def wib(d: int, m: int = 11, hh: int = 10) -> datetime:
    return CAL.start_of_day(date(2026, m, d), time(hh))


#: number → (OPD, state, filed, response due, first response, completion due, resolved)
SEEDED = {
    "P1": ("PUPR", "ditutup", wib(2), wib(5), wib(3), wib(9), wib(6)),  # on time, on time
    "P2": ("PUPR", "selesai", wib(4), wib(9), wib(10), wib(11), wib(16)),  # late, late
    "P3": ("PUPR", "disposisi", wib(12), wib(17), None, wib(19), None),  # unanswered 7 working days: 🚩
    "P4": ("PUPR", "disposisi", wib(20), wib(25), None, wib(27), None),  # not due yet: not counted
    "OLD": ("PUPR", "tindak_lanjut", wib(1, 10), wib(6, 10), wib(2, 10), wib(8, 10), None),  # outside the window, late
    "D1": ("DLH", "ditutup", wib(10), wib(13), wib(11), wib(17), wib(16)),  # on time, on time
}


async def seed(app) -> dict[str, str]:
    """The seeded complaints; their ADU numbers by key."""
    numbers = {}
    async with app.db.unit_of_work() as uow:
        citizen = User(channel="telegram", external_id="424242", role="citizen", created_at=wib(1, 10))
        uow.session.add(citizen)
        await uow.session.flush()
        for key, (opd, state, filed, rdue, first, cdue, resolved) in SEEDED.items():
            c = await uow.complaints.create(
                number_year=2026,
                citizen_user_id=citizen.id,
                channel="telegram",
                text=f"{TEXT} ({key})",
                privacy="biasa",
                state=state,
                opd_code=opd,
                klass="keluhan",
                filed_at=filed,
                updated_at=filed,
                routed_at=filed,
                response_due_at=rdue,
                first_response_at=first,
                completion_due_at=cdue,
                resolved_at=resolved,
                closed_at=resolved if state == "ditutup" else None,
            )
            numbers[key] = c.number
        await uow.commit()
    return numbers


@pytest.fixture
async def world(settings, clock):
    quiet_settings = Settings(**{**settings.__dict__, "scheduler_enabled": False})
    async with running(quiet_settings, clock=clock) as (tg, app):
        yield tg, app, clock


PUPR_LINE = "🚩 PUPR: tanggapan 33% (1/3) · selesai 33% (1/3) · 3 terbuka, 2 terlambat"
DLH_LINE = "DLH: tanggapan 100% (1/1) · selesai 100% (1/1) · 0 terbuka, 0 terlambat"


async def test_kinerja_figures_red_flag_and_drill_down(world):
    tg, app, clock = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")
    numbers = await seed(app)

    out = await coord.send("/kinerja")
    text = text_of(out)
    assert "laporan masuk 30 hari terakhir" in text
    lines = text.splitlines()
    assert lines.index("• " + PUPR_LINE) < lines.index("• " + DLH_LINE)  # worst first
    assert "🚩 = ada laporan 6 hari kerja atau lebih tanpa tanggapan pertama." in text
    assert "/kinerja PUPR" in buttons(out[-1]) and "/kinerja DLH" not in buttons(out[-1])

    # the drill-down, typed in lower case: the late ones, longest waiting first, with view buttons
    out = await coord.send("/kinerja pupr")
    text = text_of(out)
    old_wait = CAL.working_days_between(wib(1, 10), clock.now())
    assert "Laporan masuk 30 hari terakhir: 4." in text and PUPR_LINE in text
    assert "Laporan terlambat, terlama dulu (2):" in text
    first = text.index(f"• {numbers['OLD']} · menunggu {old_wait} hari kerja · lewat batas penyelesaian")
    second = text.index(f"• 🚩 {numbers['P3']} · menunggu 7 hari kerja · belum ditanggapi")
    assert first < second
    for key in ("P1", "P2", "P4"):
        assert numbers[key] not in text
    assert buttons(out[-1])[:2] == [f"/lihat {numbers['OLD']}", f"/lihat {numbers['P3']}"]
    out = await coord.press(f"/lihat {numbers['P3']}")
    assert numbers["P3"] in text_of(out)

    # an officer: their own OPD at once, another OPD refused, a citizen not at all
    out = await pupr.send("/kinerja")
    assert PUPR_LINE in text_of(out) and numbers["P3"] in text_of(out) and "DLH" not in text_of(out)
    out = await pupr.send("/kinerja DLH")
    assert "hanya bisa melihat kinerja OPD Anda sendiri" in text_of(out) and "100%" not in text_of(out)
    out = await coord.send("/kinerja XYZ")
    assert "OPD XYZ tidak dikenal" in text_of(out)
    out = await citizen.send("/kinerja")
    assert "PUPR" not in text_of(out)


async def test_the_red_flag_waits_for_the_threshold_and_the_digest_has_the_section(world):
    tg, app, clock = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    await seed(app)
    # Thursday 19 November: P3 (routed Thu 12) has waited 5 working days: late, not flagged yet
    clock.set(wib(19))
    out = await coord.send("/kinerja")
    assert "• PUPR: tanggapan" in text_of(out) and "🚩" not in text_of(out)
    clock.set(wib(20))  # Friday: 6 working days
    out = await coord.send("/kinerja")
    assert "• 🚩 PUPR: tanggapan" in text_of(out)

    from tests.jobs.test_fixed_check_e2e import run_job

    out = await run_job(app, clock, "digest", CAL.start_of_day(date(2026, 11, 24), time(7)))
    assert "coordinator 1" in out
    text = text_of([m for m in await coord.settle() if m["method"] == "sendMessage"])
    assert "⏱ Kinerja SLA per OPD, laporan masuk 30 hari terakhir" in text
    assert "• " + PUPR_LINE in text and "• " + DLH_LINE in text
