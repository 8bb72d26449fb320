"""What ``/forumbaru`` asks and shows: each step's question (with the value already given when the
step is edited from the summary), the typed date read back, the "more lines?" question of the
description and the agenda, the agenda proposed from the data, and the summary with an edit
button per field. The answers are taken in ``forum_creation``.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.domain import forum_rules as rules
from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_
from bot.domain.messages import Choice
from bot.domain.typed import Means
from bot.engine.region_context import RegionContext, region_context
from bot.engine.turn import Turn
from bot.services.forum_service import agenda_proposal
from handlers.forum.forum_buttons import (
    AGENDA_KEEP,
    AGENDA_OK,
    MORE_DONE,
    NEW_STEPS,
    PUBLISH_FORUM,
    WHEN_AGAIN,
    WHEN_YES,
    ForumFlow,
    NewStep,
    edit_button,
    opd_button,
)
from handlers.forum.forum_shared import cancel_choice

FLOW = ForumFlow.NEW
#: set in the state while a step is answered from the summary (an edit button, or a date that
#: passed before publication): its answer goes back to the summary
BACK = "back"
#: the agenda proposed from the data, until it is taken
PROPOSAL = "proposal"
#: a day typed without a time, until the time comes
DAY = "day"

#: the summary's edit buttons: step, label
EDITS = (
    (NewStep.OPD, N_("✏️ OPD")),
    (NewStep.TITLE, N_("✏️ Judul")),
    (NewStep.TOPIC, N_("✏️ Topik")),
    (NewStep.WHEN, N_("✏️ Tanggal")),
    (NewStep.PLACE, N_("✏️ Tempat")),
    (NewStep.CAPACITY, N_("✏️ Kuota")),
    (NewStep.DESCRIPTION, N_("✏️ Deskripsi")),
    (NewStep.AGENDA, N_("✏️ Agenda")),
)
#: the steps that take several messages, the field they fill and its name (a msgid)
MORE = {
    NewStep.DESCRIPTION_MORE: (NewStep.DESCRIPTION, "description", N_("Deskripsi")),
    NewStep.AGENDA_MORE: (NewStep.AGENDA, "agenda", N_("Agenda")),
}


def opd_choices(turn: Turn, ctx: RegionContext) -> list[Choice]:
    """One numbered button per OPD (the number, code or a part of the name may be typed)."""
    return [
        Choice(f"{i} · {name}"[:60], opd_button(code)) for i, (code, name) in enumerate(ctx.opd_names.items(), 1)
    ] + [cancel_choice(turn.t)]


def with_note(note: str | None, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


async def ask_opd(turn: Turn, data: dict, note: str | None = None) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    turn.set_state(FLOW, NewStep.OPD, data)
    turn.reply(
        with_note(note, t("Forum baru: untuk OPD mana? Pilih tombol, atau ketik nomor, kode, atau nama OPD.")),
        opd_choices(turn, ctx),
        title=t("Forum konsultasi publik baru"),
    )


async def ask_step(turn: Turn, data: dict, step: str, note: str | None = None) -> None:
    """Ask ``step``'s question (after ``note``, e.g. why the last answer was not taken)."""
    t = turn.t
    if step == NewStep.OPD:
        await ask_opd(turn, data, note)
        return
    if step == NewStep.AGENDA:
        await propose(turn, data, note)
        return
    if step == NewStep.CONFIRM:
        await confirm(turn, data, note)
        return
    ctx = await region_context(turn.uow.region)
    turn.set_state(FLOW, step, data)
    prompts = {
        NewStep.TITLE: t('Judul forum? (mis. "Forum Konsultasi Publik Pelayanan Air Bersih")'),
        NewStep.TOPIC: t("Topik utama yang dibahas? (satu kalimat pendek)"),
        NewStep.WHEN: t(
            "Kapan forum dimulai ({tz})? Tulis hari, tanggal, dan jam, misalnya: {example}",
            tz=rules.tz_abbrev(ctx.tz),
            example=t(rules.DATE_EXAMPLE),
        ),
        NewStep.PLACE: t('Tempatnya? Tulis alamat, atau tautan rapat daring (https://…), atau keduanya dipisah " | ".'),
        NewStep.CAPACITY: t("Kuota peserta (jumlah orang)?"),
        NewStep.DESCRIPTION: t("Deskripsi singkat untuk warga: apa tujuan forum dan siapa yang diundang?"),
    }
    prompt = prompts[step]
    now = current_value(turn, ctx, data, step) if data.get(BACK) else None
    if now:
        prompt = t("Sekarang: {value}", value=now) + "\n\n" + prompt
    turn.reply(with_note(note, prompt), [cancel_choice(t)])


def current_value(turn: Turn, ctx: RegionContext, data: dict, step: str) -> str | None:
    """What the draft already says for ``step`` (shown when it is edited)."""
    if step == NewStep.WHEN:
        at = data.get("starts_at")
        return rules.fmt_when_long(datetime.fromisoformat(at), ctx.tz, turn.t, turn.lang) if at else None
    if step == NewStep.PLACE:
        has_place = data.get("place") or data.get("url")
        return rules.where_text(data.get("place"), data.get("url"), turn.t) if has_place else None
    value = data.get(FIELDS.get(step, ""))
    return None if value is None else str(value)


#: the state field a one-value step fills
FIELDS = {
    NewStep.TITLE: "title",
    NewStep.TOPIC: "topic",
    NewStep.CAPACITY: "capacity",
    NewStep.DESCRIPTION: "description",
}


def ask_time(turn: Turn, data: dict, day: date, note: str | None = None) -> None:
    t = turn.t
    turn.set_state(FLOW, NewStep.WHEN_TIME, {**data, DAY: day.isoformat()})
    turn.reply(
        with_note(
            note,
            t(
                "{day}: jam berapa forum dimulai? Tulis misalnya 09.00, 14.30, atau jam 9 pagi.",
                day=rules.fmt_day(day, turn.lang),
            ),
        ),
        [cancel_choice(t)],
    )


async def read_back(turn: Turn, data: dict, note: str | None = None) -> None:
    """The understood start in the person's language, to be confirmed before going on."""
    t = turn.t
    ctx = await region_context(turn.uow.region)
    data.pop(DAY, None)
    turn.set_state(FLOW, NewStep.WHEN_OK, data)
    when = rules.fmt_when_long(datetime.fromisoformat(data["starts_at"]), ctx.tz, t, turn.lang)
    turn.reply(
        with_note(note, t("🗓 {when} — betul?", when=when) + "\n" + t('Ketik "ya", atau tulis tanggal dan jam lain.')),
        [
            Choice(t("✅ Betul"), WHEN_YES, means=Means.YES),
            Choice(t("✏️ Ganti tanggal"), WHEN_AGAIN, means=Means.NO),
            cancel_choice(t),
        ],
    )


def ask_more(turn: Turn, data: dict, step: NewStep, note: str | None = None) -> None:
    """After a description or agenda message: more lines, or done."""
    t = turn.t
    _, field, what = MORE[step]
    turn.set_state(FLOW, step, data)
    lines = len([x for x in data[field].splitlines() if x.strip()])
    turn.reply(
        with_note(
            note,
            t(
                "{what} tersimpan ({n} baris). Ada lanjutannya? Ketik baris berikutnya, atau pilih Selesai.",
                what=t(what),
                n=lines,
            ),
        ),
        # "Selesai" is a control: a typed line is never taken for it by its likeness
        [Choice(t("✅ Selesai"), MORE_DONE, means=Means.NEXT), cancel_choice(t)],
    )


async def propose(turn: Turn, data: dict, note: str | None = None) -> None:
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
        PROPOSAL: draft.text,
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
    choices = [Choice(t("✅ Pakai agenda ini"), AGENDA_OK, means=Means.YES)]
    if data.get(BACK) and data.get("agenda"):
        intro = t("Agenda sekarang:") + "\n" + data["agenda"] + "\n\n" + intro
        choices.append(Choice(t("↩️ Tetap agenda sekarang"), AGENDA_KEEP))
    turn.reply(
        with_note(
            note,
            f"{intro}\n\n{draft.text}\n\n" + t("Pakai agenda ini, atau ketik agenda Anda sendiri untuk menggantinya."),
        ),
        [*choices, cancel_choice(t)],
    )


async def confirm(turn: Turn, data: dict, note: str | None = None) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    data.pop(BACK, None)
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
            t("Ada yang perlu diubah? Pilih ✏️ bagiannya; setelah itu Anda kembali ke ringkasan ini."),
        ]
    )
    turn.reply(with_note(note, text), summary_choices(turn), title=t("Ringkasan forum"))


def summary_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    edits = [Choice(t(label), edit_button(step)) for step, label in EDITS]
    if turn.user.role == Role.OFFICER:  # an officer's forum is for their own OPD
        edits = edits[1:]
    return [Choice(t("📢 Terbitkan"), PUBLISH_FORUM, means=Means.YES), *edits, cancel_choice(t)]


def following(data: dict, step: str) -> NewStep:
    """The step after ``step``: the summary when the step was edited from it."""
    if data.pop(BACK, False):
        return NewStep.CONFIRM
    return NEW_STEPS[NEW_STEPS.index(step) + 1] if step in NEW_STEPS[:-1] else NewStep.CONFIRM
