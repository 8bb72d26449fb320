"""/datasaya: what is stored about me (UU PDP No. 27/2022, the right of access).

Everything is read through the turn's repositories and only for the person asking: their user
row, their SKM respondent profile and questionnaires, their complaints, their forum registrations
and subscriptions. A short answer is one message; a long one is a summary plus the whole list as a
CSV document (every cell through ``bot/domain/export_safety``), never kept after delivery.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from bot.domain import complaint_rules as rules
from bot.domain.export_safety import safe_row
from bot.domain.i18n import LANGUAGE_NAMES, N_, Translator
from bot.domain.messages import Attachment, Forget
from bot.engine.region_context import RegionContext, fmt_date, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import ROLE_NAMES

router = Router("account.mydata")

#: a message longer than this becomes a summary plus a CSV document (Telegram allows 4,096)
MAX_MESSAGE = 3000
CSV_MIME = "text/csv"
PROFILE_FIELDS = (
    ("umur", N_("Umur")),
    ("jenis_kelamin", N_("Jenis kelamin")),
    ("pendidikan", N_("Pendidikan")),
    ("pekerjaan", N_("Pekerjaan")),
)


@dataclass
class Section:
    """One part of the answer: a heading and (label, value) facts."""

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)


async def profile_section(turn: Turn, ctx: RegionContext) -> Section:
    t, u = turn.t, turn.user
    dash = "-"
    role = t(ROLE_NAMES.get(u.role, u.role))
    if u.opd_code:
        role += f" ({ctx.opd_names.get(u.opd_code, u.opd_code)})"
    facts = [
        (t("Nama"), u.display_name or dash),
        (t("Nama pengguna"), f"@{u.username}" if u.username else dash),
        (t("Nomor telepon"), u.phone or dash),
        (t("Kanal"), u.channel),
        (t("Bahasa"), LANGUAGE_NAMES.get(u.language or "", u.language or dash)),
        (t("Peran"), role),
        (t("Setuju sejak"), fmt_date(turn, ctx, u.consent_at)),
    ]
    profile = await turn.uow.skm.profile(u.id)
    if profile is not None:
        facts += [(t(label), getattr(profile, key) or dash) for key, label in PROFILE_FIELDS]
    return Section(t("Profil"), facts)


async def complaint_section(turn: Turn, ctx: RegionContext) -> Section:
    t = turn.t
    mine = await turn.uow.complaints.all_for_citizen(turn.user.id)
    photos = await turn.uow.complaints.photo_counts([c.id for c in mine])
    section = Section(t("Pengaduan ({n})", n=len(mine)))
    for c in mine:
        opd = ctx.opd_names.get(c.opd_code or "", "")
        state = t(rules.STATE_LABELS.get(c.state, c.state), opd=opd or t("instansi yang berwenang"))
        dates = t(
            "dikirim {filed}, diperbarui {updated}",
            filed=fmt_date(turn, ctx, c.filed_at),
            updated=fmt_date(turn, ctx, c.updated_at),
        )
        where = c.address or (t("titik lokasi") if c.latitude is not None else "")
        extra = [t(rules.PRIVACY_LABELS.get(c.privacy, c.privacy))]
        if where:
            extra.append(where)
        if photos.get(c.id):
            extra.append(t("{n} foto", n=photos[c.id]))
        section.facts.append((c.number or "-", f"{state} · {dates} · {' · '.join(extra)}\n“{c.text}”"))
    return section


async def survey_section(turn: Turn) -> Section:
    t = turn.t
    rows = await turn.uow.skm.answered_by(turn.user.id)
    complete = sum(n for _, _, status, n in rows if status == "complete")
    section = Section(t("Survei kepuasan: {n} kuesioner lengkap", n=complete))
    status_names = {"complete": t("lengkap"), "in_progress": t("belum selesai"), "abandoned": t("tidak diselesaikan")}
    for period, unit, status, n in rows:
        section.facts.append(
            (period, t("{unit}: {n} kuesioner {status}", unit=unit, n=n, status=status_names.get(status, status)))
        )
    return section


async def forum_section(turn: Turn, ctx: RegionContext) -> Section:
    t = turn.t
    rsvps = await turn.uow.forum.rsvps_of(turn.user.id)
    subscriptions = await turn.uow.forum.subscriptions(turn.user.id)
    section = Section(t("Forum warga: {n} pendaftaran", n=len(rsvps)))
    for forum, rsvp in rsvps:
        status = t("terdaftar") if rsvp.status == "registered" else t("dibatalkan")
        section.facts.append((f"#{forum.id}", f"{forum.title} · {fmt_date(turn, ctx, forum.starts_at)} · {status}"))
    for scope in subscriptions:
        name = ctx.opd_names.get(scope, t("seluruh daerah"))
        section.facts.append((t("Langganan kabar forum"), name))
    return section


def as_text(t: Translator, sections: list[Section]) -> str:
    lines = [t("Ini semua data tentang Anda yang kami simpan:")]
    for s in sections:
        lines += ["", s.title]
        lines += [f"• {label}: {value}" for label, value in s.facts]
    lines += ["", t("Ingin menghapusnya? Ketik /hapusdata.")]
    return "\n".join(lines)


def as_csv(t: Translator, sections: list[Section]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t("Bagian"), t("Butir"), t("Isi")])
    for s in sections:
        for label, value in s.facts:
            writer.writerow(safe_row([s.title, label, value]))
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheets read the accents right


@router.command("datasaya", "mydata", description=N_("lihat data saya yang tersimpan"))
async def my_data(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    sections = [
        await profile_section(turn, ctx),
        await complaint_section(turn, ctx),
        await survey_section(turn),
        await forum_section(turn, ctx),
    ]
    turn.audit("data_access", subject_type="user", subject_id=str(turn.user.id))
    text = as_text(t, sections)
    if len(text) <= MAX_MESSAGE:
        turn.reply(text, title=t("Data Anda"))
        return
    summary = [t("Data Anda terlalu panjang untuk satu pesan; semuanya ada di berkas terlampir.")]
    summary += [s.title for s in sections]
    summary += ["", t("Ingin menghapusnya? Ketik /hapusdata.")]
    turn.reply(
        "\n".join(summary),
        title=t("Data Anda"),
        document=Attachment(filename="data_saya.csv", mime_type=CSV_MIME, data=as_csv(t, sections)),
        forget=Forget.PAYLOAD,
    )
