"""SKM questionnaire (PermenPANRB 14/2017) as a conversation: ``/survei`` and the deep link ``skm_<UNIT>``.

Flow: unit (deep link, or OPD → unit, paged) → service → respondent profile (once per person,
skippable) → nine elements, one question each with the four official labels, a back button and
"Pertanyaan n dari 9" → optional saran → thanks, with the unit's IKM when the sample is adequate.
Each answer is written to the questionnaire row as it is given, so an interrupted questionnaire can
be resumed; /batal keeps it as "abandoned" (never counted).
"""

from __future__ import annotations

from babel.dates import format_date

from bot.domain import skm as rules
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Choice, Kind
from bot.domain.typed import Offered, candidates, match, numbered_label, typed_number
from bot.engine.region_context import region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import show_menu
from handlers.survey.survey_buttons import ALL, NONE, Act, Pressed, Step, SurveyFlow, button, parse, profile_button
from handlers.survey.survey_shared import current_period, num, population_basis
from storage.models import SurveyResponse

router = Router("survey_questionnaire")

FLOW = SurveyFlow.QUESTIONNAIRE
PAGE = 8
MAX_SARAN = 2000
#: without a known population, show a unit's IKM to respondents from this many responses on
MIN_RESPONSES_TO_SHOW = 30
#: typed words that skip the saran
NO_SARAN_WORDS = ("lewati", "skip", "tidak", "tidak ada", "-")


def paged(t: Translator, items: list[Choice], page: int, act: Act) -> list[Choice]:
    """One page of ``items`` with Sebelumnya / Berikutnya (``act`` buttons) and Batal."""
    start = page * PAGE
    chunk = items[start : start + PAGE]
    if page > 0:
        chunk.append(Choice(t("◀️ Sebelumnya"), button(act, page - 1)))
    if start + PAGE < len(items):
        chunk.append(Choice(t("Berikutnya ▶️"), button(act, page + 1)))
    chunk.append(Choice(t("❌ Batal"), "/batal"))
    return chunk


# ---- entry points ------------------------------------------------------------------------------
@router.command("survei", "survey", description=N_("isi survei kepuasan layanan (SKM)"), usage=N_("[KODE-UNIT]"))
async def survei(turn: Turn, args: str) -> None:
    turn.clear_state()
    code = args.strip().upper()
    open_row = await turn.uow.skm.open_for_user(turn.user.id)
    if open_row is not None and not code:
        await offer_resume(turn, open_row)
    elif code:
        await start_for_unit(turn, code)
    else:
        await ask_opd(turn)


@router.deep_link("skm")
async def deep_link(turn: Turn, payload: str) -> None:
    await start_for_unit(turn, payload.split("_", 1)[1].upper() if "_" in payload else "")


@router.cancel_hook(FLOW)
async def on_cancel(turn: Turn) -> None:
    n = await turn.uow.skm.abandon_open(turn.user.id, turn.now)
    if n:
        turn.audit("skm_abandoned")


async def offer_resume(turn: Turn, open_row: SurveyResponse) -> None:
    t = turn.t
    unit = await turn.uow.region.get_unit(open_row.unit_code)
    answered = sum(1 for e in rules.ELEMENTS if getattr(open_row, e.column) is not None)
    turn.set_state(FLOW, Step.RESUME, {"rid": open_row.id, "unit": open_row.unit_code})
    turn.reply(
        t(
            "Anda punya survei yang belum selesai untuk {unit} ({n} dari {total} pertanyaan terjawab). Lanjutkan?",
            unit=unit.name if unit else open_row.unit_code,
            n=answered,
            total=len(rules.ELEMENTS),
        ),
        [
            Choice(t("▶️ Lanjutkan"), button(Act.RESUME)),
            Choice(t("🔄 Mulai survei baru"), button(Act.NEW)),
            Choice(t("❌ Batal"), "/batal"),
        ],
    )


# ---- the questions -----------------------------------------------------------------------------
async def ask_opd(turn: Turn, page: int = 0) -> None:
    t = turn.t
    units = await turn.uow.region.units()
    with_units = {u.opd_code for u in units}
    opds = [o for o in await turn.uow.region.opds() if o.code in with_units]
    turn.set_state(FLOW, Step.OPD, {})
    choices = [Choice(o.name[:60], button(Act.OPD, o.code)) for o in opds]
    turn.reply(
        t("Survei kepuasan: layanan dari instansi mana yang baru Anda terima?"),
        paged(t, choices, page, Act.OPD_PAGE),
        title=t("Survei Kepuasan Masyarakat"),
    )


async def ask_unit(turn: Turn, opd_code: str, page: int = 0) -> None:
    t = turn.t
    units = list(await turn.uow.region.units(opd_code))
    if not units:
        await ask_opd(turn)
        return
    if len(units) == 1 and page == 0:
        await start_for_unit(turn, units[0].code)
        return
    turn.set_state(FLOW, Step.UNIT, {"opd": opd_code})
    choices = [Choice(u.name[:60], button(Act.UNIT, u.code)) for u in units]
    turn.reply(t("Pilih unit layanannya:"), paged(t, choices, page, Act.UNIT_PAGE))


async def start_for_unit(turn: Turn, unit_code: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    unit = await turn.uow.region.get_unit(unit_code)
    if unit is None or not unit.active:
        turn.reply(t('Unit layanan "{code}" tidak ditemukan. Silakan pilih dari daftar.', code=unit_code[:20]))
        await ask_opd(turn)
        return
    period = current_period(turn, ctx)
    done = await turn.uow.skm.completed_in_period(turn.user.id, unit.code, period.key)
    if done is not None:
        turn.clear_state()
        show_menu(
            turn,
            t(
                "Terima kasih, Anda sudah mengisi survei untuk {unit} pada periode {period}. "
                "Anda bisa mengisi lagi pada periode berikutnya (mulai {next}).",
                unit=unit.name,
                period=period.label(turn.lang),
                next=format_date(period.end, "d MMMM yyyy", locale=turn.lang),
            ),
        )
        return
    services = list(await turn.uow.region.services(unit.code))
    data = {"unit": unit.code, "opd": unit.opd_code}
    if len(services) > 1:
        turn.set_state(FLOW, Step.SERVICE, data)
        choices = [Choice(s.name[:60], button(Act.SERVICE, s.code)) for s in services[:9]] + [
            Choice(t("Layanan lain"), button(Act.SERVICE, NONE))
        ]
        turn.reply(
            t("{unit}\nLayanan apa yang Anda terima?", unit=unit.name), choices + [Choice(t("❌ Batal"), "/batal")]
        )
        return
    data["service"] = services[0].code if services else None
    await after_service(turn, data)


async def after_service(turn: Turn, data: dict) -> None:
    profile = await turn.uow.skm.profile(turn.user.id)
    if profile is None:
        await ask_profile(turn, data, 0)
    else:
        await begin(turn, data, {k: getattr(profile, k) for k in rules.PROFILE_FIELDS if getattr(profile, k, None)})


async def ask_profile(turn: Turn, data: dict, index: int) -> None:
    t = turn.t
    fields = list(rules.PROFILE_FIELDS)
    if index >= len(fields):
        answers = data.get("profile", {})
        await turn.uow.skm.save_profile(turn.user.id, {k: answers.get(k) for k in fields}, turn.now)
        await begin(turn, data, {k: v for k, v in answers.items() if v})
        return
    field = rules.PROFILE_FIELDS[fields[index]]
    turn.set_state(FLOW, Step.PROFILE, {**data, "pi": index})
    intro = (
        t(
            "Sebelum mulai, boleh kami tahu sedikit tentang Anda? "
            "Semua pertanyaan ini boleh dilewati dan hanya ditanyakan sekali."
        )
        + "\n\n"
        if index == 0
        else ""
    )
    choices = [
        Choice(numbered_label(i + 1, t(opt.label)), profile_button(index, i)) for i, opt in enumerate(field.options)
    ]
    choices.append(Choice(t("⏭ Lewati"), profile_button(index, NONE)))
    if index == 0:
        choices.append(Choice(t("⏭ Lewati semua"), button(Act.PROFILE, ALL)))
    turn.reply(intro + t(field.question), choices)


async def begin(turn: Turn, data: dict, profile: dict) -> None:
    ctx = await region_context(turn.uow.region)
    repo = turn.uow.skm
    await repo.abandon_open(turn.user.id, turn.now)
    period = current_period(turn, ctx)
    row = repo.start(
        user_id=turn.user.id,
        unit_code=data["unit"],
        opd_code=data["opd"],
        service_code=data.get("service"),
        channel=turn.inbound.channel,
        period_key=period.key,
        now=turn.now,
        profile=profile,
    )
    await turn.uow.flush()
    turn.audit("skm_started", subject_type="unit", subject_id=data["unit"])
    await ask_question(turn, {"rid": row.id, "unit": data["unit"]}, 0)


async def ask_question(turn: Turn, data: dict, i: int) -> None:
    t = turn.t
    element = rules.ELEMENTS[i]
    turn.set_state(FLOW, Step.QUESTION, {**data, "i": i})
    choices = [
        Choice(numbered_label(v, t(label)), button(Act.ANSWER, i, v)) for v, label in enumerate(element.labels, start=1)
    ]
    if i > 0:
        choices.append(Choice(t("⬅️ Kembali"), button(Act.BACK)))
    turn.reply(
        t("Pertanyaan {n} dari {total}", n=i + 1, total=len(rules.ELEMENTS)) + "\n\n" + t(element.question),
        choices,
        title=t(element.name),
    )


def ask_saran(turn: Turn) -> None:
    t = turn.t
    turn.reply(
        t("Terakhir: ada saran untuk perbaikan layanan ini? Tulis saran Anda, atau tekan Lewati."),
        [Choice(t("⏭ Lewati"), button(Act.NO_SARAN))],
    )


async def load_row(turn: Turn) -> SurveyResponse | None:
    row = await turn.uow.skm.get(int(turn.data.get("rid", 0)))
    if row is None or row.user_id != turn.user.id or row.status != "in_progress":
        inactive(turn)
        return None
    return row


def inactive(turn: Turn) -> None:
    turn.clear_state()
    show_menu(turn, turn.t("Survei ini sudah tidak aktif. Mulai lagi dengan /survei."))


# ---- the end -----------------------------------------------------------------------------------
async def finish(turn: Turn, row: SurveyResponse) -> None:
    t = turn.t
    repo = turn.uow.skm
    if await repo.completed_in_period(turn.user.id, row.unit_code, row.period_key) is not None:
        repo.close(row, "abandoned", turn.now)
        turn.clear_state()
        show_menu(turn, t("Anda sudah mengisi survei untuk unit ini pada periode ini; jawaban kedua tidak dihitung."))
        return
    repo.close(row, "complete", turn.now)
    await turn.uow.flush()
    turn.audit("skm_completed", subject_type="unit", subject_id=row.unit_code)
    turn.clear_state()
    unit = await turn.uow.region.get_unit(row.unit_code)
    text = t(
        "Terima kasih! Jawaban Anda sudah kami simpan dan akan dipakai untuk memperbaiki layanan {unit}.",
        unit=unit.name if unit else row.unit_code,
    )
    show_menu(turn, text + await unit_ikm_note(turn, row.unit_code))


async def unit_ikm_note(turn: Turn, unit_code: str) -> str:
    """The unit's IKM of the current period for the respondent, when the sample is meaningful."""
    t = turn.t
    ctx = await region_context(turn.uow.region)
    repo = turn.uow.skm
    period = current_period(turn, ctx)
    start, end = period.utc_range(ctx.tz.key)
    totals = await repo.element_totals(start=start, end=end, unit_code=unit_code)
    if not totals:
        return ""
    result = rules.compute_ikm(totals[0].totals, totals[0].responses, weight=ctx.skm.weight)
    population = rules.population_for_period(
        *await repo.population(unit_code, period.key), period, population_basis(ctx)
    )
    sample = rules.sample_status(totals[0].responses, population)
    meaningful = sample.adequate if sample.adequate is not None else totals[0].responses >= MIN_RESPONSES_TO_SHOW
    if result is None or not meaningful:
        return ""
    return "\n\n" + t(
        "Nilai kepuasan layanan unit ini untuk {period}: {ikm} dari 100 (mutu {grade}, {label}), "
        "dari {n} orang yang mengisi survei.",
        period=period.label(turn.lang),
        ikm=num(turn, result.ikm),
        grade=result.mutu,
        label=t(result.kinerja),
        n=totals[0].responses,
    )


# ---- the steps ---------------------------------------------------------------------------------
@router.flow(FLOW)
async def step(turn: Turn) -> None:
    inbound = turn.inbound
    pressed = parse(inbound.choice) if inbound.kind is Kind.CHOICE else None
    act = pressed.act if pressed is not None else None
    text = (inbound.text or "").strip() if inbound.kind is Kind.TEXT else ""
    data = dict(turn.data)
    s = turn.step
    if act is Act.OPD_PAGE:
        await ask_opd(turn, pressed.page())
    elif act is Act.UNIT_PAGE:
        await ask_unit(turn, data.get("opd", ""), pressed.page())
    elif s == Step.OPD and act is Act.OPD:
        await ask_unit(turn, pressed.arg)
    elif s == Step.UNIT and act is Act.UNIT:
        await start_for_unit(turn, pressed.arg)
    elif s in (Step.OPD, Step.UNIT) and text:
        await typed_place(turn, s, data, text)
    elif s == Step.SERVICE and act is Act.SERVICE:
        services = {x.code for x in await turn.uow.region.services(data["unit"])}
        data["service"] = pressed.arg if pressed.arg in services else None
        await after_service(turn, data)
    elif s == Step.SERVICE:
        turn.reply(not_a_choice(turn, text))
        await start_for_unit(turn, data.get("unit", ""))
    elif s == Step.PROFILE:
        await profile_step(turn, data, pressed, text)
    elif s == Step.RESUME:
        await resume_step(turn, act)
    elif s == Step.QUESTION:
        await question_step(turn, data, pressed, text)
    elif s == Step.SARAN:
        await saran_step(turn, act, text)
    else:
        turn.reply(turn.t("Mohon pilih salah satu tombol, atau ketik batal untuk keluar dari survei."))


def not_a_choice(turn: Turn, text: str) -> str:
    """Why a typed answer was not taken (the same choices follow)."""
    t = turn.t
    if not text:
        return t("Mohon pilih salah satu jawaban di bawah ini.")
    return t(
        "\u201c{typed}\u201d tidak ada di pilihan. Ketik nomornya atau tulis jawabannya seperti di tombol.",
        typed=text[:40],
    )


async def typed_place(turn: Turn, s: str, data: dict, text: str) -> None:
    """An agency or unit typed at the OPD or unit step: a unit code, or words of a name on any page."""
    t = turn.t
    region = turn.uow.region
    unit = await region.get_unit(text.upper()[:20]) if " " not in text else None
    if unit is not None and unit.active:
        await start_for_unit(turn, unit.code)
        return
    if s == Step.OPD:
        with_units = {u.opd_code for u in await region.units()}
        names = [Offered(o.name, o.code) for o in await region.opds() if o.code in with_units]
    else:
        names = [Offered(u.name, u.code) for u in await region.units(data.get("opd", ""))]
    # a number was the engine's to match against the page shown; here only words are searched
    typed_words = typed_number(text) is None
    picked = match(text, names) if typed_words else None
    several = candidates(text, names) if picked is None and typed_words else []
    if picked is not None:
        await (ask_unit(turn, picked.value) if s == Step.OPD else start_for_unit(turn, picked.value))
        return
    if 1 < len(several) <= PAGE:  # "dinas pen": which one?
        act = Act.OPD if s == Step.OPD else Act.UNIT
        choices = [Choice(c.label[:60], button(act, c.value)) for c in several]
        turn.reply(t("Maksud Anda yang mana?"), [*choices, Choice(t("❌ Batal"), "/batal")])
        return
    if several:
        why = t(
            "Ada {n} yang cocok dengan \u201c{typed}\u201d. Ketik lebih lengkap, misalnya dua kata dari namanya.",
            n=len(several),
            typed=text[:40],
        )
    else:
        why = t(
            "Tidak ada {what} yang cocok dengan \u201c{typed}\u201d. "
            "Ketik sebagian namanya (misalnya satu kata) atau nomornya di daftar.",
            what=t("instansi") if s == Step.OPD else t("unit layanan"),
            typed=text[:40],
        )
    turn.reply(why)
    await (ask_opd(turn) if s == Step.OPD else ask_unit(turn, data.get("opd", "")))


async def resume_step(turn: Turn, act: Act | None) -> None:
    t = turn.t
    if act is Act.RESUME:
        row = await load_row(turn)
        if row is not None:
            nxt = next((i for i, e in enumerate(rules.ELEMENTS) if getattr(row, e.column) is None), None)
            if nxt is None:
                turn.set_state(FLOW, Step.SARAN, {"rid": row.id, "unit": row.unit_code})
                ask_saran(turn)
            else:
                await ask_question(turn, {"rid": row.id, "unit": row.unit_code}, nxt)
    elif act is Act.NEW:
        await turn.uow.skm.abandon_open(turn.user.id, turn.now)
        await ask_opd(turn)
    else:
        turn.reply(
            t("Pilih Lanjutkan atau Mulai survei baru."),
            [Choice(t("▶️ Lanjutkan"), button(Act.RESUME)), Choice(t("🔄 Mulai survei baru"), button(Act.NEW))],
        )


async def profile_step(turn: Turn, data: dict, pressed: Pressed | None, text: str = "") -> None:
    fields = list(rules.PROFILE_FIELDS)
    index = int(data.get("pi", 0))
    if pressed is not None and pressed.act is Act.PROFILE and pressed.arg == ALL:
        data["profile"] = {}
        await ask_profile(turn, data, len(fields))
        return
    picked = pressed.profile_pick(index) if pressed is not None and pressed.act is Act.PROFILE else None
    options = rules.PROFILE_FIELDS[fields[index]].options
    years = typed_number(text) if fields[index] == "umur" else None
    band = rules.age_band(years) if years is not None else None
    if picked is None and band is not None:  # "35" for the age: its band
        picked = str(next(i for i, o in enumerate(options) if o.code == band))
    if picked is None:
        turn.reply(not_a_choice(turn, text))
        await ask_profile(turn, data, index)
        return
    answers = dict(data.get("profile", {}))
    if picked.isdecimal() and int(picked) < len(options):
        answers[fields[index]] = options[int(picked)].code
    data["profile"] = answers
    await ask_profile(turn, data, index + 1)


async def question_step(turn: Turn, data: dict, pressed: Pressed | None, text: str) -> None:
    t = turn.t
    i = int(data.get("i", 0))
    if pressed is not None and pressed.act is Act.BACK:
        await ask_question(turn, data, max(i - 1, 0))
        return
    answer = None
    if pressed is not None and pressed.act is Act.ANSWER:
        got = pressed.answer()
        if got is not None and got[0] != i:
            turn.reply(t("Tombol itu untuk pertanyaan lain. Ini pertanyaan yang sedang aktif:"))
            await ask_question(turn, data, i)
            return
        answer = got[1] if got is not None else None
    elif typed_number(text) in (1, 2, 3, 4):  # the engine maps typed answers; this is for an older state
        answer = typed_number(text)
    if answer not in (1, 2, 3, 4):
        turn.reply(
            t(
                "\u201c{typed}\u201d bukan salah satu jawaban. Ketik angka 1–4 atau tulis jawabannya, "
                "misalnya \u201c{example}\u201d.",
                typed=text[:40],
                example=t(rules.ELEMENTS[i].labels[2]),
            )
            if text
            else t("Mohon pilih salah satu dari empat jawaban (atau ketik angka 1–4).")
        )
        await ask_question(turn, data, i)
        return
    if not await turn.uow.skm.set_answer(int(data.get("rid", 0)), turn.user.id, rules.ELEMENTS[i].column, answer):
        inactive(turn)
        return
    if i + 1 < len(rules.ELEMENTS):
        await ask_question(turn, data, i + 1)
    else:
        turn.set_state(FLOW, Step.SARAN, data)
        ask_saran(turn)


async def saran_step(turn: Turn, act: Act | None, text: str) -> None:
    row = await load_row(turn)
    if row is None:
        return
    if act is Act.NO_SARAN or text.lower() in NO_SARAN_WORDS:
        await finish(turn, row)
    elif text:
        turn.uow.skm.set_saran(row, text[:MAX_SARAN])
        await finish(turn, row)
    else:
        ask_saran(turn)
