"""SKM end to end through PTB against the fake Bot API server, and the same questionnaire on the
web chat. The IKM the coordinator sees is checked against a hand computation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.survey.survey_buttons import ALL, NONE, Act, button, parse, profile_button
from storage.models import RespondentProfile, SurveyResponse
from testkit.tg_chat import buttons, labels, person, running, text_of

UNIT = "DISDUKCAPIL-PST"
# three respondents' answers to U1..U9
A = [4, 4, 3, 3, 4, 4, 4, 3, 3]
B = [3, 3, 3, 4, 3, 3, 4, 3, 2]
C = [2, 3, 3, 4, 3, 4, 4, 3, 3]
# by hand: NRR U1..U9 = 3, 3.333, 3, 3.667, 3.333, 3.667, 4, 3, 2.667; Σ/9 = 3.2963; ×25 = 82.407 → 82,41, mutu B
EXPECTED_IKM = "82,41"


@pytest.fixture
async def world(settings):
    async with running(settings) as (tg, app):
        yield tg, app


async def answer_nine(chat, answers: list[int]) -> list[dict]:
    out = []
    for i, value in enumerate(answers):
        msg = out[-1] if out else None
        if msg is not None:
            assert f"Pertanyaan {i + 1} dari 9" in msg["visible_text"]
        out = await chat.press(f"skm:a:{i}:{value}")
    return out


async def test_questionnaires_and_coordinator_ikm(world, db):
    tg, app = world
    coord = await person(tg, app, 900, "Koordinator", role="coordinator")

    # A: from the menu, OPD → unit → service, answers the profile
    a = await person(tg, app, 201, "Ani")
    out = await a.press("/survei")
    assert "skm:opd:DISDUKCAPIL" in buttons(out[-1])
    out = await a.press("skm:opd:DISDUKCAPIL")
    assert f"skm:unit:{UNIT}" in buttons(out[-1])
    out = await a.press(f"skm:unit:{UNIT}")
    assert f"skm:svc:{UNIT}-02" in buttons(out[-1])
    out = await a.press(f"skm:svc:{UNIT}-02")
    assert "sekali" in text_of(out)  # the profile is asked once and can be skipped
    for index, pick in enumerate((1, 1, 2, 3)):
        out = await a.press(f"skm:p:{index}:{pick}")
    assert "Pertanyaan 1 dari 9" in text_of(out)
    assert list(labels(out[-1]))[:4] == ["1 · Tidak sesuai", "2 · Kurang sesuai", "3 · Sesuai", "4 · Sangat sesuai"]
    # answer U1 wrongly, go back, fix it
    out = await a.press("skm:a:0:1")
    assert "Pertanyaan 2 dari 9" in text_of(out) and "skm:back" in buttons(out[-1])
    out = await a.press("skm:back")
    assert "Pertanyaan 1 dari 9" in text_of(out)
    out = await answer_nine(a, A)
    assert "saran" in text_of(out).lower()
    out = await a.send("Antrean di loket 3 terlalu lama, mohon tambah petugas.")
    assert "Terima kasih" in text_of(out)

    # B: QR deep link before consent → straight to the unit's questionnaire
    from testkit.tg_chat import Chat

    b = Chat(tg, app, 202, "Budi")
    out = await b.send(f"/start skm_{UNIT}")
    assert "UU No. 27/2022" in text_of(out)
    out = await b.press("consent:yes")
    assert "Layanan apa" in text_of(out) and UNIT in "".join(buttons(out[-1]))
    await b.press(f"skm:svc:{UNIT}-01")
    out = await b.press("skm:p:all")
    assert "Pertanyaan 1 dari 9" in text_of(out)
    await answer_nine(b, B)
    out = await b.press("skm:nosaran")
    assert "Terima kasih" in text_of(out)

    # C: types the unit code, answers by typing digits
    c = await person(tg, app, 203, "Cici")
    await c.send(f"/survei {UNIT.lower()}")
    await c.press(f"skm:svc:{UNIT}-01")
    await c.press("skm:p:all")
    for value in C:
        out = await c.send(str(value))
    out = await c.send("lewati")
    assert "Terima kasih" in text_of(out)

    # D starts, then cancels: kept as abandoned, not counted
    d = await person(tg, app, 204, "Dedi")
    await d.send(f"/survei {UNIT}")
    await d.press(f"skm:svc:{UNIT}-01")
    await d.press("skm:p:all")
    await d.press("skm:a:0:1")
    out = await d.send("/batal")
    assert "Dibatalkan" in text_of(out)

    out = await coord.send("/ikm")
    line = next(line for line in text_of(out).splitlines() if UNIT in line)
    assert EXPECTED_IKM in line and " B " in line and "n=3" in line and "belum memadai" in line

    out = await coord.send(f"/ikm {UNIT}")
    detail = text_of(out)
    assert EXPECTED_IKM in detail and "mutu B" in detail
    # weakest element first: U9 (2,67)
    first = next(line for line in detail.splitlines() if line.startswith("• "))
    assert first.startswith("• U9") and "2,67" in first

    # the coordinator's export arrives as an XLSX document whose summary holds the same figure
    out = await coord.send("/ekspor skm")
    doc = next(m for m in out if m["method"] == "sendDocument")
    assert doc["media"]["filename"].endswith(".xlsx")
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(doc["media"]["data"]), read_only=True)
    summary = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    unit_row = next(r for r in summary if UNIT in r)
    assert any(isinstance(v, (int, float)) and round(v, 2) == 82.41 for v in unit_row), unit_row

    # per service (A used service 02, B and C service 01), by hand: A Σ 32 / 9 × 25 = 88,89 (A);
    # B + C column sums 5 6 6 8 6 7 8 6 5 = 57 → 57 / 2 / 9 × 25 = 79,17 (B)
    assert "Per layanan:" in detail
    kk = next(line for line in detail.splitlines() if "Penerbitan Kartu Keluarga" in line)
    ktp = next(line for line in detail.splitlines() if "KTP elektronik" in line)
    assert "88,89 A" in kk and "n=1" in kk and "79,17 B" in ktp and "n=2" in ktp
    assert "Kualitas data: alfa Cronbach" in detail and "Per kanal: telegram 3" in detail

    # sample size: the region file's 28 000 a year → 14 000 in the semester → 374 needed
    out = await coord.send(f"/populasi {UNIT}")
    assert "14000" in text_of(out) and "374" in text_of(out) and "berkas wilayah" in text_of(out)
    out = await coord.send(f"/populasi {UNIT} 3")
    assert "diatur koordinator" in text_of(out) and "3 responden" in text_of(out)
    out = await coord.send("/ikm")
    line = next(line for line in text_of(out).splitlines() if UNIT in line)
    assert "n=3/3" in line and "sampel memadai" in line
    out = await coord.send(f"/populasi {UNIT} 0")
    assert "1–" in text_of(out)
    out = await coord.send(f"/populasi {UNIT} 10 2026-Q9")
    assert "2026-Q9" in text_of(out) and "Contoh periode" in text_of(out)
    out = await coord.send("/populasi NOPE 10")
    assert "/populasi KODE-UNIT JUMLAH" in text_of(out)
    out = await coord.send(f"/populasi {UNIT.lower()} hapus semester-ini")
    assert "14000" in text_of(out)
    out = await a.send(f"/populasi {UNIT} 3")  # citizens cannot
    assert "hanya untuk" in text_of(out)

    # OPD officers see their own OPD's units only
    own = await person(tg, app, 910, "Petugas Dukcapil", role="officer", opd="DISDUKCAPIL")
    other = await person(tg, app, 911, "Petugas DLH", role="officer", opd="DLH")
    out = await own.send("/ikm")
    assert UNIT in text_of(out) and EXPECTED_IKM in text_of(out)
    out = await other.send("/ikm")
    assert UNIT not in text_of(out) and "Belum ada survei selesai" in text_of(out)
    out = await other.send(f"/ikm {UNIT}")
    assert "bukan kode unit" in text_of(out) and EXPECTED_IKM not in text_of(out)

    # a second questionnaire for the same unit in the same period is refused, no new row
    out = await a.send(f"/survei {UNIT}")
    assert "sudah mengisi" in text_of(out)

    async with db.unit_of_work() as uow:
        rows = (await uow.session.execute(select(SurveyResponse).order_by(SurveyResponse.id))).scalars().all()
        profile = await uow.session.get(RespondentProfile, rows[0].user_id)
    assert [r.status for r in rows] == ["complete", "complete", "complete", "abandoned"]
    assert [[getattr(r, f"u{i}") for i in range(1, 10)] for r in rows[:3]] == [A, B, C]
    assert rows[0].saran.startswith("Antrean di loket 3")
    assert (profile.umur, profile.jenis_kelamin, profile.pendidikan, profile.pekerjaan) == (
        "20-29",
        "P",
        "SMA",
        "SWASTA",
    )


async def test_interrupted_questionnaire_resumes(world, db):
    tg, app = world
    e = await person(tg, app, 205, "Eka")
    await e.send(f"/survei {UNIT}")
    await e.press(f"skm:svc:{UNIT}-01")
    await e.press("skm:p:all")
    await e.press("skm:a:0:4")
    await e.press("skm:a:1:3")
    out = await e.send("/lapor")  # starting a complaint interrupts the questionnaire
    assert "Ceritakan masalah" in text_of(out)
    out = await e.send("/survei")
    assert "2 dari 9 pertanyaan terjawab" in text_of(out)
    out = await e.press("skm:resume")
    assert "Pertanyaan 3 dari 9" in text_of(out)


async def test_web_chat_completes_the_same_questionnaire(web_app, db):
    from tests.channels.test_webchat import Page

    page = Page(f"http://127.0.0.1:{web_app.port}")
    count = 0

    async def press(value: str, expect: str) -> dict:
        nonlocal count
        await page.ws.send_json({"type": "choice", "id": f"c-{count}", "value": value, "label": value})
        for _ in range(5):
            frames = await page.frames(count + 1)
            count = len(frames)
            if expect in frames[-1]["text"]:
                return frames[-1]
        raise AssertionError(f"{expect!r} not in {frames[-1]['text']!r}")

    try:
        await page.open(start=f"skm_{UNIT}")
        frames = await page.frames(1)
        count = 1
        assert "UU No. 27/2022" in frames[0]["text"]
        await press("consent:yes", "Layanan apa")
        await press(f"skm:svc:{UNIT}-03", "sekali")
        await press("skm:p:all", "Pertanyaan 1 dari 9")
        for i, value in enumerate(A):
            await press(f"skm:a:{i}:{value}", f"Pertanyaan {i + 2} dari 9" if i < 8 else "saran")
        await press("skm:nosaran", "Terima kasih!")
    finally:
        await page.close()
    async with db.unit_of_work() as uow:
        row = (await uow.session.execute(select(SurveyResponse))).scalar_one()
    assert row.status == "complete" and row.channel == "web" and [getattr(row, f"u{i}") for i in range(1, 10)] == A


def test_questionnaire_buttons_round_trip():
    """Every button value the questionnaire sends is read back by the same module; anything else is not a button."""
    assert button(Act.ANSWER, 2, 4) == "skm:a:2:4" and parse("skm:a:2:4").answer() == (2, 4)
    assert parse(button(Act.OPD_PAGE, 3)).page() == 3 and parse("skm:unitpage:x").page() == 0
    assert parse(button(Act.OPD, "PDAM")).arg == "PDAM" and parse(button(Act.SERVICE, NONE)).arg == NONE
    assert parse(profile_button(1, 2)).profile_pick(1) == "2" and parse(profile_button(1, 2)).profile_pick(0) is None
    assert parse(button(Act.PROFILE, ALL)).arg == ALL
    assert parse(button(Act.BACK)).act is Act.BACK and parse("skm:nosaran").act is Act.NO_SARAN
    for other in (None, "", "skm", "skm:zzz:1", "forum:mode:anon", "skm:back:1", "skm:opd", "/batal"):
        assert parse(other) is None, other
    assert parse("skm:a:1").answer() is None and parse("skm:a:1:2:3").answer() is None
