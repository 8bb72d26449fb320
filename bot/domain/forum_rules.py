"""FKP rules (PermenPANRB No. 16/2017): what a forum needs, when a date is acceptable, who may
still register, when a reminder is due, and the agenda proposed from the SKM and complaint data.

Pure: no SQL, no platform types, no clock (``now`` is always passed in). Texts are Indonesian
msgids; a ``t`` (``bot.domain.i18n.Translator``) renders them in the reader's language.

Choices (documented, UNCONFIRMED where the regulation is silent):

* the agenda's data period is the SKM period containing the creation date (the region's
  ``skm.period``: semester by default) when it has SKM answers or complaint topics of the OPD,
  else the period before it (a period that has just begun); the SKM elements and the complaint
  topics come from the same period, so both halves of the agenda speak about the same months.
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

from babel.dates import format_date, format_datetime
from rapidfuzz import fuzz, process, utils

from bot.domain import spoken_when
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
        lang = getattr(t, "lang", "id")
        values = {k: _value(k, v, t, lang) for k, v in self.values.items()}
        return t(self.msgid, **values)


def _value(key: str, value: object, t: Callable[..., str], lang: str) -> object:
    """A placeholder of a :class:`ForumInputError` in the reader's language: msgids translated
    (``what``, ``example``), days written out."""
    if key in ("what", "example") and isinstance(value, str):
        return t(value)
    if isinstance(value, date):
        return fmt_day(value, lang)
    return value


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

#: how a date may be typed (any of the forms :mod:`bot.domain.spoken_when` reads)
DATE_EXAMPLE = N_("Kamis 10 Desember jam 9 pagi, besok jam 13.00, atau 10/12 09:00")
_UNKNOWN = N_("Tanggal dan jam itu tidak dapat saya baca. Tulis misalnya: {example}")
_BAD_TIME = N_("Jam {text} tidak ada. Tulis misalnya 09.00, 14.30, atau jam 3 sore.")
_BAD_DAY = N_("Tanggal {text} tidak ada di kalender.")
_WRONG_WEEKDAY = N_("Hari dan tanggalnya tidak cocok: tanggal itu jatuh pada {day}. Tulis lagi hari dan tanggalnya.")
NO_TIME = N_("Jam berapa forum dimulai? Tulis jamnya, misalnya 09.00, 14.30, atau jam 9 pagi.")


def read_when(text: str, tz: ZoneInfo | str, now: datetime) -> spoken_when.Spoken:
    """What a person typed as a forum's start, in the region's time zone: a moment strictly
    after ``now`` and at most about two years ahead, or a day without a time (``has_time``
    false; today or later) for which the time is still to be asked. Raises
    :class:`ForumInputError` with the reason."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    try:
        said = spoken_when.parse_when(clean(text), now, zone)
    except spoken_when.WhenError as exc:
        raise _when_error(exc) from None
    if said.has_time:
        check_start(said.at.astimezone(UTC), now)
    elif said.day < now.astimezone(zone).date():
        raise ForumInputError(_PAST)
    elif local_midnight(said.day, zone) - now > MAX_AHEAD:
        raise ForumInputError(_TOO_FAR)
    return said


def _when_error(exc: spoken_when.WhenError) -> ForumInputError:
    if exc.reason == spoken_when.BAD_TIME:
        return ForumInputError(_BAD_TIME, text=exc.value)
    if exc.reason == spoken_when.BAD_DAY:
        return ForumInputError(_BAD_DAY, text=exc.value)
    if exc.reason == spoken_when.PAST:
        return ForumInputError(_PAST)
    if exc.reason == spoken_when.TOO_FAR:
        return ForumInputError(_TOO_FAR)
    if exc.reason == spoken_when.WRONG_WEEKDAY:
        return ForumInputError(_WRONG_WEEKDAY, day=date.fromisoformat(exc.value))
    return ForumInputError(_UNKNOWN, example=DATE_EXAMPLE)


def parse_when(text: str, tz: ZoneInfo | str, now: datetime) -> datetime:
    """A forum's start typed with its time ("Kamis 10 Desember jam 9 pagi", "2026-12-05 09:00"),
    read in the region's time zone; an aware UTC datetime strictly after ``now`` and at most
    about two years ahead. A day without a time is refused (:data:`NO_TIME`)."""
    said = read_when(text, tz, now)
    if not said.has_time:
        raise ForumInputError(NO_TIME)
    return said.at.astimezone(UTC)


def at_time_of(day: date, text: str, tz: ZoneInfo | str, now: datetime) -> datetime | None:
    """``day`` at the time ``text`` names when ``text`` is only a time ("jam 9 pagi", "13.00"),
    checked like any start (aware UTC); None when ``text`` is more than a time."""
    try:
        clock = spoken_when.time_only(clean(text))
    except spoken_when.WhenError as exc:
        raise _when_error(exc) from None
    if clock is None:
        return None
    return check_start(spoken_when.at_time(day, clock, tz).astimezone(UTC), now)


def fmt_when_long(at: datetime, tz: ZoneInfo, t: Callable[..., str], lang: str) -> str:
    """ "Kamis, 10 Desember 2026 pukul 09.00 WIB" (the read-back of a typed date), in ``lang``."""
    local = at.astimezone(tz)
    day = format_date(local.date(), "EEEE, d MMMM y", locale=lang)
    clock = local.strftime("%H:%M" if lang == "en" else "%H.%M")
    return t("{day} pukul {time}", day=day, time=clock) + f" {tz_abbrev(tz)}"


def fmt_day(day: date, lang: str) -> str:
    """ "Kamis, 10 Desember 2026" in ``lang``."""
    return format_date(day, "EEEE, d MMMM y", locale=lang)


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
# Typed answers in the creation wizard
# ---------------------------------------------------------------------------------------------

YES_WORDS = frozenset({"ya", "iya", "y", "yes", "ok", "oke", "okay", "betul", "benar", "bener", "setuju", "sip"})
NO_WORDS = frozenset({"tidak", "tdk", "bukan", "salah", "no", "ganti", "nggak", "gak", "enggak"})
DONE_WORDS = YES_WORDS | {"selesai", "sudah", "cukup", "lanjut", "done"}
PUBLISH_WORDS = YES_WORDS | {"terbitkan", "publish", "terbit"}
USE_WORDS = YES_WORDS | {"pakai", "gunakan", "use"}
#: the fields of a draft forum by the words that name them (the summary's edit buttons, typed)
FIELD_WORDS = {
    "opd": "opd",
    "dinas": "opd",
    "judul": "title",
    "title": "title",
    "topik": "topic",
    "topic": "topic",
    "tanggal": "when",
    "jam": "when",
    "waktu": "when",
    "hari": "when",
    "date": "when",
    "time": "when",
    "tempat": "place",
    "lokasi": "place",
    "alamat": "place",
    "place": "place",
    "kuota": "capacity",
    "capacity": "capacity",
    "deskripsi": "description",
    "description": "description",
    "agenda": "agenda",
}


def words_of(text: str | None) -> list[str]:
    """The words of a short answer, lower case, without punctuation or emoji."""
    return re.sub(r"[^\w\s'-]", " ", (text or "").lower()).split()


def said(text: str | None, vocabulary: frozenset[str]) -> bool:
    """``text`` is one of ``vocabulary`` (a word or two: "ya", "ok betul", "sudah selesai")."""
    w = words_of(text)
    return 0 < len(w) <= 3 and all(x in vocabulary for x in w)


def field_named(text: str | None) -> str | None:
    """The draft field a short typed answer names ("ubah tanggal", "ganti judul"), or None."""
    w = words_of(text)
    if not 0 < len(w) <= 4:
        return None
    return next((FIELD_WORDS[x] for x in w if x in FIELD_WORDS), None)


def match_opd(text: str, opd_names: Mapping[str, str]) -> str | None:
    """The OPD a typed answer names: its code ("PDAM"), its place in the list ("2"), or a close
    enough part of its name ("air minum", "dinas pu")."""
    value = clean(text)
    codes = list(opd_names)
    by_code = {c.upper(): c for c in codes}
    if value.upper() in by_code:
        return by_code[value.upper()]
    if value.isdecimal() and 1 <= int(value) <= len(codes):
        return codes[int(value) - 1]
    if len(value) < 3:
        return None
    found = process.extract(
        value, opd_names, scorer=fuzz.partial_ratio, processor=utils.default_process, score_cutoff=85, limit=2
    )
    if not found or (len(found) == 2 and found[0][1] == found[1][1]):
        return None  # nothing close, or two names equally close ("dinas")
    return found[0][2]


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
