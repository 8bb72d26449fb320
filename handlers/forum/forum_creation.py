"""``/forumbaru``: guided creation of a forum by staff (coordinators for any OPD, officers for their
own): OPD → title → topic → start (typed in plain words, read back for a "ya") → place → capacity
→ description → an agenda proposed from the OPD's weakest SKM elements and most frequent complaint
topics (``bot.services.forum_service``) or the staff's own → summary, with an edit button per field
that comes back to it → published and announced to the subscribers. The description and the
agenda may be typed over several messages (each one is added until "Selesai"). The questions and
the summary are in ``forum_draft``; every answer that is not taken is answered with why, and the
same question again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from bot.domain import forum_rules as rules
from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Kind
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.forum_service import NewForum, create_forum
from handlers.forum.forum_buttons import (
    AGENDA_KEEP,
    AGENDA_OK,
    MORE_DONE,
    PUBLISH_FORUM,
    WHEN_AGAIN,
    WHEN_YES,
    NewStep,
    edited_step,
    opd_of,
)
from handlers.forum.forum_draft import (
    BACK,
    DAY,
    FLOW,
    MORE,
    PROPOSAL,
    ask_more,
    ask_opd,
    ask_step,
    ask_time,
    following,
    read_back,
)
from handlers.forum.forum_shared import STAFF

router = Router("forum_creation")

Answer = tuple[str | None, str]  # the pressed button's value, the typed text
OWN_OPD_ONLY = N_("Petugas hanya dapat membuat forum untuk OPD-nya sendiri.")


@router.command("forumbaru", "newforum", description=N_("buat forum konsultasi publik"), roles=STAFF)
async def new_forum(turn: Turn, args: str) -> None:
    turn.clear_state()
    if turn.user.role == Role.OFFICER:
        await ask_step(turn, {"opd": turn.user.opd_code}, NewStep.TITLE)
        return
    await ask_opd(turn, {})


@router.flow(FLOW)
async def creation(turn: Turn) -> None:
    data = dict(turn.data)
    step = turn.step or NewStep.TITLE
    inbound = turn.inbound
    answer = (
        inbound.choice if inbound.kind is Kind.CHOICE else None,
        (inbound.text or "").strip() if inbound.kind is Kind.TEXT else "",
    )
    target = edited_step(answer[0])
    if target is not None and data.get("starts_at") and data.get("agenda"):  # an edit button of the summary
        if target == NewStep.OPD and turn.user.role == Role.OFFICER:
            await ask_step(turn, data, NewStep.CONFIRM, turn.t(OWN_OPD_ONLY))
            return
        await ask_step(turn, {**data, BACK: True}, target)
        return
    ctx = await region_context(turn.uow.region)
    await STEPS.get(step, take_text)(turn, ctx, data, step, answer)


async def take_opd(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    choice, text = answer
    code = opd_of(choice) if choice else rules.match_opd(text, ctx.opd_names)
    if code not in ctx.opd_names:
        note = (
            turn.t('OPD "{text}" tidak saya kenali, atau ada beberapa yang mirip.', text=text[:60])
            if text
            else turn.t("Pilih OPD dengan tombol, atau ketik nomor, kode, atau namanya.")
        )
        await ask_opd(turn, data, note)
        return
    data["opd"] = code
    # a new OPD needs a new agenda proposal (the summary offers to keep the current agenda)
    await ask_step(turn, data, NewStep.AGENDA if data.get(BACK) else NewStep.TITLE)


async def take_text(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    """Title, topic, place, capacity: one message each."""
    _, text = answer
    if not text:
        await ask_step(turn, data, step, turn.t("Jawab dengan teks, atau /batal untuk keluar."))
        return
    try:
        data.update(parse_answer(step, text))
    except rules.ForumInputError as exc:
        await ask_step(turn, data, step, exc.text(turn.t))
        return
    await ask_step(turn, data, following(data, step))


def parse_answer(step: str, text: str) -> dict:
    """The state fields the typed answer to ``step`` sets; raises ``rules.ForumInputError``."""
    if step == NewStep.TITLE:
        return {"title": rules.check_length(text, rules.TITLE, N_("Judul"))}
    if step == NewStep.TOPIC:
        return {"topic": rules.check_length(text, rules.TOPIC, N_("Topik"))}
    if step == NewStep.PLACE:
        place, url = rules.parse_place(text)
        return {"place": place, "url": url}
    if step == NewStep.CAPACITY:
        return {"capacity": rules.parse_capacity(text)}
    return {}


# ---- the start: typed, completed with a time if need be, read back ------------------------------
async def take_when(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    _, text = answer
    if not text:
        await ask_step(turn, data, NewStep.WHEN, turn.t("Tulis tanggal dan jamnya sebagai teks."))
        return
    try:
        said = rules.read_when(text, ctx.tz, turn.now)
    except rules.ForumInputError as exc:
        await ask_step(turn, data, NewStep.WHEN, exc.text(turn.t))
        return
    if not said.has_time:
        ask_time(turn, data, said.day)
        return
    data["starts_at"] = said.at.astimezone(UTC).isoformat()
    await read_back(turn, data)


async def take_time(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    """The time of the day typed before; a whole new date is a new try."""
    _, text = answer
    day = date.fromisoformat(data[DAY])
    if not text:
        ask_time(turn, data, day, turn.t("Tulis jamnya sebagai teks."))
        return
    try:
        at = rules.at_time_of(day, text, ctx.tz, turn.now)
    except rules.ForumInputError as exc:
        ask_time(turn, data, day, exc.text(turn.t))
        return
    if at is None:
        await take_when(turn, ctx, data, NewStep.WHEN, answer)
        return
    data["starts_at"] = at.isoformat()
    await read_back(turn, data)


async def take_when_ok(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    choice, text = answer
    if choice == WHEN_YES or (not choice and rules.said(text, rules.YES_WORDS)):
        await ask_step(turn, data, following(data, NewStep.WHEN))
    elif choice == WHEN_AGAIN or (not choice and rules.said(text, rules.NO_WORDS)):
        await ask_step(turn, data, NewStep.WHEN)
    elif text:  # anything else typed is a new try
        await take_when(turn, ctx, data, NewStep.WHEN, answer)
    else:
        await read_back(turn, data, turn.t("Pilih Betul, atau tulis tanggal dan jam yang lain."))


# ---- description and agenda: several messages until "Selesai" -----------------------------------
async def take_description(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    _, text = answer
    if not text:
        await ask_step(turn, data, step, turn.t("Jawab dengan teks, atau /batal untuk keluar."))
        return
    try:
        data["description"] = rules.check_length(text, rules.DESCRIPTION, N_("Deskripsi"))
    except rules.ForumInputError as exc:
        await ask_step(turn, data, step, exc.text(turn.t))
        return
    ask_more(turn, data, NewStep.DESCRIPTION_MORE)


async def take_agenda(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    choice, text = answer
    if choice == AGENDA_OK or (not choice and rules.said(text, rules.USE_WORDS)):
        proposal = data.pop(PROPOSAL, None)
        if proposal is None:  # a conversation older than the proposal in the state: propose again
            await ask_step(turn, data, step)
            return
        data["agenda"] = proposal
        await ask_step(turn, data, following(data, step))
        return
    if choice == AGENDA_KEEP and data.get("agenda"):
        data.pop(PROPOSAL, None)
        await ask_step(turn, data, following(data, step))
        return
    if not text:
        await ask_step(turn, data, step, turn.t("Pilih Pakai agenda ini, atau ketik agenda Anda sendiri."))
        return
    try:
        data["agenda"] = rules.check_length(text, rules.AGENDA, N_("Agenda"))
    except rules.ForumInputError as exc:
        await ask_step(turn, data, step, exc.text(turn.t))
        return
    data.pop(PROPOSAL, None)
    ask_more(turn, data, NewStep.AGENDA_MORE)


async def take_more(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    """Another line for the description or the agenda, or done."""
    choice, text = answer
    base, field, what = MORE[NewStep(step)]
    if choice == MORE_DONE or (not choice and rules.said(text, rules.DONE_WORDS)):
        await ask_step(turn, data, following(data, base))
        return
    if not text:
        ask_more(turn, data, NewStep(step), turn.t("Ketik baris berikutnya, atau pilih Selesai."))
        return
    try:
        data[field] = rules.check_length(data[field] + "\n" + text, MORE_BOUNDS[field], what)
    except rules.ForumInputError as exc:
        ask_more(turn, data, NewStep(step), exc.text(turn.t) + " " + turn.t("Baris itu tidak ditambahkan."))
        return
    ask_more(turn, data, NewStep(step))


MORE_BOUNDS = {"description": rules.DESCRIPTION, "agenda": rules.AGENDA}


async def take_confirm(turn: Turn, ctx: RegionContext, data: dict, step: str, answer: Answer) -> None:
    choice, text = answer
    if choice == PUBLISH_FORUM or (not choice and rules.said(text, rules.PUBLISH_WORDS)):
        await publish_forum(turn, data)
        return
    target = rules.field_named(text) if not choice else None
    if target == "opd" and turn.user.role == Role.OFFICER:
        await ask_step(turn, data, NewStep.CONFIRM, turn.t(OWN_OPD_ONLY))
        return
    if target:
        await ask_step(turn, {**data, BACK: True}, NewStep(target))
        return
    await ask_step(
        turn,
        data,
        NewStep.CONFIRM,
        turn.t(
            'Forum belum diterbitkan. Ketik "terbitkan" atau pilih 📢 Terbitkan; untuk mengubah, pilih ✏️ '
            'atau ketik nama bagiannya (mis. "tanggal").'
        ),
    )


Step = Callable[[Turn, RegionContext, dict, str, Answer], Awaitable[None]]
STEPS: dict[str, Step] = {
    NewStep.OPD: take_opd,
    NewStep.WHEN: take_when,
    NewStep.WHEN_TIME: take_time,
    NewStep.WHEN_OK: take_when_ok,
    NewStep.DESCRIPTION: take_description,
    NewStep.DESCRIPTION_MORE: take_more,
    NewStep.AGENDA: take_agenda,
    NewStep.AGENDA_MORE: take_more,
    NewStep.CONFIRM: take_confirm,
}


def new_forum_of(data: dict) -> NewForum:
    """The forum the conversation's answers describe."""
    return NewForum(
        opd_code=data["opd"],
        title=data["title"],
        topic=data["topic"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        place=data.get("place"),
        online_url=data.get("url"),
        capacity=int(data["capacity"]),
        description=data["description"],
        agenda=data["agenda"],
        data_period_key=data.get("period"),
        data_from=datetime.fromisoformat(data["data_from"]) if data.get("data_from") else None,
        data_to=datetime.fromisoformat(data["data_to"]) if data.get("data_to") else None,
    )


async def publish_forum(turn: Turn, data: dict) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    if turn.user.role == Role.OFFICER and data["opd"] != turn.user.opd_code:
        turn.clear_state()
        turn.reply(t(OWN_OPD_ONLY))
        return
    try:
        rules.check_start(datetime.fromisoformat(data["starts_at"]), turn.now)
    except rules.ForumInputError as exc:
        # the summary was confirmed long after the date was typed: ask for the date again
        await ask_step(turn, {**data, BACK: True}, NewStep.WHEN, exc.text(t))
        return
    f, sent = await create_forum(
        turn.uow.forum,
        ctx,
        new_forum_of(data),
        created_by=turn.user.id,
        created_via="chat",
        now=turn.now,
        translator_for=turn.translator_for,
        send=turn.notify,
    )
    turn.clear_state()
    turn.audit("forum_created", subject_type="forum", subject_id=str(f.id), opd=f.opd_code, announced=sent)
    turn.reply(
        t(
            "📢 Forum #{id} diterbitkan dan diumumkan ke {n} pelanggan. Lihat pendaftar dan masukan dengan "
            "/forum {id}; terbitkan hasilnya dengan /forumhasil {id} setelah forum berlangsung.",
            id=f.id,
            n=sent,
        )
    )
