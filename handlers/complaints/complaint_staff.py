"""OPD officers (and coordinators) work on complaints: /antrian (the OPD's queue), /lihat (card,
history, photos), /balas, /selesai, /teruskan and /kembalikan.

/balas, /selesai and /kembalikan need a text; typed without it (or sent by a button) they ask for
it, and the next message completes the command (the prompt flow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum

from bot.domain import complaint_rules as rules
from bot.domain.complaint_rules import ComplaintState, Role
from bot.domain.i18n import N_, day_count
from bot.domain.lapor_wire import public_url
from bot.domain.messages import Attachment, Choice, Kind
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.complaints.complaint_actions import (
    HANDLERS,
    acted_on,
    apply_action,
    find_for_handler,
    first_word,
    not_found,
    refuse_in_state,
)
from handlers.complaints.complaint_buttons import (
    after_action_choices,
    answer_choice,
    cancel_choice,
    command,
    officer_buttons,
    pick_opd_choice,
    rate_choices,
    refer_choice,
    resolve_choice,
    route_choice,
)
from handlers.complaints.complaint_cards import (
    PAGE,
    complaint_card,
    event_line,
    notify_citizen,
    notify_followers,
    notify_handlers,
    page_number,
    route_suggestion,
    send_list,
    short,
    voice_replies,
)
from handlers.complaints.complaint_routing import learn
from handlers.complaints.complaint_templates import SEND as TEMPLATE_SEND
from handlers.complaints.complaint_templates import SEND_WORDS as TEMPLATE_SEND_WORDS
from handlers.complaints.complaint_templates import fill, picked, preview, template_choices, templates_for
from storage.models import Complaint, ComplaintPhoto

router = Router("complaints.staff")

PROMPT_FLOW = "petugas"


class PromptStep(StrEnum):
    TEXT = "text"
    TEMPLATE = "template"  # a reply template chosen: send it as it is, or type an edited version


#: the commands whose text may start from a reply template
TEMPLATED = ("answer", "resolve")


# ---- /antrian ------------------------------------------------------------------------------------
@router.command(
    "antrian",
    "queue",
    description=N_("antrean pengaduan OPD saya"),
    roles=HANDLERS,
    usage=N_("[halaman] [KODE-OPD]"),
)
async def queue(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    words = args.split()
    coordinator = turn.user.role == Role.COORDINATOR
    # a coordinator may name the OPD instead: "/antrian PUPR"
    page = page_number(turn, "antrian", words[0] if words and (words[0].isdecimal() or not coordinator) else None)
    if page is None:
        return
    opd = queue_opd(turn, ctx, words) if coordinator else turn.user.opd_code
    if coordinator and opd is None:
        await ask_queue_opd(turn, ctx, words)
        return
    if opd is None:
        turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
        return
    result = await turn.uow.complaints.queue(opd, limit=PAGE, offset=(page - 1) * PAGE)
    crowd = await turn.uow.followers.counts(c.id for c in result.rows)
    send_list(
        turn,
        ctx,
        result,
        t("Antrean {opd}", opd=ctx.opd_names.get(opd, opd)),
        page,
        lambda p: command("antrian", p, opd) if coordinator else command("antrian", p),
        empty=t("Tidak ada pengaduan terbuka untuk {opd}. 👍", opd=ctx.opd_names.get(opd, opd)),
        followers=crowd,
    )


def queue_opd(turn: Turn, ctx: RegionContext, words: list[str]) -> str | None:
    """The OPD a coordinator named after /antrian; None when none is valid (then they get a button per OPD)."""
    named = [w.upper() for w in words if not w.isdecimal()]
    opd = named[0] if named else None
    return opd if opd in ctx.opd_names else None


async def ask_queue_opd(turn: Turn, ctx: RegionContext, words: list[str]) -> None:
    """A coordinator's /antrian without a (known) OPD: a button per OPD, those with open complaints
    first (most overdue first), each with its number of open complaints and ⚠️ when some are late."""
    t = turn.t
    counts = {opd: (n, late) for opd, n, late in await turn.uow.sla.open_by_opd(turn.now) if opd in ctx.opd_names}
    order = list(counts) + [code for code in ctx.opd_names if code not in counts]
    choices = []
    for code in order:
        n, late = counts.get(code, (0, 0))
        label = code + (f" ({n})" if n else "") + (" ⚠️" if late else "")
        choices.append(Choice(label, command("antrian", code)))
    named = [w for w in words if not w.isdecimal()]
    lines = [t('Kode OPD "{code}" tidak dikenal.', code=short(named[0], 30))] if named else []
    lines.append(t("Antrian OPD mana? Angka = laporan terbuka, ⚠️ = ada yang lewat batas."))
    lines.append(t("Laporan yang belum diarahkan ada di /triase."))
    turn.reply("\n".join(lines), choices)


# ---- /lihat ------------------------------------------------------------------------------------
@router.command(
    "lihat", "view", description=N_("lihat rincian dan riwayat pengaduan"), roles=HANDLERS, usage=N_("<nomor>")
)
async def view(turn: Turn, args: str) -> None:
    t = turn.t
    parsed = rules.split_number(args)
    c = await find_for_handler(turn, parsed.number, lock=False)
    if c is None:
        not_found(turn, first_word(args))
        return
    ctx = await region_context(turn.uow.region)
    repo = turn.uow.complaints
    citizen = await turn.uow.users.get_user(c.citizen_user_id) if c.citizen_user_id else None
    photos = await repo.photos(c.id)
    heading = t("Laporan {number}", number=c.number)
    crowd = (await turn.uow.followers.counts([c.id])).get(c.id, 0)
    lines = [complaint_card(turn, ctx, c, citizen, t, heading=heading, photos=photos, followers=crowd)]
    if tracking := await turn.uow.lapor.tracking_id(c.id):
        lines.append(t("SP4N-LAPOR!: TrackingID {tracking} · {url}", tracking=tracking, url=public_url(tracking)))
    lines += ["", t("Riwayat:")]
    for ev in await repo.events(c.id):
        lines.append(event_line(turn, ctx, t, ev, for_citizen=False))
    suggested = await route_suggestion(turn, ctx, c) if c.state == ComplaintState.TRIASE else None
    turn.reply("\n".join(lines), view_buttons(turn, c, suggested))
    show_photos(turn, c, photos)
    for reply in voice_replies(t, c, await repo.voices(c.id), turn.inbound.channel):
        turn.reply(reply.text, audio=reply.audio)
    turn.audit("complaint_viewed", subject_type="complaint", subject_id=c.number)


def view_buttons(turn: Turn, c: Complaint, suggested: str | None) -> list[Choice]:
    """What the viewer can do next with ``c``: an officer the OPD's actions, a coordinator routing
    (triage) or answering; a closed complaint only the way back."""
    t = turn.t
    if c.state not in rules.OPEN_STATES:
        return after_action_choices(t, turn.user.role)
    if turn.user.role == Role.OFFICER:
        return officer_buttons(t, c.number)
    if c.state == ComplaintState.TRIASE:
        first = [refer_choice(t, c.number, c.suggested_outside)] if c.suggested_outside else []
        first += [route_choice(t, c.number, suggested)] if suggested else []
        return [*first, pick_opd_choice(t, c.number, t("➡️ Pilih OPD") if suggested else None)]
    return [answer_choice(t, c.number), resolve_choice(t, c.number)]


#: channels whose page shows a photo from a link on the bot's own address (``/media/<token>``)
SAME_SITE_CHANNELS = ("web",)


def show_photos(turn: Turn, c: Complaint, photos: Sequence[ComplaintPhoto]) -> None:
    """The complaint's photos as photos, each with what the reporter wrote under it: one sent on
    the viewer's channel by its file reference; one from elsewhere (and every photo, for a web chat
    viewer) through the viewer's signed link (``/media/<token>``), absolute for Telegram and
    WhatsApp, which fetch it themselves. Without a public address for those: one line for all."""
    t = turn.t
    channel = turn.inbound.channel
    waiting = 0
    for p in photos:
        caption = f"\n“{short(p.caption, 200)}”" if p.caption and p.caption.strip() else ""
        if p.channel == channel and channel not in SAME_SITE_CHANNELS:
            ref: str | None = p.file_ref
        else:
            ref = turn.media_link("photo", p.id, absolute=channel not in SAME_SITE_CHANNELS)
        if ref is None:
            waiting += 1
            continue
        turn.reply(
            t("Foto laporan {number}", number=c.number) + caption,
            image=Attachment(filename="foto.jpg", mime_type=p.mime_type or "image/jpeg", file_ref=ref),
        )
    if waiting:
        turn.reply(
            t(
                "📷 {n} foto laporan ini dikirim lewat kanal lain. Foto bisa dilihat di sini setelah "
                "Pemda mengisi alamat publik bot (KANAL_PUBLIC_URL).",
                n=waiting,
            )
        )


async def delivered_line(turn: Turn, c: Complaint, *, final: bool = False) -> str:
    """What the officer is told about the answer's delivery, honestly: a web chat reporter with no
    page open and no notifications sees it only when they open the page again."""
    t = turn.t
    citizen = await turn.uow.users.get_user(c.citizen_user_id) if c.citizen_user_id else None
    if citizen is not None and citizen.erased_at is None and not await turn.reachable(citizen):
        if final:
            return t(
                "Laporan {number} ditandai selesai, menunggu dibuka pelapor (web chat): pelapor melihat "
                "jawaban dan diminta memberi penilaian saat membuka halaman lagi.",
                number=c.number,
            )
        return t(
            "Jawaban tersimpan untuk laporan {number}, menunggu dibuka pelapor (web chat): "
            "pelapor melihatnya saat membuka halaman lagi.",
            number=c.number,
        )
    if final:
        return t("Laporan {number} ditandai selesai; pelapor diminta memberi penilaian.", number=c.number)
    return t("Jawaban terkirim ke pelapor {number}.", number=c.number)


def done(turn: Turn, text: str) -> None:
    """A staff action's confirmation, with the way back to the work list and the menu."""
    turn.reply(text, after_action_choices(turn.t, turn.user.role))


# ---- the text a command asks for -------------------------------------------------------------
async def ask_text(turn: Turn, action: str, c: Complaint, prompt: str) -> None:
    """Ask for the command's text; /balas and /selesai offer the OPD's reply templates too."""
    t = turn.t
    data: dict = {"action": action, "number": c.number}
    offered: list = []
    if action in TEMPLATED:
        ctx = await region_context(turn.uow.region)
        found = await templates_for(turn, ctx, c.opd_code)
        data["templates"] = [[x.name, fill(ctx, x.text, c.number or "", c.opd_code)] for x in found]
        offered = template_choices(t, found)
        if found:
            prompt += "\n" + t("Atau pilih templat (ketik nama atau nomornya), lalu ubah bila perlu.")
    turn.set_state(PROMPT_FLOW, PromptStep.TEXT, data)
    turn.reply(prompt, [*offered, cancel_choice(t)])


@router.flow(PROMPT_FLOW)
async def officer_text(turn: Turn) -> None:
    data = dict(turn.data)
    inbound = turn.inbound
    # a typed text is the answer unless it is just a template's name or number ("survei besok" is
    # an answer, though the typed-answer matcher would take it for the template "survei")
    text = (inbound.text or "").strip() if inbound.kind in (Kind.TEXT, Kind.CHOICE) else ""
    choice = inbound.choice if inbound.kind is Kind.CHOICE and not text else None
    chosen = picked(data.get("templates") or [], choice, text)
    if chosen is not None:  # a template: shown filled in, to send as it is or edit
        data["text"] = chosen[1]
        turn.set_state(PROMPT_FLOW, PromptStep.TEMPLATE, data)
        preview(turn, *chosen)
        return
    if turn.step == PromptStep.TEMPLATE and (choice == TEMPLATE_SEND or text.lower() in TEMPLATE_SEND_WORDS):
        text = data.get("text", "")
    if not text:
        turn.reply(turn.t("Mohon ketik teksnya, atau /batal."))
        return
    turn.clear_state()
    await PROMPTED[data.get("action", "")](turn, f"{data.get('number', '')} {text}")


async def handler_action(
    turn: Turn, args: str, action: str, *, prompt_msgid: str, min_len: int = 3
) -> tuple[Complaint, str] | None:
    """The complaint and text of ``/<action> <nomor> <teks>``; None when it was answered already
    (not found, wrong state, too long, or the text asked for)."""
    t = turn.t
    got = await acted_on(turn, args, action)
    if got is None:
        return None
    c, parsed = got
    if len(parsed.rest) < min_len:
        await ask_text(turn, action, c, t(prompt_msgid, number=c.number))
        return None
    if len(parsed.rest) > rules.MAX_ANSWER:
        turn.reply(
            t("Teks terlalu panjang ({n} huruf, paling banyak {max}).", n=len(parsed.rest), max=rules.MAX_ANSWER)
        )
        return None
    return c, parsed.rest


# ---- /balas, /selesai ----------------------------------------------------------------------
@router.command("balas", "reply", description=N_("jawab pelapor"), roles=HANDLERS, usage=N_("<nomor> <teks>"))
async def answer(turn: Turn, args: str) -> None:
    got = await handler_action(turn, args, "answer", prompt_msgid=N_("Ketik jawaban untuk pelapor {number}:"))
    if got is None:
        return
    c, text = got
    turn.uow.complaints.mark_answered(c, turn.now)
    apply_action(turn, c, "answer", actor_role=turn.user.role, text=text)
    ctx = await region_context(turn.uow.region)
    await notify_citizen(
        turn,
        c,
        N_("💬 Jawaban atas laporan {number} dari {opd}:\n\n{text}\n\nUntuk menjawab, ketik saja balasan Anda."),
        answerable=True,
        opd=ctx.opd_names.get(c.opd_code or "", ""),
        text=text,
    )
    await notify_followers(
        turn, c, N_("{opd} memberi jawaban."), answer=text, opd=ctx.opd_names.get(c.opd_code or "", "")
    )
    done(turn, await delivered_line(turn, c))


@router.command(
    "selesai",
    "resolve",
    description=N_("nyatakan pengaduan selesai dengan jawaban akhir"),
    roles=HANDLERS,
    usage=N_("<nomor> <teks>"),
)
async def resolve(turn: Turn, args: str) -> None:
    got = await handler_action(
        turn, args, "resolve", prompt_msgid=N_("Ketik jawaban akhir (penyelesaian) untuk laporan {number}:")
    )
    if got is None:
        return
    c, text = got
    ctx = await region_context(turn.uow.region)
    turn.uow.complaints.mark_resolved(c, turn.now)
    apply_action(turn, c, "resolve", actor_role=turn.user.role, text=text)
    citizen = await turn.uow.users.get_user(c.citizen_user_id) if c.citizen_user_id else None
    if citizen is not None:
        await notify_citizen(
            turn,
            c,
            N_(
                "✅ Laporan {number} dinyatakan selesai oleh {opd}:\n\n{text}\n\nApakah Anda puas? "
                "Jika tidak ada jawaban dalam {days}, laporan ditutup otomatis."
            ),
            choices=rate_choices(turn.translator_for(citizen), c.number),
            opd=ctx.opd_names.get(c.opd_code or "", ""),
            text=text,
            days=day_count(turn.translator_for(citizen), ctx.sla.confirmation_days, working=ctx.sla.working_days),
        )
    await notify_followers(
        turn, c, N_("dinyatakan selesai oleh {opd}."), answer=text, opd=ctx.opd_names.get(c.opd_code or "", "")
    )
    done(turn, await delivered_line(turn, c, final=True))


# ---- /teruskan, /kembalikan --------------------------------------------------------------------
@router.command(
    "teruskan",
    "forward",
    description=N_("teruskan ke OPD lain"),
    roles=HANDLERS,
    usage=N_("<nomor> <KODE-OPD> [alasan]"),
)
async def forward(turn: Turn, args: str) -> None:
    t = turn.t
    parsed = rules.split_number(args)
    target, _, reason = parsed.rest.partition(" ")
    target = target.upper()
    ctx = await region_context(turn.uow.region)
    c = await find_for_handler(turn, parsed.number)
    if c is None:
        not_found(turn, first_word(args))
        return
    if target not in ctx.opd_names or target == c.opd_code:
        turn.reply(
            t(
                "Sebutkan kode OPD lain yang akan menerima laporan, misalnya: /teruskan {number} DLH alasan. "
                "Kode OPD: {codes}",
                number=c.number,
                codes=", ".join(sorted(ctx.opd_names)),
            )
        )
        return
    if not rules.can("forward", c.state):
        refuse_in_state(turn, c)
        return
    turn.uow.complaints.route_to(c, target, turn.now)
    text = reason.strip()[: rules.MAX_ANSWER] or None
    apply_action(turn, c, "forward", actor_role=turn.user.role, text=text, visible=False)
    await learn(turn, c, target, "teruskan")
    await notify_citizen(
        turn, c, N_("ℹ️ Laporan {number} diteruskan ke {opd} yang berwenang menanganinya."), opd=ctx.opd_names[target]
    )
    await notify_followers(turn, c, N_("diteruskan ke {opd} yang berwenang menanganinya."), opd=ctx.opd_names[target])
    await notify_handlers(turn, ctx, c, N_("📣 Diteruskan ke OPD Anda: {number}. {reason}"), reason=short(reason, 300))
    done(turn, t("Laporan {number} diteruskan ke {opd}.", number=c.number, opd=ctx.opd_names[target]))


@router.command(
    "kembalikan",
    "return",
    description=N_("kembalikan ke koordinator (bukan kewenangan OPD)"),
    roles=(Role.OFFICER,),
    usage=N_("<nomor> <alasan>"),
)
async def give_back(turn: Turn, args: str) -> None:
    got = await handler_action(
        turn, args, "return", prompt_msgid=N_("Ketik alasan mengembalikan laporan {number} ke koordinator:")
    )
    if got is None:
        return
    c, reason = got
    ctx = await region_context(turn.uow.region)
    old = c.opd_code
    turn.uow.complaints.back_to_triage(c, ctx.due(turn.now, ctx.sla.triage_days))
    apply_action(turn, c, "return", actor_role=Role.OFFICER, text=reason, visible=False)
    if old:
        await learn(turn, c, old, "kembalikan")
    await notify_handlers(
        turn, ctx, c, N_("↩️ {number} dikembalikan oleh {opd}: {reason}"), opd=old, reason=short(reason, 300)
    )
    done(turn, turn.t("Laporan {number} dikembalikan ke koordinator.", number=c.number))


#: the commands the prompt flow completes, by the action it was asked for
PROMPTED: dict[str, Callable[[Turn, str], Awaitable[None]]] = {
    "answer": answer,
    "resolve": resolve,
    "return": give_back,
}
