"""FKP rules (PermenPANRB No. 16/2017): what a forum needs, when a date is acceptable, who may
still register, when a reminder is due, and the agenda proposed from the SKM and complaint data.

Pure: no SQL, no platform types, no clock (``now`` is always passed in). Texts are Indonesian
msgids; a ``t`` (``bot.domain.i18n.Translator``) renders them in the reader's language.

Choices (documented, UNCONFIRMED where the regulation is silent):

* "last period" for the agenda is the SKM period before the one containing the creation date
  (the region's ``skm.period``: semester by default), for the SKM elements and the complaint
  topics alike, so both halves of the agenda speak about the same months.
* the berita acara goes to every registered participant, and to every citizen who filed a
  complaint or completed a survey on the forum's OPD from the start of that data period up to
  the publication, *and* subscribed to forum news of the region or of that OPD (the
  subscription is the agreement to be contacted). Nobody else.
* the day-before reminder is due from 08:00 local on the day before the forum until it
  starts, for registrations made before the forum's day; it is sent once per person and forum
  (``forum_reminders`` primary key), also when a registration is cancelled and renewed.
* written input is taken until the forum starts; anonymous input is stored with its sender (to
  cap inputs per person and for /hapusdata) but no staff view or export ever shows who sent it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.domain.i18n import N_
from bot.domain.skm import ELEMENT_BY_CODE, compute_ikm, round_half_up

# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------

TITLE = (5, 200)
TOPIC = (3, 200)
PLACE = (3, 500)
URL_MAX = 500
DESCRIPTION = (10, 2000)
AGENDA = (10, 3000)
INPUT = (10, 2000)
RESULT = (20, 3500)
CAPACITY = (1, 10_000)
#: written inputs one person may send to one forum
MAX_INPUTS_PER_PERSON = 5
#: how far ahead a forum may be scheduled
MAX_AHEAD = timedelta(days=2 * 366)
#: subscription scope meaning "every forum of the region" (OPD codes are upper case, never this)
SCOPE_REGION = "region"
STATUSES = ("published", "cancelled")
#: local time from which the day-before reminder goes out
REMINDER_TIME = time(8, 0)
#: how many of the weakest SKM elements and of the top complaint topics the agenda names
AGENDA_ELEMENTS = 3
AGENDA_TOPICS = 3

TZ_ABBREV = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


class ForumInputError(ValueError):
    """A value a person typed that cannot be used: ``msgid`` (Indonesian) and its placeholders."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(msgid.format(**values) if values else msgid)
        self.msgid = msgid
        self.values = values

    def text(self, t: Callable[..., str]) -> str:
        values = {k: (t(v) if k == "what" and isinstance(v, str) else v) for k, v in self.values.items()}
        return t(self.msgid, **values)


def tz_abbrev(tz: ZoneInfo | str) -> str:
    key = tz if isinstance(tz, str) else tz.key
    return TZ_ABBREV.get(key, key)


# ---------------------------------------------------------------------------------------------
# Texts
# ---------------------------------------------------------------------------------------------


def clean(text: str | None) -> str:
    """Trimmed, inner runs of spaces kept as written but control characters removed."""
    text = (text or "").replace("\r\n", "\n")
    return "".join(ch for ch in text if ch == "\n" or ch == "\t" or ord(ch) >= 32).strip()


def check_length(text: str, bounds: tuple[int, int], what: str) -> str:
    """The cleaned text, or :class:`ForumInputError` naming ``what`` (a msgid) and the bounds."""
    value = clean(text)
    lo, hi = bounds
    if len(value) < lo:
        raise ForumInputError(
            N_("{what} terlalu pendek ({n} huruf); paling sedikit {min} huruf."), what=what, n=len(value), min=lo
        )
    if len(value) > hi:
        raise ForumInputError(
            N_("{what} terlalu panjang ({n} huruf); paling banyak {max} huruf."), what=what, n=len(value), max=hi
        )
    return value


_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def is_url(text: str) -> bool:
    return bool(_URL_RE.match(text.strip())) and len(text.strip()) <= URL_MAX


def parse_place(text: str) -> tuple[str | None, str | None]:
    """(place, online link) from what the creator typed: a link is an online forum; an address
    may be followed by a link on its own line or after " | " (a hybrid forum)."""
    value = clean(text)
    if not value:
        raise ForumInputError(N_("Ketik tempat forum (alamat) atau tautan rapat daring yang diawali https://"))
    parts = [p.strip() for p in re.split(r"\n|\s\|\s", value) if p.strip()]
    links = [p for p in parts if is_url(p)]
    others = [p for p in parts if not is_url(p)]
    if any(p.lower().startswith(("http://", "https://", "www.")) for p in others):
        raise ForumInputError(N_("Tautan itu tidak valid. Tulis tautan lengkap tanpa spasi, diawali https://"))
    if len(links) > 1:
        raise ForumInputError(N_("Tulis satu tautan rapat daring saja."))
    place = " ".join(others) or None
    if place is not None:
        place = check_length(place, PLACE, N_("Tempat"))
    return place, (links[0] if links else None)


def parse_capacity(text: str) -> int:
    value = clean(text).replace(".", "").replace(" orang", "").strip()
    if not value.isdecimal():
        raise ForumInputError(N_("Kuota harus berupa angka, misalnya 50."))
    n = int(value)
    if not CAPACITY[0] <= n <= CAPACITY[1]:
        raise ForumInputError(N_("Kuota harus antara {min} dan {max} orang."), min=CAPACITY[0], max=CAPACITY[1])
    return n


def where_text(place: str | None, online_url: str | None, t: Callable[..., str]) -> str:
    parts = [p for p in (place, t("daring: {url}", url=online_url) if online_url else None) if p]
    return " · ".join(parts) or "-"


def fmt_when(at: datetime, tz: ZoneInfo, lang: str) -> str:
    """ "Sen, 30 Nov 2026 09:00 WIB": the forum's start in the region's time, the reader's language."""
    return f"{format_datetime(at.astimezone(tz), 'EEE, d MMM yyyy HH:mm', locale=lang, tzinfo=tz)} {tz_abbrev(tz)}"


def render_card(
    f,
    *,
    opd_name: str,
    tz: ZoneInfo,
    t: Callable[..., str],
    lang: str,
    registered: int | None = None,
    full: bool = True,
) -> str:
    """A forum (anything with the ``storage.models.Forum`` attributes) as the reader sees it."""
    lines = [
        t("🤝 Forum #{id}: {title}", id=f.id, title=f.title),
        t("🏢 {opd}", opd=opd_name),
        t("📌 Topik: {topic}", topic=f.topic),
        t("🗓 {when}", when=fmt_when(f.starts_at, tz, lang)),
        t("📍 {where}", where=where_text(f.place, f.online_url, t)),
    ]
    if registered is not None:
        lines.append(t("👥 Terdaftar {n} dari {capacity} tempat", n=registered, capacity=f.capacity))
    if full:
        lines += ["", f.description, "", t("Agenda:"), f.agenda]
    return "\n".join(lines)


ANNOUNCEMENT = N_("📢 Forum konsultasi publik baru")
REMINDER = N_(
    '⏰ Pengingat: besok Anda terdaftar di forum konsultasi publik #{id} "{title}", {when}, di {where}. '
    "Sampai jumpa! Jika berhalangan, batalkan pendaftaran agar kursinya bisa dipakai warga lain."
)
RESULT_HEADING = N_('📄 Berita acara forum konsultasi publik #{id} "{title}" ({opd}, {when}):')


def announcement_text(f, *, opd_name: str, tz: ZoneInfo, t: Callable[..., str], lang: str) -> str:
    """What a subscriber gets when a forum is published (chat or CLI)."""
    return (
        t(ANNOUNCEMENT)
        + "\n\n"
        + render_card(f, opd_name=opd_name, tz=tz, t=t, lang=lang, full=False)
        + "\n\n"
        + f.description
    )


def reminder_text(f, *, tz: ZoneInfo, t: Callable[..., str], lang: str) -> str:
    return t(
        REMINDER,
        id=f.id,
        title=f.title,
        when=fmt_when(f.starts_at, tz, lang),
        where=where_text(f.place, f.online_url, t),
    )


def result_text(f, *, opd_name: str, tz: ZoneInfo, t: Callable[..., str], lang: str) -> str:
    head = t(RESULT_HEADING, id=f.id, title=f.title, opd=opd_name, when=fmt_when(f.starts_at, tz, lang))
    return head + "\n\n" + (f.result_text or "")


# ---------------------------------------------------------------------------------------------
# Date and time
# ---------------------------------------------------------------------------------------------

_DATE_TIME_RE = re.compile(
    r"^(?:(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})|(?P<d2>\d{1,2})[-/](?P<m2>\d{1,2})[-/](?P<y2>\d{4}))"
    r"(?:[ T]+|\s*,\s*|\s+(?:jam|pukul|pkl\.?)\s+)(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:\s*(?:WIB|WITA|WIT))?$",
    re.IGNORECASE,
)
DATE_EXAMPLE = "2026-12-05 09:00"


def parse_when(text: str, tz: ZoneInfo | str, now: datetime) -> datetime:
    """A forum's start from "2026-12-05 09:00" (also "05-12-2026 09.00", "5/12/2026 jam 9:00"),
    read in the region's time zone; an aware UTC datetime strictly after ``now`` and at most
    about two years ahead."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    m = _DATE_TIME_RE.match(clean(text))
    if not m:
        raise ForumInputError(
            N_("Format tanggal tidak dikenali. Tulis tanggal dan jam seperti ini: {example}"), example=DATE_EXAMPLE
        )
    y, mo, d = (m["y"], m["m"], m["d"]) if m["y"] else (m["y2"], m["m2"], m["d2"])
    try:
        day = date(int(y), int(mo), int(d))
    except ValueError:
        raise ForumInputError(
            N_("Tanggal {text} tidak ada di kalender."), text=f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
        ) from None
    hour, minute = int(m["H"]), int(m["M"])
    if hour > 23 or minute > 59:
        raise ForumInputError(
            N_("Jam {text} tidak valid; pakai format 24 jam, misalnya 09:00 atau 14:30."), text=f"{m['H']}:{m['M']}"
        )
    # a year far away (0001, 9999) is refused before any arithmetic could overflow
    if day.year < now.year - 1:
        raise ForumInputError(_PAST)
    if day.year > now.year + 3:
        raise ForumInputError(_TOO_FAR)
    return check_start(datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC), now)


_PAST = N_("Waktu forum sudah lewat. Pilih tanggal dan jam setelah sekarang.")
_TOO_FAR = N_("Forum hanya bisa dijadwalkan paling lama dua tahun ke depan.")


def check_start(at: datetime, now: datetime) -> datetime:
    """``at`` when a forum may start then (strictly after ``now``, at most about two years ahead);
    raises :class:`ForumInputError` otherwise. Checked when the date is typed and again when the
    forum is published, which may be much later."""
    if at <= now:
        raise ForumInputError(_PAST)
    if at - now > MAX_AHEAD:
        raise ForumInputError(_TOO_FAR)
    return at


# ---------------------------------------------------------------------------------------------
# States of a forum and what may happen in them
# ---------------------------------------------------------------------------------------------


def phase(status: str, starts_at: datetime, now: datetime) -> str:
    """ "cancelled", "upcoming" (before its start) or "past"."""
    if status == "cancelled":
        return "cancelled"
    return "upcoming" if now < starts_at else "past"


def rsvp_problem(
    *, status: str, starts_at: datetime, now: datetime, capacity: int, registered: int, already: bool
) -> str | None:
    """None when the person may register now, else the msgid explaining why not (placeholders
    ``n``/``capacity``)."""
    p = phase(status, starts_at, now)
    if p == "cancelled":
        return N_("Forum ini dibatalkan.")
    if p == "past":
        return N_("Pendaftaran sudah ditutup: forum ini sudah berlangsung.")
    if already:
        return N_("Anda sudah terdaftar di forum ini.")
    if registered >= capacity:
        return N_(
            "Maaf, kuota forum ini sudah penuh ({n} dari {capacity} tempat terisi). Anda tetap bisa mengirim masukan tertulis, atau memilih forum lain."  # noqa: E501 - one msgid
        )
    return None


def seats_left(capacity: int, registered: int) -> int:
    return max(capacity - registered, 0)


def input_problem(*, status: str, starts_at: datetime, now: datetime, sent_by_person: int) -> str | None:
    p = phase(status, starts_at, now)
    if p == "cancelled":
        return N_("Forum ini dibatalkan.")
    if p == "past":
        return N_("Masukan tertulis hanya bisa dikirim sebelum forum dimulai.")
    if sent_by_person >= MAX_INPUTS_PER_PERSON:
        return N_("Anda sudah mengirim {max} masukan untuk forum ini; itu batasnya. Terima kasih!")
    return None


def result_problem(*, status: str, starts_at: datetime, now: datetime, published_at: datetime | None) -> str | None:
    if status == "cancelled":
        return N_("Forum ini dibatalkan.")
    if now < starts_at:
        return N_("Forum ini belum berlangsung; berita acara bisa diterbitkan setelah forum dimulai.")
    if published_at is not None:
        return N_("Berita acara forum ini sudah diterbitkan.")
    return None


# ---------------------------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def reminder_horizon(now: datetime, tz: ZoneInfo) -> datetime:
    """Forums starting before this instant (local midnight two days after today) may be due."""
    today = now.astimezone(tz).date()
    return local_midnight(today + timedelta(days=2), tz)


def reminder_opens(starts_at: datetime, tz: ZoneInfo) -> datetime:
    """REMINDER_TIME (local) on the day before the forum: nobody is woken at midnight."""
    forum_day = starts_at.astimezone(tz).date()
    return datetime.combine(forum_day - timedelta(days=1), REMINDER_TIME, tzinfo=tz).astimezone(UTC)


def reminder_due(*, starts_at: datetime, registered_at: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """Due from REMINDER_TIME (local) on the day before the forum until it starts (a missed
    run catches up), for a registration made before the forum's own day (whoever registers on
    the day needs no reminder)."""
    forum_day = starts_at.astimezone(tz).date()
    return reminder_opens(starts_at, tz) <= now < starts_at and registered_at < local_midnight(forum_day, tz)


# ---------------------------------------------------------------------------------------------
# Agenda proposed from the data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeakElement:
    code: str  # "U3"
    name: str  # msgid of the element's name
    nrr: Decimal  # two decimals, half up


@dataclass(frozen=True)
class AgendaProposal:
    """What the data says about an OPD for one period (``period_key``/``period_label``)."""

    opd_name: str
    period_key: str
    period_label: str
    responses: int = 0  # complete SKM questionnaires
    ikm: Decimal | None = None
    mutu: str | None = None
    weakest: tuple[WeakElement, ...] = ()
    complaints: int = 0  # complaints filed in the period (all topics)
    topics: tuple[tuple[str, int], ...] = ()  # most frequent complaint topics with counts

    @property
    def has_data(self) -> bool:
        return bool(self.weakest or self.topics)


def propose_agenda(
    *,
    opd_name: str,
    period_key: str,
    period_label: str,
    skm_totals: Mapping[str, tuple[int, int]] | None,
    skm_responses: int,
    topic_counts: Iterable[tuple[str | None, int]],
    complaints: int | None = None,
    weight: str = "exact",
    elements: int = AGENDA_ELEMENTS,
    topics: int = AGENDA_TOPICS,
) -> AgendaProposal:
    """The OPD's lowest SKM elements (NRR, two decimals) and most frequent complaint topics.

    ``skm_totals``: per element code ``(sum, count)`` as ``SkmRepo.element_totals`` gives them;
    ``topic_counts``: (topic, complaints) in any order; topics without a name are not named.
    """
    result = compute_ikm(skm_totals or {}, skm_responses, weight=weight) if skm_totals else None
    weak: list[WeakElement] = []
    if result is not None:
        for code, nrr in result.weakest()[:elements]:
            weak.append(WeakElement(code, ELEMENT_BY_CODE[code].name, round_half_up(nrr, 2)))
    counted = [(t.strip(), int(n)) for t, n in topic_counts if t and t.strip() and int(n) > 0]
    merged: dict[str, int] = {}
    for name, n in counted:
        merged[name] = merged.get(name, 0) + n
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:topics]
    total = complaints if complaints is not None else sum(n for _, n in counted)
    return AgendaProposal(
        opd_name=opd_name,
        period_key=period_key,
        period_label=period_label,
        responses=result.responses if result else 0,
        ikm=result.ikm if result else None,
        mutu=result.mutu if result else None,
        weakest=tuple(weak),
        complaints=int(total),
        topics=tuple(ranked),
    )


def fmt_decimal(value: Decimal, lang: str) -> str:
    """Two decimals with the reader's separator (2,50 in Indonesian, 2.50 in English)."""
    text = f"{value:.2f}"
    return text if lang == "en" else text.replace(".", ",")


def render_agenda(p: AgendaProposal, t: Callable[..., str], lang: str) -> str:
    """The proposal as numbered agenda items, in the reader's language."""
    items = [t("Pembukaan; penjelasan standar pelayanan {opd}", opd=p.opd_name)]
    if p.weakest:
        elements = "; ".join(
            t("{code} {name} (NRR {nrr})", code=e.code, name=t(e.name), nrr=fmt_decimal(e.nrr, lang)) for e in p.weakest
        )
        ikm = t(", IKM {ikm} mutu {mutu}", ikm=fmt_decimal(p.ikm, lang), mutu=p.mutu) if p.ikm is not None else ""
        items.append(
            t(
                "Unsur SKM terendah {period} ({n} responden{ikm}): {elements}",
                period=p.period_label,
                n=p.responses,
                ikm=ikm,
                elements=elements,
            )
        )
    else:
        items.append(t("Hasil SKM {period}: belum ada survei selesai", period=p.period_label))
    if p.topics:
        topics = "; ".join(t("{topic} ({n} pengaduan)", topic=name, n=n) for name, n in p.topics)
        items.append(
            t(
                "Pengaduan terbanyak {period} (dari {total} pengaduan): {topics}",
                period=p.period_label,
                total=p.complaints,
                topics=topics,
            )
        )
    else:
        items.append(t("Pengaduan {period}: belum ada pengaduan bertopik", period=p.period_label))
    items.append(t("Masukan tertulis dan tanggapan peserta"))
    items.append(t("Kesepakatan perbaikan, langkah berikutnya, dan penandatanganan berita acara"))
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))


# ---------------------------------------------------------------------------------------------
# Who receives what
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """The people a berita acara goes to (user ids), by why they receive it."""

    participants: frozenset[int] = field(default_factory=frozenset)
    contributors: frozenset[int] = field(default_factory=frozenset)  # subscribed complainants/respondents

    @property
    def all(self) -> frozenset[int]:
        return self.participants | self.contributors

    def without(self, user_id: int | None) -> Audience:
        if user_id is None:
            return self
        return Audience(self.participants - {user_id}, self.contributors - {user_id})


def outcome_window(
    data_from: datetime | None, created_at: datetime, published_at: datetime
) -> tuple[datetime, datetime]:
    """[from, until) in which a complaint or survey on the OPD makes a subscribed citizen a
    recipient of the berita acara: from the start of the agenda's data period (the creation
    time when the forum has none) up to the publication."""
    return (data_from or created_at), published_at
