"""Server-side HTML of the public page and of the printable SKM publication: no script, no external
asset, one inline style sheet; every value goes through :func:`html.escape`. Indonesian first,
English beside it (``lang="en"``)."""

from __future__ import annotations

import html
from typing import Any

from bot.domain.i18n import gettext
from bot.domain.public_rules import Cell
from bot.domain.skm import ELEMENT_CODES
from bot.services.public_figures import PublicFigures, UnitSkm, day_text, element_name

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
color:#1a1a1a;background:#f5f6f8}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 .75rem}
header{padding-top:.75rem}
h1{font-size:1.35rem;margin:.4rem 0 .1rem}
h2{font-size:1.15rem;margin:1.4rem 0 .4rem;border-bottom:2px solid #1d4ed8;padding-bottom:.2rem}
h3{font-size:1rem;margin:0 0 .3rem}
.en{color:#4a4a4a;font-weight:normal;font-size:.9em}
.card{background:#fff;border:1px solid #d0d4da;border-radius:.5rem;padding:.6rem .7rem;margin:.5rem 0}
summary{cursor:pointer;font-weight:600;padding:.2rem 0}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{text-align:left;padding:.3rem .25rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.big{font-size:2rem;font-weight:700}
.grade{display:inline-block;min-width:2.4rem;text-align:center;background:#1d4ed8;color:#fff;
border-radius:.3rem;padding:0 .3rem;font-weight:700}
.warn{color:#8a3b00;font-weight:600}
.note{font-size:.9rem;color:#333}
a{color:#1d4ed8}
footer{padding-bottom:2rem}
"""

POSTER_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.4 system-ui,"Noto Sans",sans-serif;color:#111;background:#fff}
main{max-width:48rem;margin:0 auto;padding:1rem}
h1{font-size:1.3rem;margin:0 0 .2rem}
h2{font-size:1.6rem;margin:.6rem 0 .2rem}
.en{color:#4a4a4a;font-weight:normal;font-size:.85em}
.score{display:flex;gap:1rem;align-items:center;flex-wrap:wrap;margin:1rem 0}
.ikm{font-size:3.2rem;font-weight:700;line-height:1}
.grade{font-size:6rem;font-weight:800;line-height:1;border:6px solid #111;border-radius:.8rem;padding:0 1.4rem}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #777;padding:.3rem .4rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{font-weight:700;color:#8a3b00;border:2px solid #8a3b00;padding:.4rem;margin:.6rem 0}
.small{font-size:.85rem}
@page{size:A4;margin:15mm}
@media print{main{max-width:none;padding:0}a{color:#111;text-decoration:none}.noprint{display:none}}
"""

FIGURE_LABELS = (
    ("received", "Pengaduan diterima", "Complaints received", "", ""),
    (
        "answered_on_time",
        "Dijawab dalam tenggat jawaban pertama",
        "Answered within the first-response deadline",
        "%",
        "",
    ),
    ("resolved_on_time", "Selesai dalam tenggat", "Resolved within the deadline", "%", ""),
    ("median_response_days", "Median sampai jawaban pertama", "Median time to first response", "", " hari kerja"),
    ("median_resolution_days", "Median sampai selesai", "Median time to resolution", "", " hari kerja"),
    ("reopened_share", "Dibuka lagi (warga belum puas / belum beres)", "Reopened (not satisfied / not fixed)", "%", ""),
    ("satisfaction", "Warga puas dengan jawaban", "Citizens satisfied with the answer", "%", ""),
)
KINERJA_EN = {"Sangat baik": "Very good", "Baik": "Good", "Kurang baik": "Poor", "Tidak baik": "Bad"}


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def en(text: str) -> str:
    return f' <span class="en" lang="en">/ {e(text)}</span>'


def _page(title: str, style: str, body: str) -> str:
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{style}</style></head><body>{body}</body></html>"
    )


def _cell(c: Cell, k: int, unit: str = "", suffix: str = "") -> str:
    text = c.shown(k)
    if c.value is None:
        return e(text)
    return e(f"{text}{unit}{suffix}")


def _figures_table(f: Any, k: int) -> str:
    rows = []
    for name, label_id, label_en, unit, suffix in FIGURE_LABELS:
        value = _cell(getattr(f, name), k, unit, suffix)
        rows.append(f'<tr><th scope="row">{e(label_id)}{en(label_en)}</th><td class="num">{value}</td></tr>')
    return "<table>" + "".join(rows) + "</table>"


def _opd_block(name: str, f: Any, k: int, *, open_: bool = False) -> str:
    received = f.received.shown(k)
    return (
        f'<details class="card"{" open" if open_ else ""}><summary>{e(name)} — {e(received)} '
        f'pengaduan<span class="en" lang="en"> complaints</span></summary>{_figures_table(f, k)}</details>'
    )


def complaints_section(fig: PublicFigures) -> str:
    period_id = f"{day_text(fig.period_from)} – {day_text(fig.period_to)}"
    period_en = f"{day_text(fig.period_from, 'en')} – {day_text(fig.period_to, 'en')}"
    blocks = [_opd_block("Semua OPD", fig.total, fig.k, open_=True)]
    blocks += [_opd_block(o.name, o.figures, fig.k) for o in fig.opds]
    return (
        '<section aria-labelledby="h-pengaduan"><h2 id="h-pengaduan">Pengaduan per OPD'
        f"{en('Complaints per agency')}</h2>"
        f"<p>Periode: 12 bulan penuh terakhir, {e(period_id)}.{en('Period: the last 12 full months, ' + period_en)}</p>"
        + "".join(blocks)
        + '<p class="note">Tenggat dan median dihitung dalam hari kerja (tanpa akhir pekan, libur nasional, cuti '
        "bersama dan libur daerah), sejak laporan masuk. Persentase tepat waktu dihitung dari laporan yang sudah "
        "dijawab/selesai atau yang tenggatnya sudah lewat. Laporan anonim dan rahasia ikut dihitung, isinya tidak "
        "pernah ditampilkan."
        + en(
            "Deadlines and medians count working days since the complaint was filed. On-time shares count "
            "complaints answered/resolved or past their deadline. Anonymous and confidential complaints are "
            "counted; their content is never shown."
        )
        + "</p></section>"
    )


def _sample_html(u: UnitSkm) -> str:
    label = e(u.sample) + en(gettext("en", u.sample))
    need = f" ({e(u.responses.value)}/{e(u.required)})" if u.required and u.responses.value is not None else ""
    if u.adequate is False:
        caveat = en("Sample not yet adequate: the result cannot be generalised yet.")
        return f'<p class="warn">Sampel belum memadai{need}: hasil belum dapat digeneralisasi.{caveat}</p>'
    return f"<p>Sampel: {label}{need}</p>"


def _trend_table(u: UnitSkm, k: int) -> str:
    rows = "".join(
        f'<tr><th scope="row">{e(p.label_id)}</th><td class="num">{e(p.responses.shown(k))}</td>'
        f'<td class="num">{e(_ikm(p.ikm))}</td><td>{e(p.mutu or "–")}</td></tr>'
        for p in u.trend
    )
    return (
        f'<details><summary>Tren{en("Trend")}</summary><table><thead><tr><th scope="col">Periode</th>'
        '<th scope="col">Responden</th><th scope="col">IKM</th><th scope="col">Mutu</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def _ikm(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}".replace(".", ",")


def unit_card(u: UnitSkm, k: int) -> str:
    if u.ikm is not None:
        score = (
            f'<p><span class="big">{e(_ikm(u.ikm))}</span> <span class="grade" aria-label="mutu {e(u.mutu)}">'
            f"{e(u.mutu)}</span> {e(u.kinerja)}{en(KINERJA_EN.get(u.kinerja or '', ''))}</p>"
        )
    else:
        score = f"<p>Belum ada hasil yang dapat diterbitkan.{en('No publishable result yet.')}</p>"
    return (
        f'<article class="card"><h3>{e(u.name)}</h3><p class="note">{e(u.opd_name)} · {e(u.period_id)}'
        f"{en(u.period_en)}</p>{score}<p>Responden{en('Respondents')}: {e(u.responses.shown(k))}</p>"
        f"{_sample_html(u)}{_trend_table(u, k)}"
        f'<p><a href="/publik/skm/{e(u.code)}">Publikasi SKM untuk dicetak: {e(u.name)}</a>'
        f"{en('Printable SKM publication')}</p></article>"
    )


def skm_section(fig: PublicFigures) -> str:
    cards = "".join(unit_card(u, fig.k) for u in fig.units) or f"<p>Belum ada unit.{en('No units yet.')}</p>"
    return (
        '<section aria-labelledby="h-skm"><h2 id="h-skm">Survei Kepuasan Masyarakat (SKM)'
        f"{en('Public satisfaction survey')}</h2>"
        '<p class="note">Indeks Kepuasan Masyarakat (IKM, 25–100) periode terakhir yang sudah selesai, '
        "menurut PermenPANRB 14/2017."
        f"{en('Satisfaction index (25-100) of the last completed period, PermenPANRB 14/2017.')}</p>"
        f"{cards}</section>"
    )


def forums_section(fig: PublicFigures) -> str:
    def item(f: Any) -> str:
        where = " · ".join(e(x) for x in (f.place, f.online_url) if x)
        result = f"<p>{e(f.result)}</p>" if f.result else ""
        return (
            f'<article class="card"><h3>{e(f.title)}</h3><p class="note">{e(f.opd_name)} · {e(f.when)}'
            f"{' · ' + where if where else ''}</p><p>{e(f.topic)}</p>{result}</article>"
        )

    upcoming = "".join(item(f) for f in fig.upcoming) or f"<p>Belum ada jadwal.{en('None scheduled.')}</p>"
    results = "".join(item(f) for f in fig.results) or f"<p>Belum ada.{en('None yet.')}</p>"
    return (
        '<section aria-labelledby="h-forum"><h2 id="h-forum">Forum Konsultasi Publik'
        f"{en('Public consultation forums')}</h2><h3>Akan datang{en('Upcoming')}</h3>{upcoming}"
        f"<h3>Berita acara{en('Published minutes')}</h3>{results}</section>"
    )


def public_page(fig: PublicFigures, updated: str) -> str:
    body = (
        f"<header><h1>Transparansi Pelayanan Publik{en('Public service transparency')}</h1>"
        f"<p>{e(fig.region_name)}</p></header><main>"
        + complaints_section(fig)
        + skm_section(fig)
        + forums_section(fig)
        + "</main><footer>"
        f'<p class="note">Angka di bawah {e(fig.k)} tidak ditampilkan (ditulis “&lt;{e(fig.k)}”) agar tidak ada '
        f"warga yang dapat dikenali.{en(f'Numbers below {fig.k} are not shown, so no one can be identified.')}</p>"
        f'<p class="note">Diperbarui {e(updated)}; dihitung ulang paling sering sekali per menit.'
        f"{en('Recomputed at most once a minute.')}</p>"
        '<p>Data terbuka<span class="en" lang="en"> / Open data</span>: <a href="/publik.json">JSON</a> · '
        '<a href="/publik.csv">CSV</a></p></footer>'
    )
    return _page(f"Transparansi Pelayanan Publik · {fig.region_name}", STYLE, body)


def _nrr_table(u: UnitSkm) -> str:
    rows = "".join(
        f'<tr><td>{e(code)}</td><td>{e(element_name(code))}<span class="en" lang="en"> / '
        f'{e(element_name(code, "en"))}</span></td><td class="num">{e(_ikm(u.nrr.get(code)))}</td></tr>'
        for code in ELEMENT_CODES
    )
    return (
        '<table><thead><tr><th scope="col">No</th><th scope="col">Unsur pelayanan'
        f'{en("Service element")}</th><th scope="col">NRR</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def poster_page(fig: PublicFigures, u: UnitSkm) -> str:
    if u.ikm is not None:
        score = (
            f'<div class="score"><div><div>Nilai IKM{en("Index")}</div><div class="ikm">{e(_ikm(u.ikm))}</div>'
            f"<div>{e(u.kinerja)}{en(KINERJA_EN.get(u.kinerja or '', ''))}</div></div>"
            f'<div><div>Mutu pelayanan{en("Grade")}</div><div class="grade">{e(u.mutu)}</div></div></div>'
            + _nrr_table(u)
        )
    else:
        score = f"<p>Belum ada hasil yang dapat diterbitkan.{en('No publishable result yet.')}</p>"
    warn = ""
    if u.adequate is False:
        warn = (
            f'<p class="warn">Sampel belum memadai ({e(u.responses.shown(fig.k))} dari minimal {e(u.required)} '
            f"responden).{en('Sample not yet adequate.')}</p>"
        )
    body = (
        f"<main><h1>{e(fig.region_name)}</h1>"
        f"<p>Hasil Survei Kepuasan Masyarakat{en('Public satisfaction survey results')}</p>"
        f"<h2>{e(u.name)}</h2><p>{e(u.opd_name)} · Periode {e(u.period_id)}{en(u.period_en)}</p>"
        f"{score}<p>Jumlah responden{en('Respondents')}: <strong>{e(u.responses.shown(fig.k))}</strong></p>{warn}"
        f'<p class="small">Dihitung menurut PermenPANRB 14/2017 (IKM 25–100; mutu A 88,31–100, B 76,61–88,30, '
        f"C 65,00–76,60, D 25,00–64,99).{en('Computed per PermenPANRB 14/2017.')}</p>"
        f'<p class="small noprint"><a href="/publik">Kembali ke halaman transparansi</a>{en("Back")}</p></main>'
    )
    return _page(f"SKM {u.name} · {u.period_id}", POSTER_STYLE, body)
