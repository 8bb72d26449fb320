"""On WhatsApp (the fake Graph API server, signed webhooks in, Cloud API requests out): a citizen
offered a similar open complaint types "ikuti", follows it and gets the officer's answer; a PDAM
officer on WhatsApp picks a reply template by typing its name, edits it by typing, and the
reporter gets the edited text; another OPD's templates are not offered."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from storage.models import Complaint, ComplaintFollower
from testkit.tg_chat import invite_code
from tests.flows.test_whatsapp_flows import (
    CITIZEN,
    CITIZEN_NAME,
    WaPerson,
    both_channels,
    file_complaint,
    kind,
    offered,
    texts,
)

LEAK = "Pipa bocor di depan gang Melati, air bersih terbuang dan tekanan air kecil sekali"
SAME = "Ada pipa bocor di gang Melati, airnya terbuang dan tekanan air jadi kecil sekali"
OTHER_WA, OTHER_NAME = "6281399988877", "Rudi Hartono"


@pytest.fixture
async def world(settings, clock):
    async with both_channels(replace(settings, similar_complaints=True), clock) as w:
        yield w


async def citizen(wa, app, wa_id: str, name: str) -> WaPerson:
    p = WaPerson(wa, app, wa_id, name)
    await p.send("/start")
    await p.tap(value="consent:yes")
    p.new()
    return p


async def officer(wa, app, wa_id: str, name: str, opd: str) -> WaPerson:
    p = await citizen(wa, app, wa_id, name)
    await p.send(f"/gabung {await invite_code(app, 'officer', opd)}")
    p.new()
    return p


async def draft_to_send(p: WaPerson, text: str) -> list[dict]:
    """/lapor with ``text``, no photo, no place, Biasa, then Kirim: what the bot answered to Kirim."""
    await p.send("/lapor")
    await p.send(text)
    await p.tap(value="lapor:next")
    await p.tap(value="lapor:skip")
    await p.tap(title="Biasa")
    return await p.tap(value="lapor:send")


async def test_whatsapp_citizen_follows_a_similar_complaint_by_typing_and_gets_the_answer(world, db):
    tg, wa, app = world
    pdam = await officer(wa, app, "6281100000611", "Bu Ratna", "PDAM")
    dewi = await citizen(wa, app, CITIZEN, CITIZEN_NAME)
    number, _ = await file_complaint(dewi, LEAK, "Biasa")
    await pdam.settle()

    rudi = await citizen(wa, app, OTHER_WA, OTHER_NAME)
    out = await draft_to_send(rudi, SAME)
    assert "Sudah ada laporan serupa" in texts(out) and number in texts(out)
    assert CITIZEN_NAME not in texts(out)
    ids = [r["id"] for r in offered(out[-1])]
    assert f"lapor:ikuti:{number}" in ids and "lapor:baru" in ids
    out = await rudi.send("ikuti")
    assert f"mengikuti laporan {number}" in texts(out)
    async with db.unit_of_work() as uow:
        assert len((await uow.session.execute(select(Complaint))).scalars().all()) == 1
        assert len((await uow.session.execute(select(ComplaintFollower))).scalars().all()) == 1

    out = await pdam.send(f"/lihat {number}")
    assert "Diikuti 1 warga lain" in texts(out)
    await pdam.send(f"/balas {number} Petugas kami menutup kebocoran sore ini.")
    assert "menutup kebocoran sore ini" in texts(await dewi.settle())
    got = await rudi.settle()
    assert f"Laporan {number} yang Anda ikuti" in texts(got) and "menutup kebocoran sore ini" in texts(got)
    assert CITIZEN_NAME not in texts(got)
    assert f"/berhenti_ikuti {number}" in [r["id"] for r in offered(got[-1])]


async def test_whatsapp_officer_edits_a_template_before_sending(world):
    tg, wa, app = world
    pdam = await officer(wa, app, "6281100000612", "Bu Ratna", "PDAM")
    dewi = await citizen(wa, app, CITIZEN, CITIZEN_NAME)
    number, _ = await file_complaint(dewi, LEAK, "Biasa")
    await pdam.settle()

    out = await pdam.send(f"/balas {number}")
    titles = [r["title"] for r in offered(out[-1])]
    assert "📝 diterima" in titles and not any("survei" in x or "angkut" in x for x in titles)
    out = await pdam.send("diterima")
    assert f"laporan {number} sudah kami terima dan sedang ditangani oleh" in texts(out)
    assert kind(out[-1]) in ("button", "list") and "tpl:send" in [r["id"] for r in offered(out[-1])]
    out = await pdam.send(f"Laporan {number} sudah kami terima; tim PDAM datang besok jam 9.")
    assert "Jawaban terkirim" in texts(out)
    got = texts(await dewi.settle())
    assert "tim PDAM datang besok jam 9" in got and "sedang ditangani oleh" not in got
