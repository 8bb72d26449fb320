"""FKP end to end through PTB against the fake Bot API server: a coordinator creates a forum by
typing every answer and sees an agenda proposed from seeded SKM and complaint data of the current
period; the wizard's summary edits one field and comes back, takes an agenda typed line by line,
reads dates back; subscribers are announced to; a
citizen registers and sends anonymous input; the day-before reminder goes out once; the berita
acara reaches the participants and the subscribed contributors, nobody else. Plus the export."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handlers.forum.forum_buttons import (
    ForumAction,
    View,
    forum_link,
    opd_button,
    opd_of,
    parse_forum_args,
    parse_id,
    past_link,
    subscribe_link,
    upcoming_link,
)
from storage.complaint_repo import ComplaintRepo
from storage.models import Forum, ForumInput, ForumReminder, SurveyResponse, User
from testkit.tg_chat import buttons, labels, person, quiet, running, text_of
from tests.jobs.test_jobs_e2e import kanal, run_job

WIB = ZoneInfo("Asia/Jakarta")
S2 = datetime(2026, 9, 10, 9, 0, tzinfo=WIB)  # inside 2026-S2, the current period seen from November 2026
# three PDAM questionnaires: NRR U1 3,67 · U2 3,00 · U3 2,00 · U4–U6 4,00 · U7 2,33 · U8–U9 4,00
ANSWERS = [[4, 3, 2, 4, 4, 4, 3, 4, 4], [3, 3, 1, 4, 4, 4, 2, 4, 4], [4, 3, 3, 4, 4, 4, 2, 4, 4]]
TOPICS = ["air tidak mengalir"] * 3 + ["tagihan air"] * 2 + ["pipa bocor"]


def local(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), tzinfo=WIB)


@pytest.fixture
async def world(settings, clock):
    async with running(settings, clock=clock) as (tg, app):  # the jobs run only when the test says
        yield tg, app, clock


async def user_id(app, chat_id: int) -> int:
    async with app.db.unit_of_work() as uow:
        return (
            await uow.session.execute(
                select(User.id).where(User.channel == "telegram", User.external_id == str(chat_id))
            )
        ).scalar_one()


async def seed(app, *, complainants: dict[int, datetime]) -> None:
    """S2 (current period) data of PDAM (SKM and complaints with topics), plus noise that must not
    count: another OPD's complaints in S2 and a PDAM questionnaire of the previous period (S1), which
    the agenda used to be built from. ``complainants``: user id → when that citizen filed a PDAM
    complaint."""
    async with app.db.unit_of_work() as uow:
        s = uow.session
        from storage import Repo

        for i, answers in enumerate(ANSWERS + [[1] * 9]):
            finished = S2 + timedelta(days=i) if i < 3 else datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
            respondent = await Repo(s).get_or_create_user("web", f"seed-{i}", finished)
            row = SurveyResponse(
                user_id=respondent.id,
                unit_code="PDAM-PUSAT",
                opd_code="PDAM",
                service_code=None,
                channel="telegram",
                period_key="2026-S2" if i < 3 else "2026-S1",
                status="complete",
                started_at=finished - timedelta(minutes=4),
                finished_at=finished,
                profile={},
            )
            for k, v in enumerate(answers):
                setattr(row, f"u{k + 1}", v)
            s.add(row)
        repo = ComplaintRepo(s)
        filed = [("PDAM", topic, None, S2 + timedelta(days=i)) for i, topic in enumerate(TOPICS)]
        filed += [("PUPR", "jalan rusak", None, S2)] * 4
        filed += [("PDAM", "air tidak mengalir", uid, at) for uid, at in complainants.items()]
        for opd, topic, uid, at in filed:
            await repo.create(
                number_year=at.year,
                citizen_user_id=uid,
                channel="telegram",
                text=f"Keluhan {topic} di rumah kami sejak lama",
                privacy="biasa",
                state="tindak_lanjut",
                opd_code=opd,
                topic=topic,
                filed_at=at,
                updated_at=at,
            )
        await uow.commit()


async def test_forum_from_agenda_to_berita_acara(world, tmp_path):
    tg, app, clock = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    officer = await person(tg, app, 601, "Pak Agus", role="officer", opd="PDAM")
    ani = await person(tg, app, 101, "Ani")  # subscribes to PDAM, registers, sends input
    budi = await person(tg, app, 102, "Budi")  # subscribes to the region, complained about PDAM in S2
    citra = await person(tg, app, 103, "Citra")  # subscribes to the region, no contribution
    dodi = await person(tg, app, 104, "Dodi")  # complained about PDAM, never subscribed
    await seed(
        app,
        complainants={
            await user_id(app, 102): local(date(2026, 8, 3), 10),
            await user_id(app, 104): local(date(2026, 8, 4), 10),
        },
    )

    # ---- subscriptions ------------------------------------------------------------------------
    out = await ani.send("/forum")
    assert "Belum ada forum" in text_of(out) and "/forum langganan" in buttons(out[-1])
    out = await ani.press("/forum langganan")
    assert "/forum langganan PDAM" in buttons(out[-1])
    out = await ani.press("/forum langganan PDAM")
    assert "Anda akan menerima kabar forum: Perumda Air Minum" in text_of(out)
    for citizen in (budi, citra):
        out = await citizen.send("/forum langganan region")
        assert "Anda akan menerima kabar forum: Kabupaten Sukamaju" in text_of(out)
    out = await citra.send("/forum langganan DLH")
    out = await citra.send("/forum langganan DLH")  # pressing again stops it
    assert "dihentikan" in text_of(out)

    # ---- the coordinator creates a forum, typing every answer; the agenda comes from the S2 data --
    out = await coord.send("/forumbaru")
    numbered = {v: k for k, v in labels(out[-1]).items()}
    assert numbered["forumbaru:opd:PDAM"].startswith("9 · Perumda Air Minum"), numbered  # the number may be typed
    out = await coord.send("dinas")  # several OPDs are "Dinas …": asked again, with why
    assert "tidak saya kenali, atau ada beberapa yang mirip" in text_of(out) and "forumbaru:opd:PDAM" in buttons(
        out[-1]
    )
    await coord.send("air minum")  # a part of the OPD's name
    out = await coord.send("Air")  # too short
    assert "terlalu pendek" in text_of(out) and "Judul forum?" in text_of(out)
    await coord.send("Forum Konsultasi Publik Layanan Air Bersih")
    await coord.send("Gangguan aliran air dan tagihan")
    out = await coord.send("30/11/2026 jam 25:00")
    assert "Jam 25:00 tidak ada" in text_of(out) and "Kapan forum dimulai (WIB)?" in text_of(out)
    out = await coord.send("Senin 30 November jam 9 pagi")
    assert "Senin, 30 November 2026 pukul 09.00 WIB — betul?" in text_of(out)
    out = await coord.send("iya")
    assert "Tempatnya?" in text_of(out)
    await coord.send("Aula PDAM Tirta Sukamaju, Jl. Merdeka 1")
    out = await coord.send("lima puluh")
    assert "Kuota harus berupa angka" in text_of(out) and "Kuota peserta" in text_of(out)
    await coord.send("50 orang")
    out = await coord.send("Membahas gangguan air dan tagihan bersama pelanggan PDAM.")
    assert "Deskripsi tersimpan (1 baris)" in text_of(out)
    out = await coord.send("Selesai")
    agenda = text_of(out)
    assert "Semester II 2026" in agenda and "Semester I 2026" not in agenda
    assert "3 responden, IKM 86,11 mutu B" in agenda
    assert (
        "U3 Waktu Penyelesaian (NRR 2,00); U7 Perilaku Pelaksana (NRR 2,33); U2 Sistem, Mekanisme, dan Prosedur (NRR 3,00)"
        in agenda
    )
    assert (
        "dari 8 pengaduan): air tidak mengalir (5 pengaduan); tagihan air (2 pengaduan); pipa bocor (1 pengaduan)"
        in agenda
    )
    out = await coord.send("pakai")
    assert "Sen, 30 Nov 2026 09:00 WIB" in text_of(out), text_of(out)
    assert "Unsur SKM terendah Semester II 2026" in text_of(out)
    out = await coord.send("terbitkan")
    assert "Forum #1 diterbitkan dan diumumkan ke 3 pelanggan" in text_of(out)

    for citizen in (ani, budi, citra):
        got = await citizen.settle()
        assert "Forum konsultasi publik baru" in text_of(got) and "/forum 1" in buttons(got[-1])
    assert dodi.new() == [] and officer.new() == []

    # ---- Ani registers and sends anonymous input ------------------------------------------------
    out = await ani.press("/forum 1")
    assert "Terdaftar 0 dari 50 tempat" in text_of(out) and "/forum 1 daftar" in buttons(out[-1])
    out = await ani.press("/forum 1 daftar")
    assert "Anda terdaftar di forum #1" in text_of(out)
    out = await ani.press("/forum 1 daftar")
    assert "sudah terdaftar" in text_of(out)
    await ani.press("/forum 1 masukan")
    await ani.press("forum:mode:anon")
    out = await ani.send("Mohon jadwal gangguan air diumumkan lebih awal lewat WhatsApp.")
    assert "masukan Anda untuk forum #1 tersimpan" in text_of(out)
    async with app.db.unit_of_work() as uow:
        row = (await uow.session.execute(select(ForumInput))).scalar_one()
        assert row.anonymous is True

    out = await officer.send("/forum 1")  # the PDAM officer sees registrations and input, no name on anonymous input
    staff = text_of(out)
    assert "Pendaftar (1)" in staff and "Ani" in staff and "anonim: Mohon jadwal gangguan air" in staff
    other = await person(tg, app, 602, "Petugas DLH", role="officer", opd="DLH")
    out = await other.send("/forum 1")
    assert "tidak ditemukan" in text_of(out) and "Ani" not in text_of(out)

    # ---- the day-before reminder, once ------------------------------------------------------------
    await run_job(app, clock, "forum_reminder", local(date(2026, 11, 28), 10))  # two days before: not yet
    await run_job(app, clock, "forum_reminder", local(date(2026, 11, 29), 7))  # the day before, but not at night
    assert ani.new() == []
    out = await run_job(app, clock, "forum_reminder", local(date(2026, 11, 29), 10))
    assert "reminded 1" in out
    got = await ani.settle()
    assert (
        len(got) == 1
        and "Pengingat: besok" in text_of(got)
        and "#1" in text_of(got)
        and "Sen, 30 Nov 2026 09:00 WIB" in text_of(got)
    )
    assert "/forum 1 batal" in buttons(got[-1])
    out = await run_job(app, clock, "forum_reminder", local(date(2026, 11, 29), 10))  # the same run again
    assert "reminded" not in out
    await run_job(app, clock, "forum_reminder", local(date(2026, 11, 29), 16))
    await run_job(app, clock, "forum_reminder", local(date(2026, 11, 30), 7))
    await quiet(tg, app)
    assert ani.new() == [] and budi.new() == [] and citra.new() == [] and dodi.new() == []
    async with app.db.unit_of_work() as uow:
        reminders = (await uow.session.execute(select(ForumReminder))).scalars().all()
        assert [(r.forum_id, r.kind) for r in reminders] == [(1, "day_before")]

    # ---- publishing the berita acara ------------------------------------------------------------
    out = await coord.send("/forumhasil 1")
    assert "belum berlangsung" in text_of(out)
    clock.set(local(date(2026, 11, 30), 13))
    out = await coord.send("/forumhasil 1")
    assert "Tulis berita acara forum #1" in text_of(out)
    await coord.send("Disepakati: jadwal gangguan diumumkan H-1 lewat WhatsApp; tagihan dicek ulang bila melonjak.")
    out = await coord.send("sudah")  # neither a photo nor Lewati
    assert "forumhasil:skip" in buttons(out[-1])
    out = await coord.photo()  # the signed berita acara
    assert "dengan 1 foto" in text_of(out) and "forumhasil:publish" in buttons(out[-1])
    out = await coord.press("forumhasil:publish")
    assert "dikirim ke 2 orang" in text_of(out)
    for citizen in (ani, budi):  # the participant and the subscribed contributor
        got = await citizen.settle()
        assert "Berita acara forum konsultasi publik #1" in text_of(got) and "Disepakati: jadwal gangguan" in text_of(
            got
        )
        assert [m["method"] for m in got].count("sendPhoto") == 1
    assert citra.new() == [] and dodi.new() == [] and officer.new() == [] and other.new() == []
    out = await coord.send("/forumhasil 1")
    assert "sudah diterbitkan" in text_of(out)
    out = await citra.send("/forum lalu")
    assert "#1" in text_of(out) and "hasil terbit" in text_of(out)

    # ---- export of attendance and input ----------------------------------------------------------
    rc, printed = await kanal(app, "export", "forum", "1", "--format", "xlsx", "-o", str(tmp_path / "forum.xlsx"))
    assert rc == 0, printed
    wb = load_workbook(tmp_path / "forum.xlsx")
    attendance = list(wb["Kehadiran"].iter_rows(min_row=2, values_only=True))
    inputs = list(wb["Masukan"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[3]) for r in attendance] == [("Ani", "registered")]
    assert [(r[2], r[4]) for r in inputs] == [
        ("anonim", "Mohon jadwal gangguan air diumumkan lebih awal lewat WhatsApp.")
    ]


async def test_wizard_edits_from_the_summary_lines_and_dates(world):
    """A date without a time asks for it; the date is read back and a new try replaces it; the
    agenda typed line by line keeps every line; each edit button of the summary changes one field
    and comes back to the summary; a typed reply that is no choice says why. The agenda proposal
    falls back to the previous period when the current one has no data."""
    tg, app, clock = world
    coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
    async with app.db.unit_of_work() as uow:  # DLH: complaints in the previous period (S1) only
        for topic in ("sampah menumpuk", "sampah menumpuk", "TPS liar"):
            at = datetime(2026, 4, 6, 9, 0, tzinfo=WIB)
            await ComplaintRepo(uow.session).create(
                number_year=2026,
                citizen_user_id=None,
                channel="telegram",
                text=f"Keluhan {topic} di lingkungan kami",
                privacy="biasa",
                state="tindak_lanjut",
                opd_code="DLH",
                topic=topic,
                filed_at=at,
                updated_at=at,
            )
        await uow.commit()

    await coord.send("/forumbaru")
    out = await coord.send("dinas xyz")
    assert "tidak saya kenali" in text_of(out) and "forumbaru:opd:DLH" in buttons(out[-1])
    await coord.send("DLH")
    out = await coord.photo()  # not an answer to a text question: why, and the question again
    assert "Jawab dengan teks" in text_of(out) and "Judul forum?" in text_of(out)
    await coord.send("Forum Pengelolaan Sampah")
    await coord.send("Jadwal angkut sampah")
    out = await coord.send("Kamis 10 Desember")  # no time: asked for it, not midnight
    assert "Kamis, 10 Desember 2026: jam berapa forum dimulai?" in text_of(out)
    out = await coord.send("jam 3 sore")
    assert "Kamis, 10 Desember 2026 pukul 15.00 WIB — betul?" in text_of(out)
    assert "forumbaru:when:ok" in buttons(out[-1])
    out = await coord.send("Jumat 10 Desember jam 9")  # not a yes: a new try, whose weekday is wrong
    assert "jatuh pada Kamis, 10 Desember 2026" in text_of(out) and "Kapan forum dimulai" in text_of(out)
    out = await coord.send("Jumat 11 Desember jam 7 malam")
    assert "Jumat, 11 Desember 2026 pukul 19.00 WIB — betul?" in text_of(out)
    out = await coord.press("forumbaru:when:ok")
    assert "Tempatnya?" in text_of(out)
    await coord.send("Balai Desa Sukamaju")
    await coord.send("30")
    await coord.send("Membahas jadwal angkut sampah dan TPS liar.")
    out = await coord.send("Yang diundang: warga dan ketua RT.")  # a second line of the description
    assert "Deskripsi tersimpan (2 baris)" in text_of(out)
    out = await coord.press("forumbaru:more:done")
    assert "Semester I 2026" in text_of(out) and "sampah menumpuk (2 pengaduan); TPS liar (1 pengaduan)" in text_of(out)
    out = await coord.send("1. Pembukaan")
    assert "Agenda tersimpan (1 baris)" in text_of(out) and "forumbaru:more:done" in buttons(out[-1])
    await coord.send("2. Jadwal angkut sampah per RW")
    out = await coord.send("3. TPS liar dan tanya jawab")
    assert "Agenda tersimpan (3 baris)" in text_of(out)
    out = await coord.send("Selesai acara")  # a line that looks like the button is still a line
    assert "Agenda tersimpan (4 baris)" in text_of(out)
    out = await coord.send("sudah")
    summary = text_of(out)
    assert "Jum, 11 Des 2026 19:00 WIB" in summary and "2. Jadwal angkut sampah per RW\n3. TPS liar" in summary
    assert {"forumbaru:edit:title", "forumbaru:edit:when", "forumbaru:edit:agenda"} <= set(buttons(out[-1]))

    out = await coord.send("halo")  # neither publish nor a field: why, and the summary again
    assert "Forum belum diterbitkan" in text_of(out) and "forumbaru:publish" in buttons(out[-1])
    out = await coord.press("forumbaru:edit:when")
    assert "Sekarang: Jumat, 11 Desember 2026 pukul 19.00 WIB" in text_of(out)
    out = await coord.send("besok jam 13.00")
    assert "Selasa, 24 November 2026 pukul 13.00 WIB — betul?" in text_of(out)
    out = await coord.send("betul")  # back to the summary, not on to the place
    assert "Sel, 24 Nov 2026 13:00 WIB" in text_of(out) and "Tempatnya?" not in text_of(out)
    out = await coord.press("forumbaru:edit:title")
    assert "Sekarang: Forum Pengelolaan Sampah" in text_of(out)
    out = await coord.send("Forum Konsultasi Sampah Sukamaju")
    assert "Forum Konsultasi Sampah Sukamaju — Jadwal angkut sampah" in text_of(out)
    out = await coord.send("ubah agenda")  # a field typed by its name
    assert "Agenda sekarang:" in text_of(out) and "forumbaru:agenda:keep" in buttons(out[-1])
    out = await coord.press("forumbaru:agenda:keep")
    assert "3. TPS liar dan tanya jawab\nSelesai acara" in text_of(out)
    out = await coord.press("forumbaru:publish")
    assert "Forum #1 diterbitkan" in text_of(out)
    async with app.db.unit_of_work() as uow:
        f = (await uow.session.execute(select(Forum))).scalar_one()
    assert f.title == "Forum Konsultasi Sampah Sukamaju" and f.opd_code == "DLH" and f.capacity == 30
    starts = f.starts_at if f.starts_at.tzinfo else f.starts_at.replace(tzinfo=UTC)
    assert starts == local(date(2026, 11, 24), 13)
    assert f.description == "Membahas jadwal angkut sampah dan TPS liar.\nYang diundang: warga dan ketua RT."
    assert f.agenda == "1. Pembukaan\n2. Jadwal angkut sampah per RW\n3. TPS liar dan tanya jawab\nSelesai acara"
    assert f.data_period_key == "2026-S1"


async def test_cli_create_list_result_and_csv(world, tmp_path, monkeypatch):
    tg, app, clock = world
    monkeypatch.setattr("bot.domain.clock.SystemClock.now", lambda self: clock.now())  # the CLI's "now" is the test's
    ani = await person(tg, app, 101, "Ani")
    await ani.send("/forum langganan region")
    rc, out = await kanal(
        app,
        "forum",
        "create",
        "--opd",
        "DLH",
        "--title",
        "Forum Pengelolaan Sampah",
        "--topic",
        "Jadwal angkut sampah",
        "--at",
        "2026-12-05 09:00",
        "--place",
        "Balai Desa Sukamaju",
        "--capacity",
        "30",
        "--description",
        "Membahas jadwal angkut sampah dan TPS liar.",
    )
    assert rc == 0, out
    assert "forum #1 created" in out and "announced to 1 subscribers" in out and "Hasil SKM Semester I 2026" in out
    got = await ani.settle()
    assert "Forum konsultasi publik baru" in text_of(got)
    rc, out = await kanal(
        app,
        "forum",
        "create",
        "--opd",
        "NOPE",
        "--title",
        "x",
        "--topic",
        "y",
        "--at",
        "2026-12-05 09:00",
        "--place",
        "z",
        "--description",
        "d",
    )
    assert rc == 2
    for far in ("0001-01-01 00:00", "9999-12-31 23:59"):  # a year that once overflowed: a line, not a traceback
        args = ("--opd", "DLH", "--title", "Forum Sampah", "--at", far, "--place", "Balai Desa")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, _ = await kanal(app, "forum", "create", *args)
        assert rc == 2 and ("already passed" in err.getvalue() or "two years" in err.getvalue()), err.getvalue()
    rc, out = await kanal(app, "forum", "list")
    assert rc == 0 and "Forum Pengelolaan Sampah" in out and "[0/30]" in out
    await ani.send("/forum 1 masukan")
    await ani.press("forum:mode:named")
    await ani.send("Tolong tambah jadwal angkut di hari Sabtu.")
    target = tmp_path / "f.csv"
    rc, out = await kanal(app, "export", "forum", "1", "-o", str(target))
    assert rc == 0, out
    text = target.read_bytes().decode("utf-8-sig")
    assert "Ani" in text and "hari Sabtu" in text
    rc, out = await kanal(app, "export", "forum", "99", "-o", str(target))
    assert rc == 2
    await ani.press("/forum 1 daftar")

    # the berita acara with a PDF, from the command line
    pdf = tmp_path / "ba.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% berita acara\n%%EOF\n")
    rc, out = await kanal(
        app,
        "forum",
        "result",
        "1",
        "--text",
        "Disepakati: jadwal angkut sampah ditambah hari Sabtu.",
        "--pdf",
        str(pdf),
    )
    assert rc == 2  # not held yet
    clock.set(datetime(2026, 12, 5, 12, 0, tzinfo=WIB))
    (tmp_path / "not.pdf").write_bytes(b"hello")
    rc, out = await kanal(
        app,
        "forum",
        "result",
        "1",
        "--text",
        "Disepakati: jadwal angkut sampah ditambah hari Sabtu.",
        "--pdf",
        str(tmp_path / "not.pdf"),
    )
    assert rc == 2
    rc, out = await kanal(
        app,
        "forum",
        "result",
        "1",
        "--text",
        "Disepakati: jadwal angkut sampah ditambah hari Sabtu.",
        "--pdf",
        str(pdf),
    )
    assert rc == 0 and "published to 1 people (1 participants" in out, out
    got = await ani.settle()
    assert "Berita acara forum konsultasi publik #1" in text_of(got) and "hari Sabtu" in text_of(got)
    docs = tg.sent(ani.id, "sendDocument")
    assert (
        len(docs) == 1
        and docs[0]["media"]["data"].startswith(b"%PDF-")
        and docs[0]["media"]["filename"] == "berita-acara-forum-1.pdf"
    )
    rc, out = await kanal(app, "forum", "result", "1", "--text", "Sekali lagi diterbitkan, tidak boleh dua kali ya.")
    assert rc == 2
    for far in ("0001-01-01 00:00", "9999-12-31 23:59"):  # a year that once overflowed: a line, not a traceback
        args = ("--opd", "DLH", "--title", "Forum Sampah", "--at", far, "--place", "Balai Desa")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, _ = await kanal(app, "forum", "create", *args)
        assert rc == 2 and ("already passed" in err.getvalue() or "two years" in err.getvalue()), err.getvalue()
    rc, out = await kanal(app, "forum", "list")
    assert "result published" in out


def test_forum_links_are_read_back_by_the_forum_command():
    """The buttons that are /forum commands, parsed as the command parses them."""

    def parsed(link: str):
        return parse_forum_args(link.removeprefix("/forum"))

    assert parsed(upcoming_link(2)).view is View.UPCOMING and parsed(upcoming_link(2)).page == 2
    assert parsed(past_link(1)).view is View.PAST and parsed(past_link(1)).page == 1
    assert parsed(forum_link(7)) == parsed("/forum #7") and parsed(forum_link(7)).action is None
    for action in ForumAction:
        req = parsed(forum_link(7, action))
        assert (req.view, req.forum_id, req.action) == (View.FORUM, 7, action)
    assert parsed(subscribe_link("pdam")).scope == "PDAM" and parsed("/forum langganan").view is View.SUBSCRIPTIONS
    assert parse_forum_args("").view is View.UPCOMING and parse_forum_args("abc").view is View.NO_ID
    assert parse_forum_args("3 rsvp").action is ForumAction.RSVP and parse_forum_args("halaman 99999").page == 0
    assert parse_id("#12 teks") == 12 and parse_id("") is None and parse_id("1" * 13) is None
    assert opd_of(opd_button("PDAM")) == "PDAM"
