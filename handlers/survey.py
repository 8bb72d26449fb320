"""SKM questionnaire (PermenPANRB 14/2017) as a conversation, plus /ikm and /ekspor.

Flow: unit (deep link ``skm_<UNIT>``, or OPD → unit, paged) → service → respondent profile (once
per person, skippable) → nine elements, one question each with the four official labels, a back
button and "Pertanyaan n dari 9" → optional saran → thanks, with the unit's IKM when the sample is
adequate. Each answer is written to the questionnaire row as it is given, so an interrupted
questionnaire can be resumed; /batal keeps it as "abandoned" (never counted).
"""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.domain import skm as rules
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Attachment, Choice, Kind
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account import show_menu
from storage.models import SurveyResponse
from storage.skm_repo import SkmRepo

FLOW = "skm"
PAGE = 8
MAX_SARAN = 2000
#: without a known population, show a unit's IKM to respondents from this many responses on
MIN_RESPONSES_TO_SHOW = 30


def current_period(turn: Turn, ctx: RegionContext) -> rules.Period:
    return rules.period_containing(turn.now.astimezone(ctx.tz).date(), ctx.skm.period)


def paged(t: Translator, items: list[Choice], page: int, command: str) -> list[Choice]:
    start = page * PAGE
    chunk = items[start : start + PAGE]
    if page > 0:
        chunk.append(Choice(t("◀️ Sebelumnya"), f"{command}:{page - 1}"))
    if start + PAGE < len(items):
        chunk.append(Choice(t("Berikutnya ▶️"), f"{command}:{page + 1}"))
    chunk.append(Choice(t("❌ Batal"), "/batal"))
    return chunk


def register(router: Router) -> None:
    async def ask_opd(turn: Turn, page: int = 0) -> None:
        t = turn.t
        units = await turn.repo.units()
        with_units = {u.opd_code for u in units}
        opds = [o for o in await turn.repo.opds() if o.code in with_units]
        turn.set_state(FLOW, "opd", {})
        choices = [Choice(o.name[:60], f"skm:opd:{o.code}") for o in opds]
        turn.reply(
            t("Survei kepuasan: layanan dari instansi mana yang baru Anda terima?"),
            paged(t, choices, page, "skm:opdpage"),
            title=t("Survei Kepuasan Masyarakat"),
        )

    async def ask_unit(turn: Turn, opd_code: str, page: int = 0) -> None:
        t = turn.t
        units = list(await turn.repo.units(opd_code))
        if not units:
            await ask_opd(turn)
            return
        if len(units) == 1 and page == 0:
            await start_for_unit(turn, units[0].code)
            return
        turn.set_state(FLOW, "unit", {"opd": opd_code})
        choices = [Choice(u.name[:60], f"skm:unit:{u.code}") for u in units]
        turn.reply(t("Pilih unit layanannya:"), paged(t, choices, page, "skm:unitpage"))

    async def start_for_unit(turn: Turn, unit_code: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = SkmRepo(turn.repo.session)
        unit = await turn.repo.get_unit(unit_code)
        if unit is None or not unit.active:
            turn.reply(t('Unit layanan "{code}" tidak ditemukan. Silakan pilih dari daftar.', code=unit_code[:20]))
            await ask_opd(turn)
            return
        period = current_period(turn, ctx)
        done = await repo.completed_in_period(turn.user.id, unit.code, period.key)
        if done is not None:
            turn.clear_state()
            show_menu(
                turn,
                t(
                    "Terima kasih, Anda sudah mengisi survei untuk {unit} pada periode {period}. Anda bisa mengisi lagi pada periode berikutnya (mulai {next}).",
                    unit=unit.name,
                    period=period.label(turn.lang),
                    next=period.end.strftime("%d-%m-%Y"),
                ),
            )
            return
        services = list(await turn.repo.services(unit.code))
        data = {"unit": unit.code, "opd": unit.opd_code}
        if len(services) > 1:
            turn.set_state(FLOW, "service", data)
            choices = [Choice(s.name[:60], f"skm:svc:{s.code}") for s in services[:9]] + [
                Choice(t("Layanan lain"), "skm:svc:-")
            ]
            turn.reply(
                t("{unit}\nLayanan apa yang Anda terima?", unit=unit.name), choices + [Choice(t("❌ Batal"), "/batal")]
            )
            return
        data["service"] = services[0].code if services else None
        await after_service(turn, data)

    async def after_service(turn: Turn, data: dict) -> None:
        repo = SkmRepo(turn.repo.session)
        profile = await repo.profile(turn.user.id)
        if profile is None:
            await ask_profile(turn, data, 0)
        else:
            await begin(turn, data, _profile_dict(profile))

    def _profile_dict(profile) -> dict:
        return {k: getattr(profile, k) for k in rules.PROFILE_FIELDS if getattr(profile, k, None)}

    async def ask_profile(turn: Turn, data: dict, index: int) -> None:
        t = turn.t
        fields = list(rules.PROFILE_FIELDS)
        if index >= len(fields):
            repo = SkmRepo(turn.repo.session)
            answers = data.get("profile", {})
            await repo.save_profile(turn.user.id, {k: answers.get(k) for k in fields}, turn.now)
            await begin(turn, data, {k: v for k, v in answers.items() if v})
            return
        field = rules.PROFILE_FIELDS[fields[index]]
        turn.set_state(FLOW, "profile", {**data, "pi": index})
        intro = (
            t(
                "Sebelum mulai, boleh kami tahu sedikit tentang Anda? Semua pertanyaan ini boleh dilewati dan hanya ditanyakan sekali."
            )
            + "\n\n"
            if index == 0
            else ""
        )
        choices = [Choice(t(opt.label), f"skm:p:{index}:{i}") for i, opt in enumerate(field.options)]
        choices.append(Choice(t("⏭ Lewati"), f"skm:p:{index}:-"))
        if index == 0:
            choices.append(Choice(t("⏭ Lewati semua"), "skm:p:all"))
        turn.reply(intro + t(field.question), choices)

    async def begin(turn: Turn, data: dict, profile: dict) -> None:
        ctx = await region_context(turn.repo)
        repo = SkmRepo(turn.repo.session)
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
        await turn.repo.session.flush()
        turn.audit("skm_started", subject_type="unit", subject_id=data["unit"])
        await ask_question(turn, {"rid": row.id, "unit": data["unit"]}, 0)

    async def ask_question(turn: Turn, data: dict, i: int) -> None:
        t = turn.t
        element = rules.ELEMENTS[i]
        turn.set_state(FLOW, "q", {**data, "i": i})
        choices = [Choice(t(label), f"skm:a:{i}:{v}") for v, label in enumerate(element.labels, start=1)]
        if i > 0:
            choices.append(Choice(t("⬅️ Kembali"), "skm:back"))
        turn.reply(
            t("Pertanyaan {n} dari {total}", n=i + 1, total=len(rules.ELEMENTS)) + "\n\n" + t(element.question),
            choices,
            title=t(element.name),
        )

    async def load_row(turn: Turn) -> SurveyResponse | None:
        row = await SkmRepo(turn.repo.session).get(int(turn.data.get("rid", 0)))
        if row is None or row.user_id != turn.user.id or row.status != "in_progress":
            inactive(turn)
            return None
        return row

    def inactive(turn: Turn) -> None:
        turn.clear_state()
        show_menu(turn, turn.t("Survei ini sudah tidak aktif. Mulai lagi dengan /survei."))

    async def finish(turn: Turn, row: SurveyResponse) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        repo = SkmRepo(turn.repo.session)
        if await repo.completed_in_period(turn.user.id, row.unit_code, row.period_key) is not None:
            row.status, row.finished_at = "abandoned", turn.now
            turn.clear_state()
            show_menu(
                turn, t("Anda sudah mengisi survei untuk unit ini pada periode ini; jawaban kedua tidak dihitung.")
            )
            return
        row.status, row.finished_at = "complete", turn.now
        await turn.repo.session.flush()
        turn.audit("skm_completed", subject_type="unit", subject_id=row.unit_code)
        turn.clear_state()
        unit = await turn.repo.get_unit(row.unit_code)
        text = t(
            "Terima kasih! Jawaban Anda sudah kami simpan dan akan dipakai untuk memperbaiki layanan {unit}.",
            unit=unit.name if unit else row.unit_code,
        )
        period = current_period(turn, ctx)
        start, end = period.utc_range(ctx.tz.key)
        totals = await repo.element_totals(start=start, end=end, unit_code=row.unit_code)
        if totals:
            result = rules.compute_ikm(totals[0].totals, totals[0].responses, weight=ctx.skm.weight)
            population = rules.population_for_period(
                *await repo.population(row.unit_code, period.key), period, population_basis(ctx)
            )
            sample = rules.sample_status(totals[0].responses, population)
            meaningful = (
                sample.adequate if sample.adequate is not None else totals[0].responses >= MIN_RESPONSES_TO_SHOW
            )
            if result is not None and meaningful:
                text += "\n\n" + t(
                    "Indeks Kepuasan Masyarakat unit ini periode {period}: {ikm} (mutu {grade}, {label}), dari {n} responden.",
                    period=period.label(turn.lang),
                    ikm=num(turn, result.ikm),
                    grade=result.mutu,
                    label=t(result.kinerja),
                    n=totals[0].responses,
                )
        show_menu(turn, text)

    # ---- entry points ---------------------------------------------------------------------
    @router.command("survei", "survey", description=N_("isi survei kepuasan layanan (SKM)"), usage=N_("[KODE-UNIT]"))
    async def survei(turn: Turn, args: str) -> None:
        turn.clear_state()
        t = turn.t
        code = args.strip().upper()
        repo = SkmRepo(turn.repo.session)
        open_row = await repo.open_for_user(turn.user.id)
        if open_row is not None and not code:
            unit = await turn.repo.get_unit(open_row.unit_code)
            answered = sum(1 for e in rules.ELEMENTS if getattr(open_row, e.column) is not None)
            turn.set_state(FLOW, "resume", {"rid": open_row.id, "unit": open_row.unit_code})
            turn.reply(
                t(
                    "Anda punya survei yang belum selesai untuk {unit} ({n} dari {total} pertanyaan terjawab). Lanjutkan?",
                    unit=unit.name if unit else open_row.unit_code,
                    n=answered,
                    total=len(rules.ELEMENTS),
                ),
                [
                    Choice(t("▶️ Lanjutkan"), "skm:resume"),
                    Choice(t("🔄 Mulai survei baru"), "skm:new"),
                    Choice(t("❌ Batal"), "/batal"),
                ],
            )
            return
        if code:
            await start_for_unit(turn, code)
        else:
            await ask_opd(turn)

    async def deep_link(turn: Turn, payload: str) -> None:
        await start_for_unit(turn, payload.split("_", 1)[1].upper() if "_" in payload else "")

    router.deep_links["skm"] = deep_link

    async def on_cancel(turn: Turn) -> None:
        n = await SkmRepo(turn.repo.session).abandon_open(turn.user.id, turn.now)
        if n:
            turn.audit("skm_abandoned")

    router.on_cancel[FLOW] = on_cancel

    # ---- the steps ------------------------------------------------------------------------
    @router.flow(FLOW)
    async def step(turn: Turn) -> None:
        t = turn.t
        inbound = turn.inbound
        value = inbound.choice if inbound.kind is Kind.CHOICE else None
        text = (inbound.text or "").strip() if inbound.kind is Kind.TEXT else ""
        data = dict(turn.data)
        s = turn.step
        if value and value.startswith("skm:opdpage:"):
            await ask_opd(turn, _int(value.rsplit(":", 1)[1]))
        elif value and value.startswith("skm:unitpage:"):
            await ask_unit(turn, data.get("opd", ""), _int(value.rsplit(":", 1)[1]))
        elif s == "opd" and value and value.startswith("skm:opd:"):
            await ask_unit(turn, value.removeprefix("skm:opd:"))
        elif s == "unit" and value and value.startswith("skm:unit:"):
            await start_for_unit(turn, value.removeprefix("skm:unit:"))
        elif s in ("opd", "unit") and text:
            await start_for_unit(turn, text.upper()[:20]) if " " not in text else turn.reply(
                t("Mohon pilih dari tombol di atas, atau ketik kode unit.")
            )
        elif s == "service" and value and value.startswith("skm:svc:"):
            svc = value.removeprefix("skm:svc:")
            services = {x.code for x in await turn.repo.services(data["unit"])}
            data["service"] = svc if svc in services else None
            await after_service(turn, data)
        elif s == "profile":
            await profile_step(turn, data, value)
        elif s == "resume":
            if value == "skm:resume":
                row = await load_row(turn)
                if row is not None:
                    nxt = next((i for i, e in enumerate(rules.ELEMENTS) if getattr(row, e.column) is None), None)
                    if nxt is None:
                        turn.set_state(FLOW, "saran", {"rid": row.id, "unit": row.unit_code})
                        ask_saran(turn)
                    else:
                        await ask_question(turn, {"rid": row.id, "unit": row.unit_code}, nxt)
            elif value == "skm:new":
                await SkmRepo(turn.repo.session).abandon_open(turn.user.id, turn.now)
                await ask_opd(turn)
            else:
                turn.reply(
                    t("Pilih Lanjutkan atau Mulai survei baru."),
                    [Choice(t("▶️ Lanjutkan"), "skm:resume"), Choice(t("🔄 Mulai survei baru"), "skm:new")],
                )
        elif s == "q":
            await question_step(turn, data, value, text)
        elif s == "saran":
            row = await load_row(turn)
            if row is None:
                return
            if value == "skm:nosaran" or text.lower() in ("lewati", "skip", "tidak", "tidak ada", "-"):
                await finish(turn, row)
            elif text:
                row.saran = text[:MAX_SARAN]
                await finish(turn, row)
            else:
                ask_saran(turn)
        else:
            turn.reply(t("Mohon pilih salah satu tombol, atau ketik /batal untuk keluar dari survei."))

    async def profile_step(turn: Turn, data: dict, value: str | None) -> None:
        fields = list(rules.PROFILE_FIELDS)
        index = int(data.get("pi", 0))
        if value == "skm:p:all":
            data["profile"] = {}
            await ask_profile(turn, data, len(fields))
            return
        prefix = f"skm:p:{index}:"
        if not value or not value.startswith(prefix):
            await ask_profile(turn, data, index)
            return
        picked = value.removeprefix(prefix)
        options = rules.PROFILE_FIELDS[fields[index]].options
        answers = dict(data.get("profile", {}))
        if picked.isdecimal() and int(picked) < len(options):
            answers[fields[index]] = options[int(picked)].code
        data["profile"] = answers
        await ask_profile(turn, data, index + 1)

    async def question_step(turn: Turn, data: dict, value: str | None, text: str) -> None:
        t = turn.t
        i = int(data.get("i", 0))
        if value == "skm:back":
            await ask_question(turn, data, max(i - 1, 0))
            return
        answer = None
        if value and value.startswith("skm:a:"):
            _, _, qi, v = value.split(":")
            if _int(qi) != i:
                turn.reply(t("Tombol itu untuk pertanyaan lain. Ini pertanyaan yang sedang aktif:"))
                await ask_question(turn, data, i)
                return
            answer = _int(v)
        elif text in ("1", "2", "3", "4"):
            answer = int(text)
        if answer not in (1, 2, 3, 4):
            turn.reply(t("Mohon pilih salah satu dari empat jawaban (atau ketik angka 1–4)."))
            await ask_question(turn, data, i)
            return
        if not await SkmRepo(turn.repo.session).set_answer(
            int(data.get("rid", 0)), turn.user.id, rules.ELEMENTS[i].column, answer
        ):
            inactive(turn)
            return
        if i + 1 < len(rules.ELEMENTS):
            await ask_question(turn, data, i + 1)
        else:
            turn.set_state(FLOW, "saran", data)
            ask_saran(turn)

    # ---- results for officers and coordinators -------------------------------------------
    def parse_args(
        turn: Turn, ctx: RegionContext, args: str, units: dict
    ) -> tuple[str | None, rules.Period | None, str | None]:
        """(unit code or None, period, error message or None) from "[UNIT] [period]" in any order."""
        unit = None
        period = None
        today = turn.now.astimezone(ctx.tz).date()
        for word in args.split():
            if word.upper() in units:
                unit = word.upper()
                continue
            try:
                period = rules.parse_period(word, today)
            except rules.PeriodError as exc:
                return (
                    None,
                    None,
                    turn.t(
                        '"{word}" bukan kode unit atau periode yang dikenal. Contoh periode: {examples}',
                        word=word[:30],
                        examples=rules.PERIOD_EXAMPLES,
                    )
                    + ("" if not str(exc) else ""),
                )
        return unit, period or current_period(turn, ctx), None

    @router.command(
        "ikm",
        description=N_("indeks kepuasan per unit layanan"),
        roles=("officer", "coordinator"),
        usage=N_("[KODE-UNIT] [periode]"),
    )
    async def ikm(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        scope = turn.user.opd_code if turn.user.role == "officer" else None
        if turn.user.role == "officer" and scope is None:
            turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
            return
        units = {u.code: u for u in await turn.repo.units(scope)}
        unit_code, period, error = parse_args(turn, ctx, args, units)
        if error:
            turn.reply(error)
            return
        repo = SkmRepo(turn.repo.session)
        start, end = period.utc_range(ctx.tz.key)
        weight = ctx.skm.weight
        if unit_code:
            await unit_detail(turn, ctx, repo, units[unit_code], period, start, end, weight)
            return
        totals = {g.key: g for g in await repo.element_totals(start=start, end=end, opd_code=scope)}
        pops = await repo.populations(period.key, scope)
        basis = population_basis(ctx)
        rows = []
        for code, g in totals.items():
            if code not in units:
                continue
            result = rules.compute_ikm(g.totals, g.responses, weight=weight)
            if result is not None:
                population = rules.population_for_period(*pops.get(code, (None, None)), period, basis)
                rows.append((result, g.responses, rules.sample_status(g.responses, population), units[code]))
        rows.sort(key=lambda r: (-r[0].ikm, r[3].code))
        title = t("IKM {period}", period=period.label(turn.lang)) + (
            f" · {ctx.opd_names.get(scope, scope)}" if scope else f" · {ctx.name}"
        )
        if not rows:
            turn.reply(
                t("Belum ada survei selesai pada periode {period}.", period=period.label(turn.lang)), title=title
            )
            return
        lines = []
        for i, (result, n, sample, unit) in enumerate(rows, start=1):
            need = f"/{sample.required}" if sample.required else ""
            flag = "✅" if sample.adequate else ("⚠️" if sample.adequate is False else "❔")
            lines.append(
                f"{i}. {unit.name} ({unit.code}) — {num(turn, result.ikm)} {result.mutu} · n={n}{need} {flag} {t(sample.label)}"
            )
        silent = [u for code, u in units.items() if code not in totals]
        if silent:
            lines += ["", t("Belum ada responden: {n} unit.", n=len(silent))]
        lines += ["", t("Rincian per unsur: /ikm <KODE-UNIT>. Periode lain: /ikm 2026-Q3. Ekspor: /ekspor skm.")]
        turn.reply("\n".join(lines), title=title)

    async def unit_detail(turn: Turn, ctx: RegionContext, repo: SkmRepo, unit, period, start, end, weight: str) -> None:
        t = turn.t
        from bot.services.skm_export import SPLITS, collect_skm_report

        title = f"{unit.name} ({unit.code}) · {period.label(turn.lang)}"
        report = await collect_skm_report(
            repo, turn.repo, period=period, timezone=ctx.tz.key, weight=weight, unit_code=unit.code, splits=SPLITS
        )
        u = report.unit(unit.code)
        result = u.ikm if u is not None else None
        if result is None:
            turn.reply(
                t("Belum ada survei selesai untuk unit ini pada periode {period}.", period=period.label(turn.lang)),
                title=title,
            )
            return
        sample = u.sample
        lines = [
            t(
                "IKM {ikm} · mutu {grade} ({label}) · {n} responden",
                ikm=num(turn, result.ikm),
                grade=result.mutu,
                label=t(result.kinerja),
                n=result.responses,
            ),
            t("Sampel: {status}", status=t(sample.label))
            + (f" ({result.responses}/{sample.required}, N={u.population})" if sample.required else ""),
            "",
            t("Nilai per unsur (terendah dulu):"),
        ]
        for code, nrr in result.weakest():
            lines.append(f"• {code} {t(rules.ELEMENT_BY_CODE[code].name)}: {num(turn, nrr)}")
        if len(u.services) > 1:
            lines += ["", t("Per layanan:")]
            for g in u.services:
                name = g.name if g.code else t("Layanan lain")
                lines.append(
                    f"• {name}: {num(turn, g.ikm.ikm)} {g.ikm.mutu} · n={g.responses}"
                    if g.ikm
                    else f"• {name}: n={g.responses}"
                )
        q = u.quality
        lines += [
            "",
            t(
                "Kualitas data: alpha {alpha} · straight-lining {straight} · terlalu cepat {fast} · tidak selesai {incomplete} · duplikat {dup}",
                alpha=num(turn, q.cronbach_alpha) if q.cronbach_alpha is not None else "–",
                straight=pct(q.straightline_share),
                fast=pct(q.speeder_share),
                incomplete=pct(q.incomplete_share),
                dup=q.duplicates,
            ),
        ]
        by_channel = ", ".join(f"{ch} {n}" for ch, n in sorted(q.by_channel.items(), key=lambda kv: (-kv[1], kv[0])))
        if by_channel:
            lines.append(t("Per kanal: {counts}", counts=by_channel))
        flags = q.flags_in(t)
        if flags:
            lines += [t("Catatan kualitas data:")] + [f"⚠️ {f}" for f in flags]
        segment_flags = [(seg, seg.quality.flags_in(t)) for seg in u.segments]
        segment_flags = [(seg, f) for seg, f in segment_flags if f]
        if segment_flags:
            lines += ["", t("Catatan per kanal dan profil:")]
            for seg, f in segment_flags[:MAX_SEGMENT_LINES]:
                lines.append(f"⚠️ {segment_label(t, seg.split, seg.value)} (n={seg.quality.n}): {'; '.join(f)}")
            if len(segment_flags) > MAX_SEGMENT_LINES:
                lines.append(
                    t(
                        "… dan {n} segmen lain: lihat lembar Kualitas di /ekspor skm.",
                        n=len(segment_flags) - MAX_SEGMENT_LINES,
                    )
                )
        turn.reply("\n".join(lines), title=title)

    @router.command(
        "populasi",
        "population",
        description=N_("atur populasi pengguna layanan unit untuk ukuran sampel"),
        roles=("coordinator",),
        usage=N_("KODE-UNIT [JUMLAH|hapus] [periode]"),
    )
    async def populasi(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        words = args.split()
        units = {u.code: u for u in await turn.repo.units()}
        if not words or words[0].upper() not in units:
            turn.reply(
                t(
                    "Ketik /populasi KODE-UNIT JUMLAH [periode], misalnya /populasi {example} 1500 2026-S2. "
                    'Tanpa JUMLAH: lihat populasi yang berlaku; "hapus": kembali ke angka dari berkas wilayah.',
                    example=next(iter(units), "UNIT"),
                )
            )
            return
        unit = units[words[0].upper()]
        today = turn.now.astimezone(ctx.tz).date()
        amount: int | None = None
        clear = False
        period = None
        for word in words[1:]:
            if word.lower() in ("hapus", "reset", "clear"):
                clear = True
            elif word.isdecimal() and amount is None:
                amount = int(word)
                if not 1 <= amount <= MAX_POPULATION:
                    turn.reply(t("Populasi harus bilangan bulat 1–{max}.", max=f"{MAX_POPULATION:,}".replace(",", ".")))
                    return
            else:
                try:
                    period = rules.parse_period(word, today)
                except rules.PeriodError:
                    turn.reply(
                        t(
                            '"{word}" bukan jumlah atau periode yang dikenal. Contoh periode: {examples}',
                            word=word[:30],
                            examples=rules.PERIOD_EXAMPLES,
                        )
                    )
                    return
        period = period or current_period(turn, ctx)
        repo = SkmRepo(turn.repo.session)
        if clear:
            removed = await repo.clear_population(unit.code, period.key)
            if removed:
                turn.audit("skm_population_cleared", subject_type="unit", subject_id=unit.code, period=period.key)
        elif amount is not None:
            await repo.set_population(unit.code, period.key, amount, set_by=turn.user.id, now=turn.now)
            await turn.repo.session.flush()
            turn.audit(
                "skm_population_set", subject_type="unit", subject_id=unit.code, period=period.key, population=amount
            )
        override, yearly = await repo.population(unit.code, period.key)
        population = rules.population_for_period(override, yearly, period, population_basis(ctx))
        if population is None:
            turn.reply(
                t(
                    "Populasi {unit} untuk {period} belum diketahui. Atur dengan /populasi {code} JUMLAH {key}.",
                    unit=unit.name,
                    period=period.label(turn.lang),
                    code=unit.code,
                    key=period.key,
                )
            )
            return
        source = (
            t("diatur koordinator")
            if override is not None
            else t("dari berkas wilayah ({yearly} per tahun)", yearly=yearly)
        )
        turn.reply(
            t(
                "Populasi {unit} untuk {period}: {population} ({source}). Sampel minimum (Krejcie-Morgan): {required} responden.",
                unit=unit.name,
                period=period.label(turn.lang),
                population=population,
                source=source,
                required=rules.krejcie_morgan(population),
            )
        )

    @router.command(
        "ekspor",
        "export",
        description=N_("ekspor hasil SKM ke Excel"),
        roles=("officer", "coordinator"),
        usage=N_("skm [periode]"),
    )
    async def export(turn: Turn, args: str) -> None:
        t = turn.t
        ctx = await region_context(turn.repo)
        words = args.split()
        if not words or words[0].lower() != "skm":
            turn.reply(t("Ketik /ekspor skm [periode], misalnya /ekspor skm 2026-S2."))
            return
        today = turn.now.astimezone(ctx.tz).date()
        try:
            period = rules.parse_period(words[1], today) if len(words) > 1 else current_period(turn, ctx)
        except rules.PeriodError:
            turn.reply(
                t(
                    'Periode "{word}" tidak dikenal. Contoh: {examples}',
                    word=words[1][:30],
                    examples=rules.PERIOD_EXAMPLES,
                )
            )
            return
        from bot.services.skm_export import build_skm_workbook

        scope = turn.user.opd_code if turn.user.role == "officer" else None
        data = await build_skm_workbook(
            SkmRepo(turn.repo.session),
            turn.repo,
            period=period,
            timezone=ctx.tz.key,
            weight=ctx.skm.weight,
            opd_code=scope,
        )
        name = f"SKM_{ctx.code}_{period.key.replace('..', '_')}{'_' + scope if scope else ''}.xlsx"
        turn.audit("skm_exported", subject_type="period", subject_id=period.key, opd=scope)
        turn.reply(
            t(
                "Hasil SKM {period}: ringkasan, tabulasi per unit, profil responden, saran, dan catatan kualitas.",
                period=period.label(turn.lang),
            ),
            document=Attachment(
                filename=name, mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data=data
            ),
        )

    def ask_saran(turn: Turn) -> None:
        t = turn.t
        turn.reply(
            t("Terakhir: ada saran untuk perbaikan layanan ini? Tulis saran Anda, atau tekan Lewati."),
            [Choice(t("⏭ Lewati"), "skm:nosaran")],
        )


MAX_POPULATION = 100_000_000
MAX_SEGMENT_LINES = 8


def population_basis(ctx: RegionContext) -> str:
    basis = ctx.skm.population_basis
    return basis if basis in rules.POPULATION_BASES else "year"


def pct(share: float | None) -> str:
    return "–" if share is None else f"{rules.round_half_up(share * 100, 0)}%"


def segment_label(t: Translator, split: str, value: str | None) -> str:
    """ "Kanal web", "Umur 20–29 tahun", "Pekerjaan (tidak diisi)" in the reader's language."""
    if split == "channel":
        return t("Kanal {value}", value=value or "?")
    f = rules.PROFILE_FIELDS[split]
    label = f.label(value) if value is not None else None
    shown = t(label) if label else (value if value is not None else t("(tidak diisi)"))
    return f"{t(f.name)} {shown}"


def num(turn: Turn, value) -> str:
    """Two decimals in the reader's convention (82,41 in Indonesian, 82.41 in English)."""
    return format_decimal(value, "0.00", locale=turn.lang)


def _int(text: str) -> int:
    try:
        return max(int(text), 0)
    except ValueError:
        return 0
