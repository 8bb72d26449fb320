"""'Not ours' end to end through PTB against the fake Bot API server: a complaint whose words belong
to a body outside the Pemda (PLN) is said so at filing, waits in triage with the suggested body,
and the coordinator closes it to that body with one button; staff routing decisions become the
region's labelled examples."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Complaint, ComplaintEvent
from testkit.tg_chat import NUMBER_RE, buttons, person, running, text_of

BLACKOUT = "Listrik di dusun kami padam sudah tiga hari, token listrik juga tidak bisa diisi. Tolong dibantu."


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def typed_complaint(citizen, text: str) -> tuple[str, str]:
    """Files ``text`` typing every answer; the summary and the receipt, returned with the number."""
    await citizen.send("lapor")
    await citizen.send(text)
    await citizen.send("lanjut")
    await citizen.send("lewati")
    summary = text_of(await citizen.send("biasa"))
    receipt = text_of(await citizen.send("kirim"))
    numbers = NUMBER_RE.findall(receipt)
    assert numbers, receipt
    return numbers[0], summary + "\n" + receipt


async def complaint(db, number: str) -> tuple[Complaint, list[str]]:
    async with db.unit_of_work() as uow:
        c = (await uow.session.execute(select(Complaint).where(Complaint.number == number))).scalar_one()
        stmt = select(ComplaintEvent.action).where(ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.id)
        return c, list((await uow.session.execute(stmt)).scalars())


async def examples(db) -> list[tuple[str, str, str]]:
    async with db.unit_of_work() as uow:
        return [(text, label, source) for text, label, source in await uow.routing.all_examples()]


async def test_outside_body_told_at_filing_and_closed_by_the_coordinator(world, db):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    officer = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    citizen = await person(tg, app, 101, "Siti Aminah")

    number, said = await typed_complaint(citizen, BLACKOUT)
    assert "urusan PLN" in said and "bukan Pemda" in said  # in the summary, before sending
    assert "diteruskan ke sana" in said  # and in the receipt

    c, actions = await complaint(db, number)
    assert (c.state, c.opd_code, c.suggested_outside) == ("triase", None, "PLN")
    assert actions == ["filed"]
    note = await coord.settle()
    assert number in text_of(note) and "Tampaknya urusan PLN" in text_of(note)
    assert f"/luar {number} PLN" in buttons(note[-1])
    assert officer.new() == []
    listed = text_of(await coord.send("/triase"))
    assert number in listed and "bukan urusan Pemda? PLN" in listed

    out = await coord.press(f"/luar {number} PLN")
    assert "ditutup: diteruskan ke PLN" in text_of(out)
    told = text_of(await citizen.settle())
    assert number in told and "urusan PLN" in told and "lapor.go.id" in told

    c, actions = await complaint(db, number)
    assert (c.state, c.referred_to) == ("ditutup", "PLN") and c.closed_at is not None
    assert actions == ["filed", "refer_out"]
    assert await examples(db) == [(BLACKOUT, "NONE", "luar")]

    status = text_of(await citizen.send(f"/status {number}"))
    assert "bukan urusan Pemda; diteruskan ke PLN" in status

    # closed: a second press is refused with the state, nothing changes
    out = await coord.press(f"/luar {number} PLN")
    assert "ditutup" in text_of(out).lower()
    assert (await complaint(db, number))[1] == ["filed", "refer_out"]


async def test_luar_without_a_body_offers_the_region_bodies(world, db):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    citizen = await person(tg, app, 101, "Siti Aminah")
    number, _ = await typed_complaint(citizen, "Ada yang aneh di kampung kami, mohon dicek petugas secepatnya ya pak.")
    await coord.settle()
    out = await coord.send(f"/luar {number}")
    assert "urusan instansi mana" in text_of(out)
    assert f"/luar {number} PLN" in buttons(out[-1]) and f"/luar {number} BPN" in buttons(out[-1])
    out = await coord.send(f"/luar {number} XYZ")
    assert 'Kode instansi "XYZ" tidak dikenal' in text_of(out)
    # the OPD picker offers the way out too
    out = await coord.send(f"/arahkan {number}")
    assert f"/luar {number}" in buttons(out[-1])


async def test_staff_routing_decisions_become_examples(world, db):
    tg, app = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    pupr = await person(tg, app, 501, "Pak Rudi", role="officer", opd="PUPR")
    await person(tg, app, 502, "Bu Dewi", role="officer", opd="DLH")
    citizen = await person(tg, app, 101, "Siti Aminah")
    text = "Ada yang aneh di kampung kami, mohon dicek petugas secepatnya ya pak."
    number, _ = await typed_complaint(citizen, text)
    await coord.settle()

    await coord.send(f"/arahkan {number} PUPR")
    assert await examples(db) == [(text, "PUPR", "arahkan")]
    await pupr.settle()
    await pupr.send(f"/kembalikan {number} Bukan jalan, ini soal sampah.")
    assert await examples(db) == [(text, "PUPR", "kembalikan")]  # the last decision: PUPR was wrong
    await coord.settle()
    await coord.send(f"/arahkan {number} DLH")
    assert await examples(db) == [(text, "DLH", "arahkan")]
    async with db.unit_of_work() as uow:
        assert await uow.routing.training_examples() == [(text, "DLH")]
