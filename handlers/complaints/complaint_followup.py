"""Follow-ups both ways, and a complaint from what a citizen sends outside any flow.

- A citizen's free text, photo or location outside a flow, with an open complaint that an officer
  answered (or, for a photo or location, any open complaint): "Tambahkan ke laporan ADU-…?"
  [Ya / Laporan baru / Batal]. On yes it joins the complaint's history as the reporter's follow-up
  and the handling officers are told (through ``reporter_line``: anonymous stays anonymous).
- ``/tambah <nomor> [teks]`` (and the "💬 Tanggapi" button under an officer's answer) does the same
  on purpose.
- Without such a complaint, a text of a complaint's length, a photo or a location is offered as a
  new complaint ("Mau dijadikan pengaduan?"), kept as its description.
- "puas" / "tidak puas" typed while a resolved complaint waits for its rating rate it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from enum import StrEnum

from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import ComplaintState, Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice, Kind, Reply, clock_length
from bot.domain.typed import Means, meanings
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import show_menu
from handlers.complaints.complaint_buttons import cancel_choice, command, officer_buttons, status_choice, view_choice
from handlers.complaints.complaint_cards import current_handlers, reporter_line, short, voice_replies
from handlers.complaints.complaint_filing import begin_with, photo_item, store_photo, store_voice, voice_item
from storage.models import Complaint, ComplaintVoice

router = Router("complaints.followup")

FLOW = "tambah"


class Step(StrEnum):
    ADD = "add"  # "add this to ADU-…?"
    NEW = "new"  # "file this as a complaint?"
    WRITE = "write"  # /tambah without a text: waiting for it


ADD_YES = "tambah:yes"
ADD_AS_NEW = "tambah:new"
NEW_YES = "tawar:yes"
NEW_NO = "tawar:no"
#: a free text is offered as a new complaint from this many words on (and a valid description)
MIN_WORDS = 3


# ---- what was sent ---------------------------------------------------------------------------
def sent_item(turn: Turn) -> dict | None:
    """What the message carries that can join a complaint: ``{"text"}``, ``{"photo"}``, ``{"lat"…}``."""
    inbound = turn.inbound
    if inbound.kind is Kind.TEXT and inbound.text and inbound.text.strip():
        return {"text": inbound.text.strip()[: rules.MAX_TEXT]}
    if inbound.kind is Kind.PHOTO and inbound.photo is not None:
        return {"photo": photo_item(inbound), "text": (inbound.photo.caption or "").strip()}
    if inbound.kind is Kind.VOICE and inbound.voice is not None:
        return {"voice": voice_item(inbound)}
    if inbound.kind is Kind.LOCATION and inbound.location is not None:
        loc = inbound.location
        return {"lat": loc.latitude, "lon": loc.longitude, "address": loc.address}
    return None


def merged(item: dict, more: dict) -> dict:
    """Two messages sent one after the other: texts joined, the newest photo and place kept."""
    text = "\n".join(x for x in (item.get("text"), more.get("text")) if x)
    return {**item, **more, "text": text[: rules.MAX_TEXT]}


def complaint_length(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS and rules.validate_text(text) is None


# ---- the offer (a free-text hook: asked by the fallback) -----------------------------------------
@router.free_text_hook
async def offer(turn: Turn) -> bool:
    if turn.user.role != Role.CITIZEN:
        return False
    item = sent_item(turn)
    if item is None:
        return False
    text = item.get("text", "")
    recent = await turn.uow.complaints.for_citizen(turn.user.id)
    if text and "photo" not in item and await rated_by_words(turn, text, recent):
        return True
    attachment = any(k in item for k in ("photo", "voice", "lat"))
    mine = [c for c in recent if c.state in rules.OPEN_STATES]
    answered = [c for c in mine if c.first_response_at is not None]
    pool = (answered or mine) if attachment else answered  # a text: only where an officer spoke
    if pool and (attachment or len(text.split()) >= 2):
        ask_add(turn, pool[0], item)
        return True
    if attachment or complaint_length(text):
        ask_new(turn, item)
        return True
    return False


async def rated_by_words(turn: Turn, text: str, recent: Sequence[Complaint]) -> bool:
    """ "puas" / "tidak puas" while one of the person's ``recent`` complaints waits for the rating: /nilai."""
    verdict = next((m for m in meanings(text) if m in (Means.GOOD, Means.BAD)), None)
    if verdict is None:
        return False
    waiting = [c for c in recent if c.state == ComplaintState.SELESAI]
    if not waiting:
        return False
    word = "puas" if verdict is Means.GOOD else "tidak"
    turn.inbound = replace(turn.inbound, text=f"/nilai {waiting[0].number} {word}")
    await turn.router.route(turn)
    return True


def quoted(t: Translator, item: dict) -> str:
    parts = [f"\u201c{short(item['text'], 300)}\u201d"] if item.get("text") else []
    if item.get("photo"):
        parts.append(t("📷 1 foto"))
    if item.get("voice"):
        length = clock_length(item["voice"].get("duration"))
        parts.append(t("🎤 pesan suara {length}", length=length) if length else t("🎤 pesan suara"))
    if item.get("lat") is not None:
        parts.append(t("📍 titik lokasi"))
    return "\n".join(parts)


def ask_add(turn: Turn, c: Complaint, item: dict) -> None:
    t = turn.t
    turn.set_state(FLOW, Step.ADD, {"number": c.number, "item": item})
    turn.reply(
        t("Tambahkan pesan ini ke laporan Anda {number}?", number=c.number) + "\n\n" + quoted(t, item),
        [
            Choice(t("✅ Ya, tambahkan"), ADD_YES, Means.YES),
            Choice(t("📝 Jadikan laporan baru"), ADD_AS_NEW),
            cancel_choice(t),
        ],
    )


def ask_new(turn: Turn, item: dict) -> None:
    t = turn.t
    turn.set_state(FLOW, Step.NEW, {"item": item})
    turn.reply(
        t("Mau dijadikan pengaduan?") + "\n\n" + quoted(t, item),
        [Choice(t("✅ Ya, buat pengaduan"), NEW_YES, Means.YES), Choice(t("❌ Tidak"), NEW_NO, Means.NO)],
    )


@router.flow(FLOW)
async def step(turn: Turn) -> None:
    t = turn.t
    data = dict(turn.data)
    item = data.get("item") or {}
    pressed = turn.inbound.choice if turn.inbound.kind is Kind.CHOICE else None
    more = sent_item(turn) if pressed is None else None
    if turn.step == Step.WRITE:
        await write_step(turn, data, more)
    elif pressed == ADD_YES:
        await add_to(turn, data.get("number", ""), item)
    elif pressed in (ADD_AS_NEW, NEW_YES):
        await begin_with(turn, item)
    elif pressed == NEW_NO:
        turn.clear_state()
        show_menu(turn, t("Baik, pesan itu tidak dikirim ke petugas."))
    else:  # kept typing: the new message joins the one on offer; anything else: the offer again
        if more is not None:
            item = merged(item, more)
        else:
            turn.reply(t("Pilih salah satu tombol di bawah, atau ketik batal."))
        c = None
        if turn.step == Step.ADD:
            c = await turn.uow.complaints.get(data.get("number", ""), citizen_user_id=turn.user.id)
        if c is not None:
            ask_add(turn, c, item)
        else:
            ask_new(turn, item)


# ---- /tambah -------------------------------------------------------------------------------------
@router.command(
    "tambah",
    "add",
    description=N_("tambahkan keterangan atau foto ke laporan Anda"),
    roles=(Role.CITIZEN,),
    usage=N_("<nomor> [teks]"),
)
async def add_command(turn: Turn, args: str) -> None:
    t = turn.t
    turn.clear_state()
    parsed = rules.split_number(args)
    c = await turn.uow.complaints.get(parsed.number, citizen_user_id=turn.user.id) if parsed.number else None
    if c is None:
        turn.reply(t("Laporan itu tidak ditemukan di antara laporan Anda. Ketik /status untuk daftar laporan Anda."))
        return
    if c.state not in rules.OPEN_STATES:
        turn.reply(t("Laporan {number} sudah ditutup. Untuk masalah baru, ketik lapor.", number=c.number))
        return
    if parsed.rest.strip():
        await add_to(turn, c.number, {"text": parsed.rest.strip()[: rules.MAX_TEXT]})
        return
    turn.set_state(FLOW, Step.WRITE, {"number": c.number})
    turn.reply(
        t("Tulis tambahan untuk laporan {number}, atau kirim foto atau lokasi:", number=c.number), [cancel_choice(t)]
    )


async def write_step(turn: Turn, data: dict, more: dict | None) -> None:
    if more is None:
        t = turn.t
        turn.reply(t("Kirim teks, foto atau lokasi untuk ditambahkan, atau ketik batal."), [cancel_choice(t)])
        return
    await add_to(turn, data.get("number", ""), more)


# ---- adding --------------------------------------------------------------------------------------
async def add_to(turn: Turn, number: str, item: dict) -> None:
    """The follow-up joins the complaint's history (and its photos); its handlers are told."""
    t = turn.t
    repo = turn.uow.complaints
    c = await repo.get(number, citizen_user_id=turn.user.id, lock=True) if number else None
    turn.clear_state()
    if c is None or c.state not in rules.OPEN_STATES:
        show_menu(turn, t("Laporan itu sudah ditutup. Untuk masalah baru, ketik lapor."))
        return
    text = followup_text(item)
    repo.add_event(
        complaint=c, at=turn.now, actor_user_id=turn.user.id, actor_role=Role.CITIZEN, action="followup", text=text
    )
    photo = item.get("photo")
    if photo:
        store_photo(turn, c, photo)
    voices = [store_voice(turn, c, item["voice"])] if item.get("voice") else []
    c.updated_at = turn.now
    turn.audit("complaint_followup", subject_type="complaint", subject_id=c.number, photo=bool(photo))
    ctx = await region_context(turn.uow.region)
    told = await notify_followup(turn, c, text, voices)
    opd = ctx.opd_names.get(c.opd_code or "", "") if c.opd_code else t("koordinator pengaduan")
    done = t("✅ Sudah ditambahkan ke laporan {number}.", number=c.number)
    if told:
        done += " " + t("{who} sudah diberi tahu.", who=opd)
    turn.reply(done, [status_choice(c.number, t("🔎 Cek Status")), Choice(t("🏠 Menu"), command("menu"))])


def followup_text(item: dict) -> str:
    parts = [item["text"]] if item.get("text") else []
    if item.get("photo"):
        parts.append("📷")
    if item.get("voice"):
        parts.append(rules.voice_description(clock_length(item["voice"].get("duration"))))
    if item.get("lat") is not None:
        parts.append(
            f"📍 {item['lat']:.5f}, {item['lon']:.5f}" + (f" ({item['address']})" if item.get("address") else "")
        )
    return " ".join(parts)[: rules.MAX_TEXT]


async def notify_followup(turn: Turn, c: Complaint, text: str, voices: list[ComplaintVoice]) -> int:
    """Tell the complaint's handlers (its OPD's officers, or the coordinators while it waits to be
    routed) what the reporter added, a voice note as audio; the reporter as ``reporter_line`` shows
    them. How many were told."""
    people = await current_handlers(turn, c)
    citizen = await turn.uow.users.get_user(c.citizen_user_id) if c.citizen_user_id else None
    for person in people:
        t = turn.translator_for(person)
        body = "\n".join(
            [
                t("📝 Tambahan dari pelapor untuk {number}:", number=c.number),
                "",
                short(text, 1500),
                "",
                reporter_line(t, c, citizen),
            ]
        )
        choices = officer_buttons(t, c.number) if person.role == Role.OFFICER else [view_choice(t, c.number)]
        turn.notify(person, Reply(text=body, choices=tuple(choices)))
        for reply in voice_replies(t, c, voices, person.channel):
            turn.notify(person, reply)
    return len(people)
