"""A Pemda's exported SP4N-LAPOR! history (CSV or XLSX) for ``kanal lapor import``: its rows seed
the router's training data (``routing_examples``, source ``import``) and the statistics.

The whole file is checked first: the header must name a text column (isi/judul laporan) and an
instansi/kategori column; each row's instansi is an OPD of the region (its code, its name, its
``lapor_instansi`` id or a ``lapor_topic`` only it has), its date a date, its TrackingID not seen
before in the file. One problem and nothing is loaded; every problem is listed with its line.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from bot.domain.region import LaporMap
from bot.services.routing_service import HistoryError

#: accepted header names (lower case, spaces and punctuation folded to one space)
COLUMNS = {
    "tracking": ("trackingid", "tracking id", "tracking", "no tracking", "nomor tracking", "id laporan"),
    "title": ("judul", "judul laporan"),
    "text": ("isi", "isi laporan", "laporan", "text", "teks", "uraian"),
    "instansi": ("instansi", "instansi tujuan", "instansi terdisposisi", "kategori", "topik", "opd"),
    "date": ("tanggal", "tanggal laporan", "tgl", "date", "waktu"),
    "status": ("status", "status laporan"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M")


@dataclass
class History:
    rows: list[tuple[str, str]]  # (text, OPD code): routing examples
    per_opd: Counter[str] = field(default_factory=Counter)
    per_year: Counter[str] = field(default_factory=Counter)
    per_status: Counter[str] = field(default_factory=Counter)


def _fold(header: Any) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(header or "").lower()).strip()


def _table(path: Path) -> list[list[Any]]:
    """The file's rows (the header first), CSV UTF-8 or XLSX (first sheet)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise HistoryError(str(path), [f"cannot read it: {exc.strerror or exc}"]) from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx(path, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise HistoryError(
            str(path), [f"line {line}: not UTF-8; save the file as CSV UTF-8 (Excel: 'CSV UTF-8 (Comma delimited)')"]
        ) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx(path: Path, raw: bytes) -> list[list[Any]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # a broken or foreign file: one clear line, never a traceback
        raise HistoryError(str(path), [f"not a readable XLSX workbook ({type(exc).__name__})"]) from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _columns(header: list[Any], where: str) -> dict[str, int]:
    folded = [_fold(h) for h in header]
    found = {key: next((i for i, h in enumerate(folded) if h in names), -1) for key, names in COLUMNS.items()}
    problems = []
    if found["text"] < 0 and found["title"] < 0:
        problems.append("line 1: no column with the report's text (isi laporan or judul laporan)")
    if found["instansi"] < 0:
        problems.append("line 1: no instansi/kategori column (the OPD it went to)")
    if problems:
        raise HistoryError(where, [*problems, f"columns found: {', '.join(str(h) for h in header if h)}"])
    return found


def _date(value: Any) -> date | None | str:
    """A cell's date; None when empty; the text itself when it is no date."""
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return text


def opd_lookup(opd_names: dict[str, str], mapping: LaporMap) -> dict[str, str]:
    """Every way an export may name an OPD (folded): code, name, lapor_instansi, own lapor_topic."""
    out: dict[str, str] = {}
    topics = Counter(mapping.opd_topics.values())
    for code, topic in mapping.opd_topics.items():
        if topics[topic] == 1:
            out[_fold(topic)] = code
    for code, inst in mapping.opd_instansi.items():
        out[_fold(inst)] = code
    for code, name in opd_names.items():
        out[_fold(name)] = code
        out[_fold(code)] = code
    return out


def read_lapor_history(path: str | Path, opd_names: dict[str, str], mapping: LaporMap) -> History:
    """The file checked as a whole; raises :class:`HistoryError` listing every problem with its line."""
    p = Path(path)
    table = _table(p)
    if not table:
        raise HistoryError(str(p), ["the file is empty"])
    cols = _columns(table[0], str(p))
    lookup = opd_lookup(opd_names, mapping)
    history = History(rows=[])
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(table[1:], start=2):
        if not any(str(c).strip() for c in row if c is not None):
            continue
        problem = _row(row, cols, line, lookup, seen, history)
        if problem:
            problems.append(f"line {line}: {problem}")
    if problems:
        raise HistoryError(str(p), problems)
    if not history.rows:
        raise HistoryError(str(p), ["no rows after the header"])
    return history


def _cell(row: list[Any], i: int) -> str:
    return str(row[i]).strip() if 0 <= i < len(row) and row[i] is not None else ""


def _row(row: list[Any], cols: dict[str, int], line: int, lookup, seen: dict[str, int], history: History) -> str:
    title, body = _cell(row, cols["title"]), _cell(row, cols["text"])
    text = f"{title}. {body}" if title and body and not body.startswith(title) else (body or title)
    if not text:
        return "empty report text"
    instansi = _cell(row, cols["instansi"])
    code = lookup.get(_fold(instansi))
    if code is None:
        return f"instansi {instansi!r} is no OPD of the region (an OPD's code, name or lapor_instansi)"
    when = _date(row[cols["date"]] if 0 <= cols["date"] < len(row) else None)
    if isinstance(when, str):
        return f"tanggal {when!r} is no date (YYYY-MM-DD or DD/MM/YYYY)"
    tracking = _cell(row, cols["tracking"])
    if tracking:
        if tracking in seen:
            return f"TrackingID {tracking} appears twice (also line {seen[tracking]})"
        seen[tracking] = line
    history.rows.append((text[:4000], code))
    history.per_opd[code] += 1
    history.per_year[str(when.year) if when else "?"] += 1
    history.per_status[_cell(row, cols["status"]).lower() or "?"] += 1
    return ""
