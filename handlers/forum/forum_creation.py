"""``/forumbaru``: guided creation of a forum by staff (coordinators for any OPD, officers for their
own): OPD → title → topic → start → place → capacity → description → an agenda proposed from the
OPD's weakest SKM elements and most frequent complaint topics of the last period (or the staff's
own) → summary → published and announced to the subscribers (``bot.services.forum_service``).
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import forum_rules as rules
from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.forum_service import NewForum, agenda_proposal, create_forum
from handlers.forum.forum_buttons import (
    AGENDA_OK,
    NEW_STEPS,
    PUBLISH_FORUM,
    ForumFlow,
    NewStep,
    opd_button,
    opd_of,
)
from handlers.forum.forum_shared import STAFF, cancel_choice

router = Router("forum_creation")

FLOW = ForumFlow.NEW


@router.command("forumbaru", "newforum", description=N_("buat forum konsultasi publik"), roles=STAFF)
async def new_forum(turn: Turn, args: str) -> None:
    turn.clear_state()
    t = turn.t
    if turn.user.role == Role.OFFICER:
        await ask_step(turn, {"opd": turn.user.opd_code}, NewStep.TITLE)
        return
    ctx = await region_context(turn.uow.region)
    turn.set_state(FLOW, NewStep.OPD, {})
    turn.reply(
        t("Forum baru: untuk OPD mana?"),
        opd_choices(turn, ctx),
        title=t("Forum konsultasi publik baru"),
    )


def opd_choices(turn: Turn, ctx: RegionContext) -> list[Choice]:
    return [Choice(name[:60], opd_button(code)) for code, name in ctx.opd_names.items()] + [cancel_choice(turn.t)]


#: set in the state while a date is asked again at publication
FIXING = "fixing"


async def ask_step(turn: Turn, data: dict, step: str) -> None:
    t = turn.t
    if step == NewStep.AGENDA:
        await propose(turn, data)
        return
    if step == NewStep.CONFIRM:
        await confirm(turn, data)
        return
    turn.set_state(FLOW, step, data)
    prompts = {
        NewStep.TITLE: t('Judul forum? (mis. "Forum Konsultasi Publik Pelayanan Air Bersih")'),
        NewStep.TOPIC: t("Topik utama yang dibahas? (satu kalimat pendek)"),
        NewStep.WHEN: t(
            "Tanggal dan jam mulai ({tz})? Tulis seperti ini: {example}",
            tz=rules.tz_abbrev((await region_context(turn.uow.region)).tz),
            example=rules.DATE_EXAMPLE,
        ),
        NewStep.PLACE: t('Tempatnya? Tulis alamat, atau tautan rapat daring (https://…), atau keduanya dipisah " | ".'),
        NewStep.CAPACITY: t("Kuota peserta (jumlah orang)?"),
        NewStep.DESCRIPTION: t("Deskripsi singkat untuk warga: apa tujuan forum dan siapa yang diundang?"),
    }
    turn.reply(prompts[step], [cancel_choice(t)])


async def propose(turn: Turn, data: dict) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    draft = await agenda_proposal(
        turn.uow.skm,
        turn.uow.forum,
        tz=ctx.tz,
        skm_config=ctx.skm,
        opd_code=data["opd"],
        opd_name=ctx.opd_names.get(data["opd"], data["opd"]),
        now=turn.now,
        t=t,
        lang=turn.lang,
    )
    data = {
        **data,
        "agenda": draft.text,
        "period": draft.period_key,
        "data_from": draft.start.isoformat(),
        "data_to": draft.end.isoformat(),
    }
    turn.set_state(FLOW, NewStep.AGENDA, data)
    intro = t(
        "Usulan agenda dari data {period} (SKM dan pengaduan {opd}):", period=draft.period_label, opd=draft.opd_name
    )
    if not draft.has_data:
        intro += "\n" + t("(Belum ada data SKM atau pengaduan untuk periode itu.)")
    turn.reply(
        f"{intro}\n\n{draft.text}\n\n" + t("Pakai agenda ini, atau ketik agenda Anda sendiri untuk menggantinya."),
        [Choice(t("✅ Pakai agenda ini"), AGENDA_OK), cancel_choice(t)],
    )


async def confirm(turn: Turn, data: dict) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    turn.set_state(FLOW, NewStep.CONFIRM, data)
    starts = datetime.fromisoformat(data["starts_at"])
    text = "\n".join(
        [
            t("🏢 {opd}", opd=ctx.opd_names.get(data["opd"], data["opd"])),
            t("📌 {title} — {topic}", title=data["title"], topic=data["topic"]),
            t("🗓 {when}", when=rules.fmt_when(starts, ctx.tz, turn.lang)),
            t("📍 {where}", where=rules.where_text(data.get("place"), data.get("url"), t)),
            t("👥 Kuota {n} orang", n=data["capacity"]),
            "",
            data["description"],
            "",
            t("Agenda:"),
            data["agenda"],
            "",
            t("Terbitkan forum ini? Pelanggan kabar forum OPD ini dan seluruh daerah akan diberi tahu."),
        ]
    )
    turn.reply(text, [Choice(t("📢 Terbitkan"), PUBLISH_FORUM), cancel_choice(t)], title=t("Ringkasan forum"))


# ---- the steps ---------------------------------------------------------------------------------
@router.flow(FLOW)
async def creation(turn: Turn) -> None:
    t = turn.t
    data = dict(turn.data)
    step = turn.step
    inbound = turn.inbound
    choice = inbound.choice if inbound.kind is Kind.CHOICE else None
    text = (inbound.text or "") if inbound.kind is Kind.TEXT else ""
    ctx = await region_context(turn.uow.region)
    if step == NewStep.OPD:
        await take_opd(turn, ctx, data, choice, text)
        return
    if step == NewStep.CONFIRM:
        if choice == PUBLISH_FORUM:
            await publish_forum(turn, data)
        else:
            await confirm(turn, data)
        return
    if step == NewStep.AGENDA:
        if choice == AGENDA_OK:
            await ask_step(turn, data, NewStep.CONFIRM)
            return
        if not text:
            await propose(turn, data)
            return
    if not text:
        turn.reply(t("Jawab dengan teks, atau /batal untuk keluar."), [cancel_choice(t)])
        return
    try:
        data.update(parse_answer(turn, ctx, step, text))
    except rules.ForumInputError as exc:
        turn.reply(exc.text(t), [cancel_choice(t)])
        return
    nxt = NEW_STEPS[NEW_STEPS.index(step) + 1] if step in NEW_STEPS[:-1] else NewStep.CONFIRM
    if data.pop(FIXING, False):  # a date corrected at publication goes straight back to the summary
        nxt = NewStep.CONFIRM
    await ask_step(turn, data, nxt)


async def take_opd(turn: Turn, ctx: RegionContext, data: dict, choice: str | None, text: str) -> None:
    code = opd_of(choice or "") if choice else text.strip().upper()
    if code not in ctx.opd_names:
        turn.reply(
            turn.t(
                "Pilih OPD dengan tombol, atau ketik kodenya (mis. {code}).", code=next(iter(ctx.opd_names), "PDAM")
            ),
            opd_choices(turn, ctx),
        )
        return
    data["opd"] = code
    await ask_step(turn, data, NewStep.TITLE)


def parse_answer(turn: Turn, ctx: RegionContext, step: str | None, text: str) -> dict:
    """The state fields the typed answer to ``step`` sets; raises ``rules.ForumInputError``."""
    if step == NewStep.TITLE:
        return {"title": rules.check_length(text, rules.TITLE, N_("Judul"))}
    if step == NewStep.TOPIC:
        return {"topic": rules.check_length(text, rules.TOPIC, N_("Topik"))}
    if step == NewStep.WHEN:
        return {"starts_at": rules.parse_when(text, ctx.tz, turn.now).isoformat()}
    if step == NewStep.PLACE:
        place, url = rules.parse_place(text)
        return {"place": place, "url": url}
    if step == NewStep.CAPACITY:
        return {"capacity": rules.parse_capacity(text)}
    if step == NewStep.DESCRIPTION:
        return {"description": rules.check_length(text, rules.DESCRIPTION, N_("Deskripsi"))}
    if step == NewStep.AGENDA:
        return {"agenda": rules.check_length(text, rules.AGENDA, N_("Agenda"))}
    return {}


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
        turn.reply(t("Petugas hanya dapat membuat forum untuk OPD-nya sendiri."))
        return
    try:
        rules.check_start(datetime.fromisoformat(data["starts_at"]), turn.now)
    except rules.ForumInputError as exc:
        # the summary was confirmed long after the date was typed: ask for the date again
        turn.reply(exc.text(t))
        await ask_step(turn, {**data, FIXING: True}, NewStep.WHEN)
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
