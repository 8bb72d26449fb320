"""Following a similar complaint instead of filing it again.

When a citizen sends a complaint (the summary's "Kirim" of /lapor), open complaints of the same OPD
that are probably about the same problem (``bot.domain.similar``: close texts, a place within
500 m) are offered first: "👥 Ikuti ADU-…" or "➕ Tetap kirim laporan baru" (typed: "ikuti", "ya",
the number, "kirim baru", "tidak"). Following drops the draft (nothing is filed) and makes the
citizen a follower: they get the complaint's updates (``complaint_cards.notify_followers``), never
its reporter's identity, and see it in /status. Of another person's complaint a citizen sees its
number, OPD, state and filed date, and for a "biasa" complaint a short excerpt: never the text of a
"rahasia" or "anonim" one, never a name. ``/berhenti_ikuti NOMOR`` stops following.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.domain import complaint_rules as rules
from bot.domain import similar
from bot.domain.complaint_rules import ComplaintState
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice
from bot.engine.region_context import RegionContext, fmt_date, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.complaints.complaint_buttons import cancel_choice, menu_choice, status_choice
from handlers.complaints.complaint_cards import short, state_label
from handlers.complaints.complaint_routing import decide_route
from storage.models import Complaint

router = Router("complaints.similar")

FOLLOW_PREFIX = "lapor:ikuti:"
SEND_NEW = "lapor:baru"
FOLLOW_WORDS = ("ikuti", "ikut", "ya", "iya", "follow", "yes", "ok", "oke")
NEW_WORDS = ("kirim baru", "baru", "tetap kirim", "tidak", "tdk", "nggak", "gak", "no", "new", "kirim")
#: the citizen's words for a followed complaint's state (the reporter's labels speak to the reporter)
FOLLOWER_STATE_LABELS = {ComplaintState.SELESAI: N_("Sudah dinyatakan selesai, menunggu penilaian pelapor")}


async def offer_similar(turn: Turn, data: dict, flow: str, step: str) -> bool:
    """Before a draft is filed: offer the similar open complaints (at most three), the ``flow``
    waiting at ``step``; False (nothing said) when there are none or they were offered already."""
    if data.get("similar_offered") or not turn.settings.similar_complaints:
        return False
    ctx = await region_context(turn.uow.region)
    found = await similar_complaints(turn, ctx, data)
    if not found:
        return False
    data = {**data, "similar_offered": [c.number for c in found]}
    turn.set_state(flow, step, data)
    t = turn.t
    lines = [t("Sudah ada laporan serupa yang sedang ditangani:"), ""]
    for i, c in enumerate(found, start=1):
        lines.append(f"{i}. " + seen_by_citizen(turn, ctx, t, c))
    lines += ["", offer_question(t, found)]
    choices = [Choice(t("👥 Ikuti {number}", number=c.number), FOLLOW_PREFIX + str(c.number)) for c in found]
    turn.reply(
        "\n".join(lines),
        [*choices, Choice(t("➕ Tetap kirim laporan baru"), SEND_NEW), cancel_choice(t)],
        title=t("Laporan serupa"),
    )
    return True


def offer_question(t: Translator, found: Sequence[Complaint]) -> str:
    if len(found) == 1:
        return t(
            "Ikuti laporan {number}? Anda akan mendapat kabar perkembangannya, dan laporan Anda tidak perlu "
            "dikirim lagi.",
            number=found[0].number,
        )
    return t(
        "Ikuti salah satunya? Anda akan mendapat kabar perkembangannya, dan laporan Anda tidak perlu dikirim lagi."
    )


async def similar_complaints(turn: Turn, ctx: RegionContext, data: dict) -> list[Complaint]:
    """The open complaints most like the draft, for the OPD the router picks for it."""
    decision = await decide_route(turn, ctx, data["text"])
    opd = decision.opd_code or next(iter(decision.suggestions), None)
    pool = await turn.uow.followers.similar_pool(
        opd_code=opd, since=turn.now - timedelta(days=similar.RECENT_DAYS), other_than_user=turn.user.id
    )
    by_id = {c.id: c for c in pool}
    others = [similar.Candidate(c.id, c.text, similar.place_of(c.latitude, c.longitude)) for c in pool]
    keys = similar.best(data["text"], similar.place_of(data.get("lat"), data.get("lon")), others)
    return [by_id[k] for k in keys]


def seen_by_citizen(turn: Turn, ctx: RegionContext, t: Translator, c: Complaint) -> str:
    """Another person's complaint as a citizen may see it: number, OPD, state, filed date and, for a
    "biasa" complaint only, a short excerpt. Never a name."""
    opd = ctx.opd_names.get(c.opd_code or "", "")  # none yet while it waits to be routed
    state = t(FOLLOWER_STATE_LABELS[c.state]) if c.state in FOLLOWER_STATE_LABELS else state_label(t, c.state, opd)
    line = t(
        "{number} · {state} · dilaporkan {date}", number=c.number, state=state, date=fmt_date(turn, ctx, c.filed_at)
    )
    if opd:
        line += "\n   " + t("OPD: {opd}", opd=opd)
    text = similar.excerpt(c.text, c.privacy)
    line += f"\n   “{text}”" if text else "\n   " + t("(isi laporan ini dirahasiakan)")
    return line


async def answer_offer(turn: Turn, data: dict, choice: str | None, word: str, send_new: SendNew) -> None:
    """The citizen's answer to the offer: follow one, send their own anyway, or (unclear) asked again."""
    offered = list(data.get("similar_offered") or [])
    number = choice.removeprefix(FOLLOW_PREFIX) if choice and choice.startswith(FOLLOW_PREFIX) else None
    if number is None and not choice and word in FOLLOW_WORDS and len(offered) == 1:
        number = offered[0]
    if number is not None and number in offered:
        await follow(turn, number)
        return
    if choice == SEND_NEW or (not choice and word in NEW_WORDS):
        await send_new(turn, data)
        return
    t = turn.t
    ask = (
        t("Pilih laporan yang ingin diikuti (ketik nomornya di daftar), atau ketik “kirim baru”.")
        if word in FOLLOW_WORDS
        else t("Ketik “ikuti” untuk mengikuti laporan itu, atau “kirim baru” untuk tetap mengirim laporan Anda.")
    )
    choices = [Choice(t("👥 Ikuti {number}", number=n), FOLLOW_PREFIX + n) for n in offered]
    turn.reply(ask, [*choices, Choice(t("➕ Tetap kirim laporan baru"), SEND_NEW), cancel_choice(t)])


SendNew = Callable[[Turn, dict], Awaitable[None]]


async def follow(turn: Turn, number: str) -> None:
    """Follow ``number``: the draft is dropped; the receipt says what they follow and how to stop."""
    t = turn.t
    c = await turn.uow.complaints.get(number)
    turn.clear_state()
    if c is None or c.state not in rules.OPEN_STATES:
        turn.reply(
            t("Laporan {number} sudah tidak terbuka. Kirim laporan Anda dengan /lapor.", number=number),
            [menu_choice(t)],
        )
        return
    await turn.uow.followers.follow(c.id, turn.user.id, turn.now)
    turn.audit("complaint_followed", subject_type="complaint", subject_id=c.number)
    turn.reply(
        t(
            "👥 Anda sekarang mengikuti laporan {number}. Laporan Anda tidak dikirim, jadi tidak ada laporan ganda.\n\n"
            "Anda akan mendapat kabar setiap ada perkembangan. Lihat di /status {number}. "
            "Berhenti mengikuti: /berhenti_ikuti {number}",
            number=c.number,
        ),
        [status_choice(c.number, t("🔎 Cek Status")), menu_choice(t)],
    )


@router.command("berhenti_ikuti", "unfollow", description=N_("berhenti mengikuti laporan"), usage=N_("<nomor>"))
async def unfollow(turn: Turn, args: str) -> None:
    t = turn.t
    number = rules.parse_number(args.split()[0]) if args.strip() else None
    c = await turn.uow.complaints.get(number) if number else None
    if c is None or not await turn.uow.followers.unfollow(c.id, turn.user.id):
        turn.reply(
            t(
                "Anda tidak sedang mengikuti laporan {number}. Ketik /status untuk daftar laporan yang Anda ikuti.",
                number=short(args.strip(), 30) or "-",
            ),
            [menu_choice(t)],
        )
        return
    turn.audit("complaint_unfollowed", subject_type="complaint", subject_id=c.number)
    turn.reply(
        t("Anda berhenti mengikuti laporan {number}. Tidak ada kabar lagi tentang laporan itu.", number=c.number)
    )


# ---- /status ----------------------------------------------------------------------------------
async def followed_lines(turn: Turn, ctx: RegionContext) -> list[str]:
    """/status: the complaints the person follows (empty when none)."""
    followed = await turn.uow.followers.followed(turn.user.id)
    if not followed:
        return []
    t = turn.t
    lines = ["", t("Laporan yang Anda ikuti:")]
    lines += [f"• {seen_by_citizen(turn, ctx, t, c)}" for c in followed]
    lines.append(t("Berhenti mengikuti: /berhenti_ikuti <nomor>"))
    return lines


async def show_followed(turn: Turn, ctx: RegionContext, number: str | None) -> bool:
    """/status NOMOR of a complaint the person follows: what a follower may see; False when they do not."""
    c = await turn.uow.complaints.get(number) if number else None
    if c is None or not await turn.uow.followers.is_following(c.id, turn.user.id):
        return False
    t = turn.t
    text = t("Laporan yang Anda ikuti:") + "\n" + seen_by_citizen(turn, ctx, t, c)
    stop = Choice(t("🚫 Berhenti mengikuti"), f"/berhenti_ikuti {c.number}")
    turn.reply(text, [stop, menu_choice(t)])
    return True
