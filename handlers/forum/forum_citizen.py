"""``/forum`` for everyone: upcoming forums (paged) with details, **Daftar** (RSVP, cancellable),
past forums with their berita acara, and opt-in announcements for the whole region or one OPD (the
subscription is also the citizen's agreement to receive the berita acara of forums on an OPD they
complained about or surveyed). Staff get their registrations-and-input view of ``/forum <id>``.
(/hapusdata erases forum data through storage.erasure.)
"""

from __future__ import annotations

from bot.domain import forum_rules as rules
from bot.domain.i18n import N_
from bot.domain.messages import SHORT, Attachment, Choice
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_name import ask_name, asks_name, take_name
from handlers.forum.forum_buttons import (
    NEW_FORUM_LINK,
    SUBSCRIPTIONS_LINK,
    ForumAction,
    ForumFlow,
    View,
    forum_link,
    parse_forum_args,
    past_link,
    subscribe_link,
    upcoming_link,
)
from handlers.forum.forum_input import start_input
from handlers.forum.forum_shared import (
    PAGE,
    cancel_choice,
    forum_card,
    is_staff,
    not_found,
    officer_scope,
    page_choices,
    when_text,
)
from handlers.forum.forum_staff_view import staff_view

router = Router("forum_citizen")


@router.command(
    "forum",
    description=N_("forum konsultasi publik"),
    usage=N_("[nomor [daftar|batal|masukan]] | lalu | langganan [KODE-OPD]"),
)
async def forum(turn: Turn, args: str) -> None:
    """``/forum`` lists; ``/forum 3`` details (staff: registrations and input); ``/forum 3
    daftar|batal|masukan``; ``/forum halaman 2``; ``/forum lalu``; ``/forum langganan [scope]``.
    The buttons send these same commands, so they work from any flow and from old messages."""
    turn.clear_state()
    req = parse_forum_args(args)
    if req.view is View.UPCOMING:
        await list_upcoming(turn, req.page)
    elif req.view is View.PAST:
        await list_past(turn, req.page)
    elif req.view is View.SUBSCRIPTIONS:
        await subscriptions(turn)
    elif req.view is View.SUBSCRIBE:
        await toggle_subscription(turn, req.scope)
    elif req.view is View.NO_ID:
        turn.reply(turn.t("Tulis nomor forum, misalnya /forum 3."), [back_to_list(turn)])
    elif req.action is ForumAction.RSVP:
        await rsvp(turn, req.forum_id)
    elif req.action is ForumAction.CANCEL:
        await unrsvp(turn, req.forum_id)
    elif req.action is ForumAction.INPUT:
        await start_input(turn, req.forum_id)
    elif is_staff(turn):
        await staff_view(turn, req.forum_id)
    else:
        await show_forum(turn, req.forum_id)


def back_to_list(turn: Turn) -> Choice:
    return Choice(turn.t("⬅️ Daftar forum"), upcoming_link(0))


# ---- lists -------------------------------------------------------------------------------------
async def list_upcoming(turn: Turn, page: int) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    repo = turn.uow.forum
    got = await repo.upcoming(turn.now, limit=PAGE, offset=page * PAGE, opd_code=officer_scope(turn))
    counts = await repo.registered_counts(f.id for f in got.rows)
    if not got.rows:
        text = t("Belum ada forum konsultasi publik yang dijadwalkan.") if page == 0 else t("Tidak ada forum lagi.")
    else:
        lines = [t("Forum konsultasi publik mendatang ({n}):", n=got.total), ""]
        for f in got.rows:
            lines.append(forum_card(ctx, f, t, registered=counts.get(f.id, 0), full=False))
            lines.append("")
        text = "\n".join(lines).rstrip()
    choices = page_choices(t, got, page, upcoming_link)
    choices.append(Choice(t("📜 Forum lalu & hasil"), past_link(0)))
    if is_staff(turn):
        choices.append(Choice(t("➕ Forum baru"), NEW_FORUM_LINK))
    else:
        choices.append(Choice(t("🔔 Langganan kabar forum"), SUBSCRIPTIONS_LINK))
    turn.reply(text, choices, title=t("Forum Konsultasi Publik"))


async def list_past(turn: Turn, page: int) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    got = await turn.uow.forum.past(turn.now, limit=PAGE, offset=page * PAGE, opd_code=officer_scope(turn))
    upcoming = Choice(t("⬅️ Forum mendatang"), upcoming_link(0))
    if not got.rows:
        turn.reply(t("Belum ada forum yang sudah berlangsung."), [upcoming])
        return
    lines = [t("Forum yang sudah berlangsung:"), ""]
    for f in got.rows:
        mark = t("✅ hasil terbit") if f.result_published_at else t("⏳ hasil belum terbit")
        lines.append(
            t("#{id} {title} — {when} ({mark})", id=f.id, title=f.title, when=when_text(turn, ctx, f), mark=mark)
        )
    choices = page_choices(t, got, page, past_link)
    choices.append(upcoming)
    turn.reply("\n".join(lines), choices)


# ---- one forum ---------------------------------------------------------------------------------
async def show_forum(turn: Turn, forum_id: int) -> None:
    t = turn.t
    repo = turn.uow.forum
    f = await repo.get(forum_id)
    if f is None:
        not_found(turn, forum_id)
        return
    ctx = await region_context(turn.uow.region)
    registered = await repo.registered_count(f.id)
    mine = await repo.rsvp(f.id, turn.user.id)
    phase = rules.phase(f.status, f.starts_at, turn.now)
    news = ""  # what the card is followed by: the same on the short card (SMS)
    choices: list[Choice] = []
    if phase == "cancelled":
        news += "\n\n" + t("Forum ini dibatalkan.")
    elif phase == "upcoming":
        if mine is not None and mine.status == "registered":
            news += "\n\n" + t("✅ Anda terdaftar.")
            choices.append(Choice(t("❎ Batal daftar"), forum_link(f.id, ForumAction.CANCEL)))
        else:
            choices.append(Choice(t("📝 Daftar"), forum_link(f.id, ForumAction.RSVP)))
        choices.append(Choice(t("💬 Kirim masukan"), forum_link(f.id, ForumAction.INPUT)))
    elif f.result_published_at is not None:
        news += "\n\n" + t("📄 Berita acara:") + "\n" + (f.result_text or "")
    else:
        news += "\n\n" + t("Forum ini sudah berlangsung; berita acaranya belum diterbitkan.")
    choices.append(back_to_list(turn))
    turn.reply(
        forum_card(ctx, f, t, registered=registered) + news,
        choices,
        extra={SHORT: forum_card(ctx, f, t, registered=registered, full=False) + news},  # without description, agenda
    )
    if phase == "past" and f.result_photo_ref and f.result_photo_channel == turn.inbound.channel:
        turn.reply(
            t("Lampiran berita acara forum #{id}", id=f.id),
            image=Attachment(
                filename="berita-acara.jpg",
                mime_type=f.result_photo_mime or "image/jpeg",
                file_ref=f.result_photo_ref,
            ),
        )


async def rsvp(turn: Turn, forum_id: int, *, name_asked: bool = False) -> None:
    """Register for the forum; on the web chat the name staff will see is asked first (once per
    registration; optional)."""
    t = turn.t
    repo = turn.uow.forum
    f = await repo.get(forum_id, lock=True)  # capacity is checked with the forum row locked
    if f is None:
        not_found(turn, forum_id)
        return
    mine = await repo.rsvp(f.id, turn.user.id)
    registered = await repo.registered_count(f.id)
    problem = rules.rsvp_problem(
        status=f.status,
        starts_at=f.starts_at,
        now=turn.now,
        capacity=f.capacity,
        registered=registered,
        already=mine is not None and mine.status == "registered",
    )
    if problem:
        turn.reply(t(problem, n=registered, capacity=f.capacity), [back_to_list(turn)])
        return
    if asks_name(turn) and not name_asked:  # registrations are listed by name: ask the web chat for one
        turn.set_state(ForumFlow.RSVP, "name", {"forum_id": f.id})
        ask_name(turn, cancel_choice(t))
        return
    await repo.register(f.id, turn.user.id, turn.now)
    turn.audit("forum_rsvp", subject_type="forum", subject_id=str(f.id))
    ctx = await region_context(turn.uow.region)
    turn.reply(
        t(
            '✅ Anda terdaftar di forum #{id} "{title}", {when}. Kami kirim pengingat sehari sebelumnya.',
            id=f.id,
            title=f.title,
            when=when_text(turn, ctx, f),
        ),
        [
            Choice(t("💬 Kirim masukan"), forum_link(f.id, ForumAction.INPUT)),
            Choice(t("❎ Batal daftar"), forum_link(f.id, ForumAction.CANCEL)),
        ],
    )


@router.flow(ForumFlow.RSVP)
async def rsvp_name(turn: Turn) -> None:
    """The name asked before a web chat registration; then the registration (checked again)."""
    if take_name(turn, cancel_choice(turn.t)):
        forum_id = int(turn.data.get("forum_id", 0))
        turn.clear_state()
        await rsvp(turn, forum_id, name_asked=True)


async def unrsvp(turn: Turn, forum_id: int) -> None:
    t = turn.t
    repo = turn.uow.forum
    f = await repo.get(forum_id)
    if f is None:
        not_found(turn, forum_id)
        return
    if rules.phase(f.status, f.starts_at, turn.now) != "upcoming" or not await repo.cancel(
        f.id, turn.user.id, turn.now
    ):
        turn.reply(t("Anda tidak terdaftar di forum #{id}.", id=f.id), [back_to_list(turn)])
        return
    turn.audit("forum_rsvp_cancelled", subject_type="forum", subject_id=str(f.id))
    turn.reply(
        t("Pendaftaran Anda di forum #{id} dibatalkan.", id=f.id),
        [Choice(t("📝 Daftar lagi"), forum_link(f.id, ForumAction.RSVP))],
    )


# ---- subscriptions -----------------------------------------------------------------------------
async def subscriptions(turn: Turn) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    mine = set(await turn.uow.forum.subscriptions(turn.user.id))
    lines = [
        t(
            "Pilih kabar forum yang ingin Anda terima. Dengan berlangganan, Anda setuju dihubungi untuk "
            "pengumuman forum, pengingat, dan berita acara forum tentang OPD yang pernah Anda laporkan atau "
            "survei. Tekan lagi untuk berhenti."
        )
    ]
    if mine:
        names = [ctx.name if s == rules.SCOPE_REGION else ctx.opd_names.get(s, s) for s in sorted(mine)]
        lines += ["", t("Langganan Anda: {names}", names=", ".join(names))]

    def mark(scope: str) -> str:
        return "✅ " if scope in mine else ""

    choices = [
        Choice(
            mark(rules.SCOPE_REGION) + t("Semua forum ({region})", region=ctx.name)[:60],
            subscribe_link(rules.SCOPE_REGION),
        )
    ]
    choices += [Choice(mark(code) + name[:56], subscribe_link(code)) for code, name in ctx.opd_names.items()]
    choices.append(back_to_list(turn))
    turn.reply("\n".join(lines), choices, title=t("Langganan kabar forum"))


async def toggle_subscription(turn: Turn, scope: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    if scope != rules.SCOPE_REGION and scope not in ctx.opd_names:
        await subscriptions(turn)
        return
    repo = turn.uow.forum
    name = ctx.name if scope == rules.SCOPE_REGION else ctx.opd_names[scope]
    if await repo.subscribe(turn.user.id, scope, turn.now):
        turn.audit("forum_subscribed", subject_type="forum_subscription", subject_id=scope)
        turn.reply(t("🔔 Anda akan menerima kabar forum: {name}.", name=name))
    else:
        await repo.unsubscribe(turn.user.id, scope)
        turn.audit("forum_unsubscribed", subject_type="forum_subscription", subject_id=scope)
        turn.reply(t("🔕 Langganan kabar forum {name} dihentikan.", name=name))
    await subscriptions(turn)
