"""SKM results for staff: ``/ikm`` (IKM per unit, or one unit's detail with data quality),
``/populasi`` (a unit's population for the sample size) and ``/ekspor skm`` (the Excel workbook).

Officers see their own OPD, coordinators the whole region.
"""

from __future__ import annotations

from bot.domain import skm as rules
from bot.domain.complaint_rules import Role
from bot.domain.i18n import N_, Translator
from bot.domain.messages import Attachment
from bot.engine.region_context import RegionContext, region_context
from bot.engine.router import Router
from bot.engine.turn import Turn
from bot.services.skm_export import SPLITS, build_skm_workbook, collect_skm_report
from handlers.survey.survey_shared import current_period, num, population_basis

router = Router("survey_results")

STAFF = (Role.OFFICER, Role.COORDINATOR)
MAX_POPULATION = 100_000_000
MAX_SEGMENT_LINES = 8
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        except rules.PeriodError:
            return (
                None,
                None,
                turn.t(
                    '"{word}" bukan kode unit atau periode yang dikenal. Contoh periode: {examples}',
                    word=word[:30],
                    examples=rules.PERIOD_EXAMPLES,
                ),
            )
    return unit, period or current_period(turn, ctx), None


# ---- /ikm --------------------------------------------------------------------------------------
@router.command(
    "ikm",
    description=N_("indeks kepuasan per unit layanan"),
    roles=STAFF,
    usage=N_("[KODE-UNIT] [periode]"),
)
async def ikm(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    scope = turn.user.opd_code if turn.user.role == Role.OFFICER else None
    if turn.user.role == Role.OFFICER and scope is None:
        turn.reply(t("Akun Anda belum terhubung ke OPD. Mintalah kode undangan baru kepada koordinator."))
        return
    units = {u.code: u for u in await turn.uow.region.units(scope)}
    unit_code, period, error = parse_args(turn, ctx, args, units)
    if error:
        turn.reply(error)
        return
    if unit_code:
        await unit_detail(turn, ctx, units[unit_code], period)
    else:
        await units_overview(turn, ctx, units, period, scope)


async def units_overview(turn: Turn, ctx: RegionContext, units: dict, period: rules.Period, scope: str | None) -> None:
    """Every unit in scope ranked by IKM, with sample status; the silent ones counted."""
    t = turn.t
    repo = turn.uow.skm
    start, end = period.utc_range(ctx.tz.key)
    weight = ctx.skm.weight
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
        turn.reply(t("Belum ada survei selesai pada periode {period}.", period=period.label(turn.lang)), title=title)
        return
    lines = []
    for i, (result, n, sample, unit) in enumerate(rows, start=1):
        need = f"/{sample.required}" if sample.required else ""
        flag = "✅" if sample.adequate else ("⚠️" if sample.adequate is False else "❔")
        lines.append(
            f"{i}. {unit.name} ({unit.code}) — {num(turn, result.ikm)} {result.mutu} · n={n}{need} {flag} "
            f"{t(sample.label)}"
        )
    silent = [u for code, u in units.items() if code not in totals]
    if silent:
        lines += ["", t("Belum ada responden: {n} unit.", n=len(silent))]
    lines += ["", t("Rincian per unsur: /ikm <KODE-UNIT>. Periode lain: /ikm 2026-Q3. Ekspor: /ekspor skm.")]
    turn.reply("\n".join(lines), title=title)


async def unit_detail(turn: Turn, ctx: RegionContext, unit, period: rules.Period) -> None:
    """One unit: IKM, sample, elements weakest first, per service, and the data-quality notes."""
    t = turn.t
    title = f"{unit.name} ({unit.code}) · {period.label(turn.lang)}"
    report = await collect_skm_report(
        turn.uow.skm,
        turn.uow.region,
        period=period,
        timezone=ctx.tz.key,
        weight=ctx.skm.weight,
        unit_code=unit.code,
        splits=SPLITS,
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
    turn.reply("\n".join(lines + quality_lines(turn, u)), title=title)


def quality_lines(turn: Turn, u) -> list[str]:
    """The data-quality part of a unit's detail: the unit's figures, then flagged segments."""
    t = turn.t
    q = u.quality
    lines = [
        "",
        t(
            "Kualitas data: alfa Cronbach {alpha} · jawaban seragam {straight} · terlalu cepat {fast} · "
            "tidak selesai {incomplete} · duplikat {dup}",
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
    return lines


# ---- /populasi ---------------------------------------------------------------------------------
@router.command(
    "populasi",
    "population",
    description=N_("atur populasi pengguna layanan unit untuk ukuran sampel"),
    roles=(Role.COORDINATOR,),
    usage=N_("KODE-UNIT [JUMLAH|hapus] [periode]"),
)
async def populasi(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    words = args.split()
    units = {u.code: u for u in await turn.uow.region.units()}
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
    parsed = parse_population_args(turn, ctx, words[1:])
    if parsed is None:
        return
    amount, clear, period = parsed
    repo = turn.uow.skm
    if clear:
        removed = await repo.clear_population(unit.code, period.key)
        if removed:
            turn.audit("skm_population_cleared", subject_type="unit", subject_id=unit.code, period=period.key)
    elif amount is not None:
        await repo.set_population(unit.code, period.key, amount, set_by=turn.user.id, now=turn.now)
        await turn.uow.flush()
        turn.audit(
            "skm_population_set", subject_type="unit", subject_id=unit.code, period=period.key, population=amount
        )
    await show_population(turn, ctx, unit, period)


def parse_population_args(
    turn: Turn, ctx: RegionContext, words: list[str]
) -> tuple[int | None, bool, rules.Period] | None:
    """(amount or None, clear?, period) from "[JUMLAH|hapus] [periode]"; None after replying why not."""
    t = turn.t
    today = turn.now.astimezone(ctx.tz).date()
    amount: int | None = None
    clear = False
    period = None
    for word in words:
        if word.lower() in ("hapus", "reset", "clear"):
            clear = True
        elif word.isdecimal() and amount is None:
            amount = int(word)
            if not 1 <= amount <= MAX_POPULATION:
                turn.reply(t("Populasi harus bilangan bulat 1–{max}.", max=f"{MAX_POPULATION:,}".replace(",", ".")))
                return None
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
                return None
    return amount, clear, period or current_period(turn, ctx)


async def show_population(turn: Turn, ctx: RegionContext, unit, period: rules.Period) -> None:
    t = turn.t
    override, yearly = await turn.uow.skm.population(unit.code, period.key)
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
            "Populasi {unit} untuk {period}: {population} ({source}). "
            "Sampel minimum (Krejcie-Morgan): {required} responden.",
            unit=unit.name,
            period=period.label(turn.lang),
            population=population,
            source=source,
            required=rules.krejcie_morgan(population),
        )
    )


# ---- /ekspor -----------------------------------------------------------------------------------
@router.command(
    "ekspor",
    "export",
    description=N_("ekspor hasil SKM ke Excel"),
    roles=STAFF,
    usage=N_("skm [periode]"),
)
async def export(turn: Turn, args: str) -> None:
    t = turn.t
    ctx = await region_context(turn.uow.region)
    words = args.split()
    if not words or words[0].lower() != "skm":
        turn.reply(t("Ketik /ekspor skm [periode], misalnya /ekspor skm 2026-S2."))
        return
    today = turn.now.astimezone(ctx.tz).date()
    try:
        period = rules.parse_period(words[1], today) if len(words) > 1 else current_period(turn, ctx)
    except rules.PeriodError:
        turn.reply(
            t('Periode "{word}" tidak dikenal. Contoh: {examples}', word=words[1][:30], examples=rules.PERIOD_EXAMPLES)
        )
        return
    scope = turn.user.opd_code if turn.user.role == Role.OFFICER else None
    data = await build_skm_workbook(
        turn.uow.skm,
        turn.uow.region,
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
        document=Attachment(filename=name, mime_type=XLSX, data=data),
    )
