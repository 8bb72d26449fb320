"""Texts about complaints shared by the citizen and staff flows: the card, the history line, the
paged list, and the notifications to a complaint's handlers and to its reporter.

Every text an officer or coordinator sees about a reporter is built by :func:`reporter_line`,
which prints nothing identifying for an anonymous complaint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import ComplaintState, Privacy, Role
from bot.domain.i18n import N_, Translator
from bot.domain.lapor_wire import LAPOR_ROLE, LAPOR_STATUS_WORDS
from bot.domain.messages import Attachment, Choice, Reply, clock_length
from bot.domain.person_name import NO_NAME, channel_name
from bot.domain.routing import Outside
from bot.engine.region_context import RegionContext, fmt_date, fmt_datetime
from bot.engine.turn import Turn
from handlers.complaints.complaint_buttons import (
    menu_choice,
    officer_buttons,
    pick_opd_choice,
    refer_choice,
    route_choice,
    view_choice,
)
from storage.complaint_repo import Page
from storage.models import Complaint, ComplaintEvent, ComplaintPhoto, ComplaintVoice, User

PAGE = 8

ACTION_EVENT_LABELS = {
    "filed": N_("Laporan diterima"),
    "routed": N_("Diteruskan koordinator ke {opd}"),
    "auto_routed": N_("Diteruskan otomatis ke {opd}"),
    "to_triage": N_("Menunggu diperiksa koordinator"),
    "answer": N_("Jawaban petugas"),
    "resolve": N_("Dinyatakan selesai"),
    "forward": N_("Diteruskan ke {opd}"),
    "return": N_("Dikembalikan ke koordinator"),
    "rate_good": N_("Pelapor puas; ditutup"),
    "rate_bad": N_("Pelapor tidak puas; dibuka kembali"),
    "autoclose": N_("Ditutup otomatis (pelapor tidak memberi penilaian)"),
    "followup": N_("Tambahan dari pelapor"),
    "reclaimed": N_("Dihubungkan ke akun lain pelapor (dengan PIN)"),
    "refer_out": N_("Bukan urusan Pemda; diteruskan ke instansi yang berwenang"),
    "lapor_status": N_("Status di SP4N-LAPOR!"),
    "fixed_confirmed": N_("Pelapor: masalahnya sudah beres"),
    "reopen_not_fixed": N_("Pelapor: masalahnya belum beres; dibuka kembali"),
}


#: why a complaint waits in triage, as staff read it (``complaints.route_reason``)
REASON_LABELS = {
    "outside": N_("tampaknya urusan instansi di luar Pemda"),
    "weak": N_("kata kuncinya kurang jelas"),
    "disagree": N_("kata kunci dan riwayat pengarahan menunjuk OPD yang berbeda"),
    "none": N_("tidak ada kata kunci OPD yang cocok"),
    "lapor": N_("masuk dari SP4N-LAPOR!; instansi atau topiknya belum dipetakan ke OPD"),
}


def outside_body(ctx: RegionContext, code: str | None) -> Outside | None:
    """The region file's outside body (``[[outside]]``) with ``code``."""
    return next((o for o in ctx.outside if o.code == code), None) if code else None


def reason_line(t: Translator, ctx: RegionContext, c: Complaint) -> str | None:
    """Staff's line on a complaint in triage: why the router left it there, and the outside body
    its words point to."""
    if c.state != ComplaintState.TRIASE:
        return None
    body = outside_body(ctx, c.suggested_outside)
    if body is not None:
        return t("🏛️ Tampaknya urusan {body}, bukan Pemda.", body=body.name)
    label = REASON_LABELS.get(c.route_reason or "")
    return t("🤖 Belum diarahkan otomatis: {reason}.", reason=t(label)) if label else None


def reporter_line(t: Translator, c: Complaint, citizen: User | None) -> str:
    """Who filed it, as an officer/coordinator may see it. Anonim: nothing identifying, ever.
    "(data pribadi telah dihapus)" only after a real erasure (or retention: the link is gone); a
    person who gave no name is "tanpa nama (web chat)"."""
    if c.privacy == Privacy.ANONIM:
        return t("Pelapor: Anonim")
    if c.channel == LAPOR_ROLE and citizen is None:  # disposed from SP4N-LAPOR!: the reporter is theirs
        return t("Pelapor: warga lewat SP4N-LAPOR! (identitasnya tercatat di LAPOR!)")
    if citizen is None or citizen.erased_at is not None:
        return t("Pelapor: (data pribadi telah dihapus)")
    name = citizen.display_name or t(NO_NAME, channel=channel_name(citizen.channel))
    extra = t(" · 🔒 Rahasia") if c.privacy == Privacy.RAHASIA else ""
    return t("Pelapor: {name}", name=name) + extra


def short(text: str, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def page_number(turn: Turn, command: str, word: str | None) -> int | None:
    """The page typed after a list command (1 when none); None, with the command's usage told,
    when ``word`` is not one ("/antrian abc", "/triase 0": silently showing page 1 misleads)."""
    if word is None:
        return 1
    if word.isdecimal() and 0 < int(word) < 100000:  # isdecimal, not isdigit: "²" is no int()
        return int(word)
    turn.reply(
        turn.t(
            '"{word}" bukan nomor halaman. Cara pakai: /{command} {usage}',
            word=short(word, 30),
            command=command,
            usage=turn.t("[halaman]"),
        )
    )
    return None


def state_label(t: Translator, state: str, opd: str = "") -> str:
    """The citizen's words for ``state``; ``opd`` is the name of the OPD that has the complaint."""
    return t(rules.STATE_LABELS.get(state, state), opd=opd or t("instansi yang berwenang"))


def staff_state_label(t: Translator, state: str) -> str:
    """The state as officers and coordinators read it ("menunggu penilaian pelapor")."""
    return t(rules.STAFF_STATE_LABELS.get(state, state))


def map_link(lat: float, lon: float) -> str:
    """The place on OpenStreetMap, opened at street level."""
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=18/{lat:.5f}/{lon:.5f}"


def photos_line(t: Translator, photos: Sequence[ComplaintPhoto], text: str = "") -> str | None:
    """How many photos, with what the reporter wrote under them ("📷 2 foto: “lubang jalan”"); a
    caption that became the complaint's text (``text``) is not repeated."""
    if not photos:
        return None
    said = " ".join(text.split())
    written = [" ".join(p.caption.split()) for p in photos if p.caption and p.caption.strip()]
    captions = [f"“{short(caption, 80)}”" for caption in written if caption != said]
    line = t("📷 {n} foto", n=len(photos))
    return line + (": " + "; ".join(captions) if captions else "")


def overdue_mark(turn: Turn, ctx: RegionContext, c: Complaint, t: Translator | None = None) -> str:
    """ " ⚠️ lewat 2 hari kerja" when the completion deadline has passed, in ``t``'s language (the
    reader's; the sender's by default)."""
    t = t or turn.t
    if c.completion_due_at is None or c.state not in rules.OPEN_STATES:
        return ""
    if turn.now > c.completion_due_at:
        days = ctx.calendar.working_days_between(c.completion_due_at, turn.now)
        return " ⚠️ " + t("lewat {n} hari kerja", n=max(days, 1)) if days else " ⚠️ " + t("lewat batas")
    return ""


def complaint_card(
    turn: Turn,
    ctx: RegionContext,
    c: Complaint,
    citizen: User | None,
    t: Translator,
    *,
    heading: str,
    photos: Sequence[ComplaintPhoto] = (),
    followers: int = 0,
) -> str:
    """A complaint as staff see it: text, place (with a map link), photos, reporter, state, deadlines,
    and how many other citizens follow it (they reported the same problem)."""
    lines = [heading, "", short(c.text, 600), ""]
    if c.address:
        lines.append(t("📍 {address}", address=c.address))
    if c.latitude is not None and c.longitude is not None:
        lines.append(t("📍 Lokasi: {lat:.5f}, {lon:.5f}", lat=c.latitude, lon=c.longitude))
        lines.append(t("🗺 Peta: {url}", url=map_link(c.latitude, c.longitude)))
    if line := photos_line(t, photos, c.text):
        lines.append(line)
    lines.append(reporter_line(t, c, citizen))
    if followers:
        lines.append(t("👥 Diikuti {n} warga lain (melaporkan hal yang sama)", n=followers))
    opd = ctx.opd_names.get(c.opd_code, c.opd_code) if c.opd_code else ""
    lines.append(t("Status: {state}", state=staff_state_label(t, c.state)))
    if c.opd_code:
        lines.append(t("OPD: {opd}", opd=opd))
    if line := reason_line(t, ctx, c):
        lines.append(line)
    # dates in the reader's language (t), not the sender's: the reader may speak another one
    lines.append(t("Batas tanggapan pertama: {date}", date=fmt_date(t, ctx, c.response_due_at)))
    lines.append(
        t("Batas penyelesaian: {date}", date=fmt_date(t, ctx, c.completion_due_at)) + overdue_mark(turn, ctx, c, t)
    )
    return "\n".join(lines)


def event_line(turn: Turn, ctx: RegionContext, t: Translator, ev: ComplaintEvent, *, for_citizen: bool) -> str:
    """One line of a complaint's history, for its reporter or for staff."""
    label = t(
        ACTION_EVENT_LABELS.get(ev.action, ev.action), opd=ctx.opd_names.get(ev.opd_code or "", ev.opd_code or "-")
    )
    if ev.actor_role == Role.CITIZEN:
        who = t("Anda") if for_citizen else t("Pelapor")
    elif ev.actor_role == Role.OFFICER:
        who = t("Petugas {opd}", opd=ev.opd_code or "")
    elif ev.actor_role == Role.COORDINATOR:
        who = t("Koordinator")
    elif ev.actor_role == LAPOR_ROLE:
        who = "SP4N-LAPOR!"
    else:
        who = t("Sistem")
    text = t(LAPOR_STATUS_WORDS.get(ev.text, ev.text)) if ev.action == "lapor_status" and ev.text else ev.text
    body = f"\n  “{short(text, 500)}”" if text and ev.action != "filed" else ""
    return f"• {fmt_datetime(t, ctx, ev.at)} · {who}: {label}{body}"


def list_line(turn: Turn, ctx: RegionContext, t: Translator, i: int, c: Complaint, followers: int = 0) -> str:
    """One complaint of a paged staff list (/antrian, /triase), with its followers (👥 2)."""
    due = c.triage_due_at if c.state == ComplaintState.TRIASE else c.completion_due_at
    triage = c.state == ComplaintState.TRIASE
    if triage and c.suggested_outside:
        suggestion = t(" · 🏛️ bukan urusan Pemda? {body}", body=c.suggested_outside)
    elif triage and c.suggested_opd:
        suggestion = t(" · saran: {opd}", opd=c.suggested_opd)
    else:
        suggestion = ""
    deadline = t("batas {date}", date=fmt_date(t, ctx, due))
    label = staff_state_label(t, c.state)
    crowd = f" · 👥 {followers}" if followers else ""
    head = f"{i}. {c.number} · {label} · {deadline}{overdue_mark(turn, ctx, c, t)}{suggestion}{crowd}"
    return f"{head}\n   {short(c.text, 80)}"


def send_list(
    turn: Turn,
    ctx: RegionContext,
    result: Page,
    title: str,
    page: int,
    page_value: Callable[[int], str],
    *,
    empty: str,
    item_choice: Callable[[Complaint], Choice] | None = None,
    followers: dict[int, int] | None = None,
) -> None:
    """A page of complaints with a button per complaint (``item_choice``; by default it opens the
    complaint) and ◀️ ▶️ to the neighbouring pages."""
    t = turn.t
    if not result.rows:
        turn.reply(empty if page == 1 else t("Halaman {page} kosong.", page=page), [menu_choice(t)])
        return
    pages = (result.total + PAGE - 1) // PAGE
    lines = [
        t(
            "{title} — {total} laporan, halaman {page}/{pages}:",
            title=title,
            total=result.total,
            page=page,
            pages=pages,
        ),
        "",
    ]
    for i, c in enumerate(result.rows, start=result.offset + 1):
        lines.append(list_line(turn, ctx, t, i, c, (followers or {}).get(c.id, 0)))
    choices = [item_choice(c) if item_choice else view_choice(t, c.number, c.number) for c in result.rows]
    if page > 1:
        choices.append(Choice(t("◀️ Sebelumnya"), page_value(page - 1)))
    if page < pages:
        choices.append(Choice(t("Berikutnya ▶️"), page_value(page + 1)))
    turn.reply("\n".join(lines), choices)


async def route_suggestion(turn: Turn, ctx: RegionContext, c: Complaint) -> str | None:
    """The OPD to offer first: the router's pick when it made one, else its best-scoring OPD for
    the text (it was not sure enough to route by itself) — never the OPD that gave it back."""
    returned, holder = set(), None
    for ev in await turn.uow.complaints.events(c.id):
        if ev.action == "return" and holder:
            returned.add(holder)
        holder = ev.opd_code or holder
    ranked = [code for code, _ in sorted(ctx.router.route(c.text).scores.items(), key=lambda kv: (-kv[1], kv[0]))]
    candidates = [c.suggested_opd, *ranked] if c.suggested_opd else ranked
    return next((code for code in candidates if code in ctx.opd_names and code not in returned), None)


def handler_choices(t: Translator, person: User, c: Complaint, suggested: str | None = None) -> list[Choice]:
    """The buttons under a notification to one of the complaint's handlers; for a coordinator and
    a complaint waiting in triage, routing to ``suggested`` in one tap, or choosing the OPD."""
    if person.role == Role.OFFICER:
        return officer_buttons(t, c.number)
    choices = [view_choice(t, c.number)]
    if c.state == ComplaintState.TRIASE:
        if c.suggested_outside:
            choices.append(refer_choice(t, c.number, c.suggested_outside))
        if suggested:
            choices.append(route_choice(t, c.number, suggested))
        choices.append(pick_opd_choice(t, c.number, t("➡️ Pilih OPD") if suggested else None))
    return choices


def voice_replies(t: Translator, c: Complaint, voices: Sequence[ComplaintVoice], channel: str) -> list[Reply]:
    """The complaint's voice notes for a reader on ``channel``: each as audio (by its platform
    file reference, on the channel it came from), else a line saying where to listen to it."""
    out: list[Reply] = []
    for v in voices:
        if v.channel != channel:
            out.append(
                Reply(
                    text=t(
                        "🎤 Laporan {number} punya pesan suara dari {channel}; dengarkan lewat kanal itu.",
                        number=c.number,
                        channel=v.channel,
                    )
                )
            )
            continue
        length = clock_length(v.duration)
        text = (
            t("🎤 Pesan suara laporan {number} ({length})", number=c.number, length=length)
            if length
            else t("🎤 Pesan suara laporan {number}", number=c.number)
        )
        mime = v.mime_type or "audio/ogg"
        audio = Attachment(
            filename="pesan-suara.ogg" if "ogg" in mime else "audio", mime_type=mime, file_ref=v.file_ref
        )
        out.append(Reply(text=text, audio=audio))
    return out


async def current_handlers(turn: Turn, c: Complaint) -> Sequence[User]:
    """Who handles ``c`` now: its OPD's officers, or the coordinators while it waits to be routed."""
    if c.state == ComplaintState.TRIASE or c.opd_code is None:
        return await turn.uow.users.users_with_role(Role.COORDINATOR)
    return await turn.uow.users.users_with_role(Role.OFFICER, c.opd_code)


async def notify_handlers(turn: Turn, ctx: RegionContext, c: Complaint, heading_msgid: str, **kw) -> None:
    """Tell the complaint's current handlers: the OPD's officers, or the coordinators for triage;
    the citizen's voice notes follow the card as audio."""
    people = await current_handlers(turn, c)
    citizen = await turn.uow.users.get_user(c.citizen_user_id) if c.citizen_user_id else None
    voices = await turn.uow.complaints.voices(c.id)
    photos = await turn.uow.complaints.photos(c.id) if people else ()
    crowd = (await turn.uow.followers.counts([c.id])).get(c.id, 0) if people else 0
    triage = c.state == ComplaintState.TRIASE and bool(people)
    suggested = await route_suggestion(turn, ctx, c) if triage else None
    for person in people:
        if person.id == turn.user.id:
            continue
        t = turn.translator_for(person)
        heading = t(heading_msgid, number=c.number, **kw)
        text = complaint_card(turn, ctx, c, citizen, t, heading=heading, photos=photos, followers=crowd)
        turn.notify(person, Reply(text=text, choices=tuple(handler_choices(t, person, c, suggested))))
        for reply in voice_replies(t, c, voices, person.channel):
            turn.notify(person, reply)


async def notify_citizen(
    turn: Turn, c: Complaint, msgid: str, choices: tuple[Choice, ...] = (), *, answerable: bool = False, **kw
) -> None:
    """Tell the reporter (unless it is them acting, or they erased their data); ``answerable``: with
    a "💬 Tanggapi" button (``/tambah``; a plain typed answer is offered the same way)."""
    if c.citizen_user_id is None or c.citizen_user_id == turn.user.id:
        return
    citizen = await turn.uow.users.get_user(c.citizen_user_id)
    if citizen is None or citizen.erased_at is not None:
        return
    t = turn.translator_for(citizen)
    # a staff member's answer that cannot be delivered is reported back to them (Notifier.delivery_failed)
    report = (
        {"user_id": turn.user.id, "about": c.number} if turn.user.role in (Role.OFFICER, Role.COORDINATOR) else None
    )
    if answerable:
        choices = (*choices, Choice(t("💬 Tanggapi"), f"/tambah {c.number}"))
    turn.notify(citizen, Reply(text=t(msgid, number=c.number, **kw), choices=choices, on_failure=report))


async def notify_followers(turn: Turn, c: Complaint, what_msgid: str, *, answer: str | None = None, **kw) -> None:
    """Tell the citizens who follow ``c`` (they reported the same problem) what happened, in one
    line ``what_msgid``; never who reported it. The officer's ``answer`` text only for a "biasa"
    complaint. Each update has a button to stop following."""
    for person in await turn.uow.followers.followers(c.id):
        if person.id == turn.user.id:
            continue
        t = turn.translator_for(person)
        text = t("👥 Laporan {number} yang Anda ikuti: {what}", number=c.number, what=t(what_msgid, **kw))
        if answer and c.privacy == Privacy.BIASA:
            text += f"\n\n“{short(answer, 700)}”"
        stop = Choice(t("🚫 Berhenti mengikuti"), f"/berhenti_ikuti {c.number}")
        turn.notify(person, Reply(text=text, choices=(stop,)))
