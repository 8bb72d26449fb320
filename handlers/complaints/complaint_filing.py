"""/lapor: a citizen files a complaint, step by step — text, photos, location, privacy, then a
summary to send or edit. On sending, the region's router (keywords and the region's learned model:
``complaint_routing.decide_route``) proposes the OPD; a confident match is routed at once, anything
else waits for the coordinators' triage. Words that point to a body outside the Pemda (PLN, BPN…)
are said plainly in the summary and the receipt; the coordinator closes it to that body (/luar).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.domain import complaint_pin
from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import ComplaintState, Privacy, Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import SHORT, TEXT_ONLY, Choice, Inbound, Kind, clock_length
from bot.domain.routing import Outside
from bot.domain.routing_decision import Decision
from bot.engine.region_context import RegionContext, fmt_date, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_name import ask_name, asks_name, take_name
from handlers.complaints.complaint_buttons import cancel_choice, menu_choice, status_choice
from handlers.complaints.complaint_cards import notify_handlers, short
from handlers.complaints.complaint_routing import decide_route, outside_body
from handlers.complaints.complaint_similar import answer_offer, offer_similar
from storage.models import Complaint, ComplaintVoice

router = Router("complaints.filing")

FILING_FLOW = "lapor"


class FilingStep(StrEnum):
    TEXT = "text"
    PHOTOS = "photos"
    LOCATION = "location"
    PRIVACY = "privacy"
    NAME = "name"  # the web chat only, after "Biasa": the name staff will see (optional)
    CONFIRM = "confirm"
    SIMILAR = "similar"  # after "Kirim": similar open complaints offered to follow instead


# ---- the flow's buttons: built and read here ---------------------------------------------------
NEXT = "lapor:next"
SKIP = "lapor:skip"
SEND = "lapor:send"
PRIVACY_PREFIX = "lapor:privacy:"
EDIT_PREFIX = "lapor:edit:"
PRIVACY_BY_NUMBER = {"1": Privacy.BIASA, "2": Privacy.RAHASIA, "3": Privacy.ANONIM}
NEXT_WORDS = ("lanjut", "next", "lewati", "skip", "tidak", "tidak ada")
SKIP_WORDS = ("lewati", "skip", "tidak", "tidak ada")
SEND_WORDS = ("kirim", "send", "ya")


def privacy_value(privacy: str) -> str:
    return f"{PRIVACY_PREFIX}{privacy}"


def picked_privacy(choice: str | None, word: str) -> str:
    """The privacy a button or a typed word/number names (not necessarily a valid one)."""
    if choice:
        return choice.removeprefix(PRIVACY_PREFIX)
    return PRIVACY_BY_NUMBER.get(word, word)


def edit_value(step: FilingStep) -> str:
    return f"{EDIT_PREFIX}{step}"


def edited_step(choice: str | None) -> str | None:
    """Which part the summary's "change" button names; None when it is no such button."""
    if choice and choice.startswith(EDIT_PREFIX):
        return choice.removeprefix(EDIT_PREFIX)
    return None


def nav(t: Translator, *extra: Choice) -> list[Choice]:
    return [*extra, cancel_choice(t)]


def next_choice(t: Translator) -> Choice:
    return Choice(t("➡️ Lanjut"), NEXT)


def privacy_choices(t: Translator) -> list[Choice]:
    return nav(t, *(Choice(t(rules.PRIVACY_LABELS[p]), privacy_value(p)) for p in rules.PRIVACY))


@dataclass(frozen=True)
class Answer:
    """What the citizen sent at a step: a button value, or typed text (and its lower case)."""

    choice: str | None
    text: str
    word: str


# ---- starting ----------------------------------------------------------------------------------
@router.command("lapor", "complaint", description=N_("buat pengaduan"))
async def lapor(turn: Turn, args: str) -> None:
    turn.clear_state()  # another flow left half-way restarts cleanly (an SKM questionnaire stays resumable)
    if await daily_limit_reached(turn):
        return
    turn.set_state(FILING_FLOW, FilingStep.TEXT, {"photos": []})
    t = turn.t
    text = args.strip()
    if text:
        await take_text(turn, text)  # "/lapor jalan rusak di ..." works in one go
        return
    turn.reply(
        t(
            "Ceritakan masalah yang ingin Anda laporkan: apa yang terjadi, di mana, dan sejak kapan.\n"
            "Tulis dalam satu pesan, paling sedikit {words} kata. Ketik /batal untuk keluar.",
            words=rules.MIN_WORDS,
        ),
        title=t("Buat pengaduan"),
    )


async def begin_with(turn: Turn, item: dict) -> None:
    """/lapor with what the person already sent outside the flow (``{"text", "photo", "voice",
    "lat", "lon", "address"}``): it is kept, and the flow asks only for what is missing."""
    turn.clear_state()
    if await daily_limit_reached(turn):
        return
    text, voice = item.get("text", ""), item.get("voice")
    data: dict = {"photos": [item["photo"]] if item.get("photo") else [], "voices": [voice] if voice else []}
    if item.get("lat") is not None:
        data.update(lat=item["lat"], lon=item.get("lon"), address=item.get("address"))
    turn.set_state(FILING_FLOW, FilingStep.TEXT, data)
    if voice and not text:  # told by voice: the voice note is the description
        data["text"] = rules.voice_description(clock_length(voice.get("duration")))
        await advance(turn, data, FilingStep.PHOTOS)
        return
    if text and not rules.validate_text(text):
        await take_text(turn, text)
        return
    t = turn.t
    turn.reply(
        t("Ceritakan masalahnya dalam satu pesan: apa yang terjadi, di mana, dan sejak kapan."),
        nav(t),
        title=t("Buat pengaduan"),
    )


async def daily_limit_reached(turn: Turn) -> bool:
    """``KANAL_COMPLAINTS_PER_DAY``, on every channel: True (the person told, the draft dropped)
    when this person filed that many complaints in the last 24 hours."""
    limit = turn.settings.complaints_per_day
    if not limit or await turn.uow.complaints.filed_since(turn.user.id, turn.now - timedelta(days=1)) < limit:
        return False
    t = turn.t
    turn.clear_state()
    turn.reply(
        t(
            "Anda sudah mengirim {limit} laporan dalam 24 jam terakhir. Itu batas harian untuk satu orang. "
            "Kirim laporan baru besok. Laporan yang sudah terkirim tetap diproses; cek dengan /status.",
            limit=limit,
        ),
        [menu_choice(t)],
    )
    return True


def after(data: dict, step: FilingStep) -> FilingStep:
    """The next step; once the summary has been shown, every edit goes back to it."""
    return FilingStep.CONFIRM if data.get("editing") else step


async def take_text(turn: Turn, text: str) -> None:
    t = turn.t
    problem = rules.validate_text(text)
    if problem:
        turn.reply(t(problem, words=rules.MIN_WORDS, max=rules.MAX_TEXT, n=len(text.strip())), nav(t))
        return
    data = {**turn.data, "text": text.strip()}
    await advance(turn, data, after(data, FilingStep.PHOTOS))


async def advance(turn: Turn, data: dict, step: str) -> None:
    """Go to ``step`` and ask its question (a location sent before the flow began is kept)."""
    t = turn.t
    if step == FilingStep.LOCATION and data.get("lat") is not None and not data.get("editing"):
        step = FilingStep.PRIVACY
    text_only = turn.inbound.channel in TEXT_ONLY
    if step == FilingStep.PHOTOS and text_only:  # no photo comes by SMS: the place is next
        step = after(data, FilingStep.LOCATION)
    turn.set_state(FILING_FLOW, step, data)
    if step == FilingStep.PHOTOS:
        turn.reply(
            t(
                "Ada foto pendukung? Kirim hingga {max} foto sekarang (sudah {n}), atau tekan Lanjut.",
                max=rules.MAX_PHOTOS,
                n=len(data.get("photos", [])),
            ),
            nav(t, next_choice(t)),
        )
    elif step == FilingStep.LOCATION:
        if text_only:
            ask = t("Di mana lokasinya? Ketik alamatnya (nama jalan, desa atau patokan), atau LEWATI.")
        elif turn.inbound.channel == "web":
            ask = t("Di mana lokasinya? Tekan 📍 Lokasi di bawah atau ketik alamatnya. Tekan Lewati jika tidak perlu.")
        else:
            ask = t(
                "Di mana lokasinya? Kirim lokasi (📎 → Lokasi) atau ketik alamatnya. Tekan Lewati jika tidak perlu."
            )
        turn.reply(ask, nav(t, Choice(t("⏭ Lewati"), SKIP)))
    elif step == FilingStep.PRIVACY:
        if data.get("voices"):  # a voice is the person's own: Anonim hides the name, not the voice
            turn.reply(t("Petugas akan mendengar pesan suara Anda, juga jika Anda memilih Anonim."))
        turn.reply(
            t(
                "Siapa yang boleh tahu nama Anda?\n"
                "• Biasa — petugas yang menangani melihat nama Anda.\n"
                "• Rahasia — isi laporan hanya dilihat petugas yang menangani dan koordinator.\n"
                "• Anonim — petugas tidak pernah tahu siapa Anda; jawaban tetap sampai ke Anda di sini."
            ),
            privacy_choices(t),
        )
    elif step == FilingStep.CONFIRM:
        await show_summary(turn, data)


async def show_summary(turn: Turn, data: dict) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    decision = await decide_route(turn, ctx, data["text"])
    data = {**data, "editing": True}
    turn.set_state(FILING_FLOW, FilingStep.CONFIRM, data)
    where = data.get("address") or (t("titik lokasi terkirim") if data.get("lat") is not None else t("tidak ada"))
    opd = ctx.opd_names.get(decision.opd_code, "") if decision.opd_code else t("ditentukan oleh koordinator")
    body = outside_body(ctx, decision.outside) if decision.clearly_outside else None
    text_only = turn.inbound.channel in TEXT_ONLY  # no photos by SMS: none to count or change
    privacy = t(rules.PRIVACY_LABELS[data.get("privacy", Privacy.BIASA)])
    text = "\n".join(
        [
            short(data["text"], 700),
            "",
            *([] if text_only else [t("📷 Foto: {n}", n=len(data.get("photos", [])))]),
            *([t("🎤 Pesan suara: {n}", n=len(data["voices"]))] if data.get("voices") else []),
            t("📍 Lokasi: {where}", where=where),
            t("🔒 Siapa yang tahu nama Anda: {p}", p=privacy),
            *named_line(turn, data),
            t("🏢 Akan diteruskan ke: {opd}", opd=opd),
            *([elsewhere_line(t, body)] if body else []),
            "",
            t("Kirim laporan ini?"),
        ]
    )
    turn.reply(
        text,
        [
            Choice(t("✅ Kirim"), SEND),
            Choice(t("✏️ Ubah teks"), edit_value(FilingStep.TEXT)),
            *([] if text_only else [Choice(t("📷 Ubah foto"), edit_value(FilingStep.PHOTOS))]),
            Choice(t("📍 Ubah lokasi"), edit_value(FilingStep.LOCATION)),
            Choice(t("🔒 Ubah siapa yang tahu nama"), edit_value(FilingStep.PRIVACY)),
            cancel_choice(t),
        ],
        title=t("Ringkasan laporan"),
        extra={
            SHORT: "\n".join(
                [
                    short(data["text"], 70),
                    t("Lokasi: {where}", where=short(where, 40)),
                    t("Nama Anda: {p}", p=privacy),
                    t("Ke: {opd}", opd=short(opd, 40)),
                    t("Kirim laporan ini?"),
                ]
            )
        },
    )


def elsewhere_line(t: Translator, body: Outside) -> str:
    """Told before sending: the words point to a body outside the Pemda (honest, not a refusal)."""
    return "\n" + t(
        "ℹ️ Laporan ini tampaknya urusan {body}, bukan Pemda. Lebih cepat bila Anda menghubunginya langsung. "
        "Anda tetap bisa mengirimnya; petugas kami akan memeriksa dan meneruskannya.",
        body=body.name,
    )


def named_line(turn: Turn, data: dict) -> list[str]:
    """On the web chat with "Biasa": the name staff will see (the platforms give theirs)."""
    if data.get("privacy", Privacy.BIASA) != Privacy.BIASA or not asks_name(turn):
        return []
    t = turn.t
    return [t("👤 Nama: {name}", name=turn.user.display_name or t("tanpa nama"))]


# ---- the steps -----------------------------------------------------------------------------------
@router.flow(FILING_FLOW)
async def filing(turn: Turn) -> None:
    inbound = turn.inbound
    step = turn.step
    data = dict(turn.data)
    text = (inbound.text or "").strip() if inbound.kind is Kind.TEXT else ""
    answer = Answer(inbound.choice if inbound.kind is Kind.CHOICE else None, text, text.lower())
    if inbound.kind is Kind.PHOTO and inbound.photo is not None and step in (FilingStep.TEXT, FilingStep.PHOTOS):
        await take_photo(turn, data, step)
        return
    if inbound.kind is Kind.VOICE and inbound.voice is not None and step in (FilingStep.TEXT, FilingStep.PHOTOS):
        await take_voice(turn, data, step)
        return
    handler = STEPS.get(step)
    if handler is not None:
        await handler(turn, data, answer)


def photo_item(inbound: Inbound) -> dict:
    """A photo as a draft keeps it until it joins a complaint (:func:`store_photo`)."""
    p = inbound.photo
    caption = (p.caption or "")[:1000] or None
    return {"ref": p.file_ref, "mime": p.mime_type, "size": p.size, "caption": caption, "channel": inbound.channel}


def voice_item(inbound: Inbound) -> dict:
    """A voice note as a draft keeps it until it joins a complaint (:func:`store_voice`)."""
    v = inbound.voice
    return {"ref": v.file_ref, "mime": v.mime_type, "duration": v.duration, "size": v.size, "channel": inbound.channel}


async def take_photo(turn: Turn, data: dict, step: str) -> None:
    t = turn.t
    inbound = turn.inbound
    photos = list(data.get("photos", []))
    if len(photos) >= rules.MAX_PHOTOS:
        turn.reply(
            t("Sudah {max} foto; foto berikutnya tidak disimpan. Tekan Lanjut.", max=rules.MAX_PHOTOS),
            nav(t, next_choice(t)),
        )
        return
    p = inbound.photo
    photos.append(photo_item(inbound))
    data["photos"] = photos
    if step == FilingStep.TEXT:
        if p.caption and not rules.validate_text(p.caption):
            data["text"] = p.caption.strip()
            await advance(turn, data, after(data, FilingStep.PHOTOS))
            return
        turn.set_state(FILING_FLOW, FilingStep.TEXT, data)
        turn.reply(
            t(
                "Foto diterima. Sekarang ceritakan masalahnya dalam satu pesan, paling sedikit {words} kata.",
                words=rules.MIN_WORDS,
            ),
            nav(t),
        )
        return
    turn.set_state(FILING_FLOW, FilingStep.PHOTOS, data)
    turn.reply(
        t(
            "Foto {n} dari maks. {max} diterima. Kirim foto lain atau tekan Lanjut.",
            n=len(photos),
            max=rules.MAX_PHOTOS,
        ),
        nav(t, next_choice(t)),
    )


async def take_voice(turn: Turn, data: dict, step: str) -> None:
    """A voice note at the description step is the description (the stored text says so, with
    its length); at the photos step it is one more attachment. Kept as the platform's file reference."""
    t = turn.t
    inbound = turn.inbound
    voices = list(data.get("voices", []))
    if len(voices) >= rules.MAX_VOICES:
        turn.reply(
            t("Sudah {max} pesan suara; pesan suara berikutnya tidak disimpan. Tekan Lanjut.", max=rules.MAX_VOICES),
            nav(t, next_choice(t)),
        )
        return
    v = inbound.voice
    voices.append(voice_item(inbound))
    data["voices"] = voices
    length = clock_length(v.duration)
    got = t("Pesan suara {length} diterima.", length=length) if length else t("Pesan suara diterima.")
    if step == FilingStep.TEXT:
        data["text"] = rules.voice_description(length)
        turn.reply(got)
        await advance(turn, data, after(data, FilingStep.PHOTOS))
        return
    turn.set_state(FILING_FLOW, FilingStep.PHOTOS, data)
    turn.reply(got + " " + t("Kirim foto atau pesan suara lain, atau tekan Lanjut."), nav(t, next_choice(t)))


async def text_step(turn: Turn, data: dict, answer: Answer) -> None:
    if turn.inbound.kind is Kind.TEXT and answer.text:
        await take_text(turn, answer.text)
    else:
        t = turn.t
        turn.reply(
            t("Mohon tuliskan laporan Anda sebagai teks, paling sedikit {words} kata.", words=rules.MIN_WORDS), nav(t)
        )


async def photos_step(turn: Turn, data: dict, answer: Answer) -> None:
    t = turn.t
    if answer.choice == NEXT or answer.word in NEXT_WORDS:
        await advance(turn, data, after(data, FilingStep.LOCATION))
    elif turn.inbound.kind is Kind.LOCATION and turn.inbound.location is not None:
        # the place sent early (a web page's 📍, a photo's location): kept, the location step is skipped
        where = turn.inbound.location
        data.update(lat=where.latitude, lon=where.longitude, address=where.address or data.get("address"))
        turn.set_state(FILING_FLOW, FilingStep.PHOTOS, data)
        turn.reply(t("Lokasi diterima. Kirim foto, atau tekan Lanjut."), nav(t, next_choice(t)))
    elif answer.text and len(answer.text.split()) >= 2 and not data.get("editing"):
        # the story told in several messages: the next ones join the description, none is lost
        data["text"] = f"{data.get('text', '')}\n{answer.text}".strip()[: rules.MAX_TEXT]
        turn.set_state(FILING_FLOW, FilingStep.PHOTOS, data)
        turn.reply(
            t("Keterangan itu kami tambahkan ke laporan. Kirim foto, atau tekan Lanjut."), nav(t, next_choice(t))
        )
    else:
        turn.reply(t("Kirim foto, atau tekan Lanjut jika tidak ada foto."), nav(t, next_choice(t)))


async def location_step(turn: Turn, data: dict, answer: Answer) -> None:
    location = turn.inbound.location
    if turn.inbound.kind is Kind.LOCATION and location is not None:
        data.update(lat=location.latitude, lon=location.longitude, address=(location.address or data.get("address")))
    elif answer.choice == SKIP or answer.word in SKIP_WORDS:
        data.update(lat=None, lon=None, address=None)
    elif answer.text and len(answer.text) >= 5:
        data.update(address=answer.text[:500], lat=None, lon=None)
    else:
        t = turn.t
        turn.reply(
            t("Kirim lokasi, ketik alamat (nama jalan, desa atau patokan), atau tekan Lewati."),
            nav(t, Choice(t("⏭ Lewati"), SKIP)),
        )
        return
    await advance(turn, data, after(data, FilingStep.PRIVACY))


async def privacy_step(turn: Turn, data: dict, answer: Answer) -> None:
    picked = picked_privacy(answer.choice, answer.word)
    if picked not in rules.PRIVACY:
        t = turn.t
        turn.reply(t("Mohon pilih Biasa, Rahasia, atau Anonim."), privacy_choices(t))
        return
    data["privacy"] = picked
    if picked == Privacy.BIASA and asks_name(turn):  # the web chat gives no name: ask for one
        turn.set_state(FILING_FLOW, FilingStep.NAME, data)
        ask_name(turn, cancel_choice(turn.t))
        return
    await advance(turn, data, FilingStep.CONFIRM)


async def name_step(turn: Turn, data: dict, answer: Answer) -> None:
    if take_name(turn, cancel_choice(turn.t)):
        await advance(turn, data, FilingStep.CONFIRM)


async def confirm_step(turn: Turn, data: dict, answer: Answer) -> None:
    t = turn.t
    if answer.choice == SEND or answer.word in SEND_WORDS:
        if not await offer_similar(turn, data, FILING_FLOW, FilingStep.SIMILAR):
            await submit(turn, data)
        return
    what = edited_step(answer.choice)
    if what == FilingStep.TEXT:
        turn.set_state(FILING_FLOW, FilingStep.TEXT, data)
        turn.reply(t("Tulis ulang laporan Anda, paling sedikit {words} kata:", words=rules.MIN_WORDS), nav(t))
    elif what == FilingStep.PHOTOS:
        data["photos"] = []
        turn.set_state(FILING_FLOW, FilingStep.PHOTOS, data)
        turn.reply(
            t("Foto lama dihapus. Kirim hingga {max} foto baru, atau tekan Lanjut.", max=rules.MAX_PHOTOS),
            nav(t, next_choice(t)),
        )
    elif what in (FilingStep.LOCATION, FilingStep.PRIVACY):
        await advance(turn, data, what)
    else:
        await show_summary(turn, data)


async def similar_step(turn: Turn, data: dict, answer: Answer) -> None:
    await answer_offer(turn, data, answer.choice, answer.word, submit)


STEPS = {
    FilingStep.TEXT: text_step,
    FilingStep.PHOTOS: photos_step,
    FilingStep.LOCATION: location_step,
    FilingStep.PRIVACY: privacy_step,
    FilingStep.NAME: name_step,
    FilingStep.CONFIRM: confirm_step,
    FilingStep.SIMILAR: similar_step,
}


# ---- sending -------------------------------------------------------------------------------------
async def submit(turn: Turn, data: dict) -> None:
    if await daily_limit_reached(turn):
        return
    ctx = await region_context(turn.uow.region)
    decision = await decide_route(turn, ctx, data["text"])
    routed = decision.opd_code is not None and decision.opd_code in ctx.opd_names
    c = await store_complaint(turn, ctx, data, decision, routed)
    pin = complaint_pin.new_pin()  # told once, in the receipt; only its hash is kept
    # scrypt is slow on purpose (≈ 8 ms of CPU): a thread computes it (hashlib lets go of the GIL)
    # while the group commit runs the next people's turns, and the commit writes it; on the loop
    # it stalled every other turn, the sending and the polling meanwhile
    hashing = asyncio.create_task(asyncio.to_thread(complaint_pin.pin_hash, c.number, pin))
    turn.uow.complaints.set_pin_hash(c, hashing)
    turn.audit(
        "complaint_filed",
        subject_type="complaint",
        subject_id=c.number,
        state=c.state,
        opd=c.opd_code,
        privacy=c.privacy,
    )
    turn.clear_state()
    confirm_filed(turn, ctx, c, routed, pin)
    if await notice_held_back(turn, c):
        return
    await notify_handlers(
        turn,
        ctx,
        c,
        N_("📣 Pengaduan baru {number}") if routed else N_("📥 Pengaduan baru, perlu diarahkan ke OPD: {number}"),
    )


async def notice_held_back(turn: Turn, c: Complaint) -> bool:
    """Many new complaints to one OPD (or to triage) make one summary, not one notice each: the
    first within ``KANAL_COMPLAINT_NOTIFY_WINDOW`` minutes is notified at once, the next ones wait
    for the ``new_complaints`` job (run by the scheduler; without it every notice goes at once)."""
    minutes = turn.settings.complaint_notify_window
    if not minutes or not turn.settings.scheduler_enabled:
        return False
    window = timedelta(minutes=minutes)
    if not await turn.uow.complaints.filed_to_queue_since(c.opd_code, turn.now - window, other_than=c.id):
        return False
    c.notice_due_at = turn.now + window
    return True


async def store_complaint(turn: Turn, ctx: RegionContext, data: dict, route: Decision, routed: bool) -> Complaint:
    """The complaint row, its photos and its first events."""
    repo = turn.uow.complaints
    now = turn.now
    c = await repo.create(
        number_year=now.astimezone(ctx.tz).year,
        citizen_user_id=turn.user.id,
        channel=turn.inbound.channel,
        text=data["text"],
        latitude=data.get("lat"),
        longitude=data.get("lon"),
        address=data.get("address"),
        privacy=data.get("privacy", Privacy.BIASA),
        state=ComplaintState.DISPOSISI if routed else ComplaintState.TRIASE,
        opd_code=route.opd_code if routed else None,
        suggested_opd=route.opd_code or next(iter(route.suggestions), None),
        suggested_outside=route.outside,
        route_reason=None if routed else route.reason,
        route_confidence=route.confidence,
        topic=(route.topic or None) and route.topic[:64],
        klass="keluhan",
        filed_at=now,
        updated_at=now,
        routed_at=now if routed else None,
        triage_due_at=ctx.due(now, ctx.sla.triage_days),
        response_due_at=ctx.due(now, ctx.sla.first_response_days),
        completion_due_at=ctx.due(now, ctx.completion_days("keluhan")),
        reopen_count=0,
    )
    for p in data.get("photos", []):
        store_photo(turn, c, p)
    for v in data.get("voices", []):
        store_voice(turn, c, v)
    repo.add_event(
        complaint=c, at=now, actor_user_id=turn.user.id, actor_role=Role.CITIZEN, action="filed", text=c.text
    )
    if routed:
        repo.add_event(complaint=c, at=now, actor_user_id=None, actor_role="system", action="auto_routed")
    return c


def store_photo(turn: Turn, c: Complaint, p: dict) -> None:
    """A photo kept in a draft (``{"ref", "mime", "size", "caption", "channel"}``) joins ``c``."""
    turn.uow.complaints.add_photo(
        complaint_id=c.id,
        channel=p.get("channel") or turn.inbound.channel,
        file_ref=p["ref"],
        mime_type=p.get("mime"),
        size=p.get("size"),
        caption=p.get("caption"),
        now=turn.now,
    )


def store_voice(turn: Turn, c: Complaint, v: dict) -> ComplaintVoice:
    """A voice note kept in a draft (``{"ref", "mime", "duration", "size", "channel"}``) joins ``c``."""
    return turn.uow.complaints.add_voice(
        complaint_id=c.id,
        channel=v.get("channel") or turn.inbound.channel,
        file_ref=v["ref"],
        mime_type=v.get("mime"),
        duration=v.get("duration"),
        size=v.get("size"),
        now=turn.now,
    )


def confirm_filed(turn: Turn, ctx: RegionContext, c: Complaint, routed: bool, pin: str) -> None:
    """The reporter's receipt: the number with its PIN, who handles it next and by when."""
    t = turn.t
    if routed:
        opd, due = ctx.opd_names[c.opd_code], fmt_date(turn, ctx, c.response_due_at)
        nxt = t(
            "Laporan Anda langsung diteruskan ke {opd}. Tanggapan pertama paling lambat {due}, "
            "penyelesaian paling lambat {done}.",
            opd=opd,
            due=due,
            done=fmt_date(turn, ctx, c.completion_due_at),
        )
        brief = t("Diteruskan ke {opd}; tanggapan paling lambat {due}.", opd=opd, due=due)
    else:
        due = fmt_date(turn, ctx, c.triage_due_at)
        if (body := outside_body(ctx, c.suggested_outside)) is not None:
            nxt = t(
                "Laporan ini tampaknya urusan {body}. Petugas kami akan memeriksanya paling lambat {due}; "
                "bila benar, laporan diteruskan ke sana dan Anda diberi tahu.",
                body=body.name,
                due=due,
            )
        else:
            nxt = t(
                "Petugas kami akan memeriksanya dan meneruskannya ke dinas yang tepat paling lambat {due}.",
                due=due,
            )
        brief = t("Petugas memeriksanya paling lambat {due}.", due=due)
    receipt_short = " ".join(
        [
            t("Laporan terkirim. Nomor: {number}, PIN {pin}.", number=c.number, pin=pin),
            brief,
            t("Cek: ketik STATUS {number}", number=c.number),
        ]
    )
    turn.reply(
        t("✅ Laporan terkirim. Nomor laporan Anda: {number} · PIN {pin}", number=c.number, pin=pin)
        + "\n\n"
        + nxt
        + "\n\n"
        + t("Simpan nomor ini. Cek perkembangannya kapan saja dengan /status {number}.", number=c.number)
        + "\n"
        + t(
            "Simpan juga PIN-nya: dengan nomor dan PIN Anda bisa mengecek laporan ini dari ponsel atau browser "
            "lain (/status {number} {pin}).",
            number=c.number,
            pin=pin,
        ),
        [status_choice(c.number, t("🔎 Cek Status")), menu_choice(t)],
        extra={SHORT: receipt_short},
    )
