"""SKM queries: questionnaires, respondent profiles and the IKM aggregation (in SQL)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import RespondentProfile, Service, SurveyResponse, Unit, UnitPopulation
from storage.region_repo import RegionRepo
from storage.unit_state import WriteResult, defer_write, in_group_commit, read_cache_of

ELEMENT_COLUMNS = ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9")


@dataclass(frozen=True, slots=True)
class ElementTotals:
    """Per group (unit, OPD or region): complete responses and, per element code, (sum, count)."""

    key: str
    responses: int
    totals: dict[str, tuple[int, int]]


PROFILE_KEYS = ("umur", "jenis_kelamin", "pendidikan", "pekerjaan")
#: what a quality report can be split by: the channel, or one respondent-profile field
SPLITS = ("channel", *PROFILE_KEYS)


@dataclass(slots=True)
class UnitMoments:
    """Everything the quality report of one unit (or one segment of it) needs, added up in SQL
    (read by ``bot.domain.skm.quality_from_moments``).

    Complete questionnaires count when finished in [start, end); incomplete ones (abandoned or in
    progress) when started in it. The alpha moments cover the complete questionnaires with all nine
    elements answered (``n_full``), in element order U1..U9, with T = u1 + … + u9: ``sums`` Σu_i,
    ``squares`` Σu_i², ``cross`` Σu_i·T, ``t_sum`` ΣT, ``t_squares`` ΣT² — enough for the item
    variances, the variance of the total and every item–total covariance, with 29 sums instead of
    the 45 of a full product matrix.

    ``split``/``value``: None for the whole unit; else the segment (``split`` = "channel" or a profile
    field, ``value`` its value, None = not given). A whole unit carries the completion-time
    histogram (``durations``), the channel and profile distributions and the element totals per
    (OPD, service) (``groups``, the IKM input); a segment carries ``timed``/``speeders`` counted
    against the unit's speeder limit instead.
    """

    unit_code: str
    split: str | None = None
    value: str | None = None
    n_complete: int = 0
    n_incomplete: int = 0
    n_full: int = 0
    straightline: int = 0  # complete, all nine answered and all equal
    sums: tuple[int, ...] = (0,) * 9
    squares: tuple[int, ...] = (0,) * 9
    cross: tuple[int, ...] = (0,) * 9
    t_sum: int = 0
    t_squares: int = 0
    durations: dict[int, int] = field(default_factory=dict)  # whole seconds (finished − started) → count
    timed: int | None = None  # segments: complete questionnaires with a completion time
    speeders: int | None = None  # segments: … under the unit's speeder limit
    duplicate_users: int = 0  # people with more than one complete questionnaire (unit or segment) in the window
    repeat_start_users: int = 0  # people who started more than once but completed at most once
    by_channel: dict[str, int] = field(default_factory=dict)  # complete questionnaires per channel
    by_profile: dict[str, dict[str | None, int]] = field(
        default_factory=dict
    )  # field → value (None = not given) → count
    #: whole units: element totals of the complete questionnaires per (OPD code, service code)
    groups: dict[tuple[str, str | None], ElementTotals] = field(default_factory=dict)

    def totals(self) -> ElementTotals:
        """Element totals of all the unit's complete questionnaires (the sum of ``groups``)."""
        return sum_totals(self.unit_code, self.groups.values())


def sum_totals(key: str, parts) -> ElementTotals:
    """Element totals added up (sums and counts are additive: unit → OPD → region)."""
    n = 0
    acc = {f"U{i + 1}": [0, 0] for i in range(len(ELEMENT_COLUMNS))}
    for p in parts:
        n += p.responses
        for code, (s, c) in p.totals.items():
            acc[code][0] += s
            acc[code][1] += c
    return ElementTotals(key=key, responses=n, totals={c: (v[0], v[1]) for c, v in acc.items()})


def _segment_on(dialect: str, split: str, table: Any):
    """A split's expression on ``table`` (the model or an alias of it)."""
    if split == "channel":
        return table.channel
    if dialect == "postgresql":
        return table.profile.op("->>")(literal(split, String))
    return table.profile[split].as_string()


def _int_or_none(v: Any) -> int | None:
    return int(v) if v is not None else None


def _set_answer_statement(column: str):
    t = SurveyResponse.__table__
    return (
        t.update()
        .where(t.c.id == bindparam("rid"), t.c.user_id == bindparam("uid"), t.c.status == "in_progress")
        .values({column: bindparam("value", type_=Integer)})
    )


#: built once (a Core statement on the table: no ORM bulk-update machinery, no statement building
#: per answer, which were half the cost of this one-row UPDATE)
_SET_ANSWER = {f"u{i}": _set_answer_statement(f"u{i}") for i in range(1, 10)}

# The other statements of a questionnaire's turns, built once as well (see _SET_ANSWER)
_S = SurveyResponse.__table__
_P = RespondentProfile.__table__
_PROFILE_FIELDS = ("umur", "jenis_kelamin", "pendidikan", "pekerjaan")
_GET_PROFILE = select(_P).where(_P.c.user_id == bindparam("uid"))
_COMPLETED_IN_PERIOD = (
    select(_S.c.id)
    .where(
        _S.c.user_id == bindparam("uid"),
        _S.c.unit_code == bindparam("unit"),
        _S.c.period_key == bindparam("period"),
        _S.c.status == "complete",
    )
    .limit(1)
)
_ABANDON_OPEN = (
    _S.update()
    .where(_S.c.user_id == bindparam("uid"), _S.c.status == "in_progress")
    .values(status="abandoned", finished_at=bindparam("now", type_=_S.c.finished_at.type))
)
_OPEN_FOR_USER = (
    select(SurveyResponse)
    .where(SurveyResponse.user_id == bindparam("uid"), SurveyResponse.status == "in_progress")
    .order_by(SurveyResponse.started_at.desc())
    .limit(1)
)
_POPULATION_OVERRIDE = select(UnitPopulation.__table__.c.population).where(
    UnitPopulation.__table__.c.unit_code == bindparam("unit"),
    UnitPopulation.__table__.c.period_key == bindparam("period"),
)


@functools.cache
def _element_totals_statement(dialect: str, group_by: str, by_opd: bool, by_unit: bool):
    """:meth:`SkmRepo.element_totals`' SELECT, built once per shape (parameters ``start``, ``end``
    and, when asked for, ``opd`` and ``unit``): a questionnaire's last turn shows the unit's IKM."""
    column = {
        "unit": SurveyResponse.unit_code,
        "opd": SurveyResponse.opd_code,
        "service": SurveyResponse.service_code,
    }.get(group_by)
    status = SurveyResponse.status
    if dialect == "sqlite":
        # one table scan beats walking an index with a row lookup per entry (see quality_moments)
        status = literal_column("+survey_responses.status", String)
        if column is not None and not by_unit and not by_opd:
            column = literal_column(f"+survey_responses.{column.key}", String).label(column.key)
    cols: list[Any] = [func.count()]
    for c in ELEMENT_COLUMNS:
        col = getattr(SurveyResponse, c)
        cols += [func.coalesce(func.sum(col), 0), func.count(col)]
    at = _S.c.finished_at.type
    where = and_(
        status == "complete",
        SurveyResponse.finished_at >= bindparam("start", type_=at),
        SurveyResponse.finished_at < bindparam("end", type_=at),
    )
    if by_opd:
        where = and_(where, SurveyResponse.opd_code == bindparam("opd"))
    if by_unit:
        where = and_(where, SurveyResponse.unit_code == bindparam("unit"))
    if column is None:
        return select(*cols).where(where)
    return select(column, *cols).where(where).group_by(column).order_by(column)


@functools.cache
def _save_profile_statement(dialect: str, fields: tuple[str, ...]):
    """INSERT of a respondent profile that updates ``fields`` (and the time) of an existing one."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_P)
    return stmt.on_conflict_do_update(
        index_elements=["user_id"], set_={k: stmt.excluded[k] for k in (*fields, "updated_at")}
    )


class SkmRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- profiles -------------------------------------------------------------------------
    async def profile(self, user_id: int) -> Row | None:
        """The person's respondent profile (a read-only row: umur, jenis_kelamin, pendidikan,
        pekerjaan, updated_at), or None."""
        return (await self.session.execute(_GET_PROFILE, {"uid": user_id})).first()

    async def save_profile(self, user_id: int, values: dict[str, str | None], now: datetime) -> None:
        """Create the profile, or change the fields named in ``values`` of the existing one, in
        one statement."""
        fields = tuple(k for k in _PROFILE_FIELDS if k in values)
        row = {"user_id": user_id, "updated_at": now, **{k: values[k] for k in fields}}
        await self.session.execute(_save_profile_statement(self.session.bind.dialect.name, fields), row)

    async def answered_by(self, user_id: int) -> list[tuple[str, str, str, int]]:
        """The person's questionnaires as (period, unit code, status, count), by period and unit
        (``/datasaya``: what is stored about me)."""
        stmt = (
            select(SurveyResponse.period_key, SurveyResponse.unit_code, SurveyResponse.status, func.count())
            .where(SurveyResponse.user_id == user_id)
            .group_by(SurveyResponse.period_key, SurveyResponse.unit_code, SurveyResponse.status)
            .order_by(SurveyResponse.period_key, SurveyResponse.unit_code, SurveyResponse.status)
        )
        return [(p, u, s, n) for p, u, s, n in (await self.session.execute(stmt)).all()]

    # ---- questionnaires -------------------------------------------------------------------
    def start(
        self,
        *,
        user_id: int,
        unit_code: str,
        opd_code: str,
        service_code: str | None,
        channel: str,
        period_key: str,
        now: datetime,
        profile: dict[str, Any],
    ) -> SurveyResponse:
        row = SurveyResponse(
            user_id=user_id,
            unit_code=unit_code,
            opd_code=opd_code,
            service_code=service_code,
            channel=channel,
            period_key=period_key,
            status="in_progress",
            started_at=now,
            profile=profile,
        )
        self.session.add(row)
        return row

    async def get(self, response_id: int) -> SurveyResponse | None:
        return await self.session.get(SurveyResponse, response_id)

    async def set_answer(self, response_id: int, user_id: int, column: str, value: int) -> WriteResult:
        """Store one answer (``column`` u1..u9) of ``user_id``'s questionnaire still in progress, in
        one statement (no read of the row first); :attr:`WriteResult.NOT_FOUND` (false) when there is
        no such questionnaire.

        In a group commit the UPDATE waits for the commit, in one executemany with the batch's
        other answers to that question (:attr:`WriteResult.DEFERRED`): the person's conversation state
        (locked, versioned) names this questionnaire, and only their own turns change its status.
        Should it not match after all, SQLite's row count fails the commit and every turn of the
        batch runs alone, where this checks at once (PostgreSQL's driver does not count an
        executemany's rows; the questionnaire's last turn checks its status again)."""
        stmt = _SET_ANSWER.get(column)
        if stmt is None:
            raise ValueError(f"not an answer column: {column!r}")
        params = {"rid": response_id, "uid": user_id, "value": value}
        if in_group_commit(self.session):
            return defer_write(self.session, stmt, params)
        res = await self.session.execute(stmt, params)
        return WriteResult.WRITTEN if res.rowcount == 1 else WriteResult.NOT_FOUND

    async def completed_in_period(self, user_id: int, unit_code: str, period_key: str) -> int | None:
        """The id of the person's complete questionnaire for the unit in the period, or None."""
        return (
            await self.session.execute(_COMPLETED_IN_PERIOD, {"uid": user_id, "unit": unit_code, "period": period_key})
        ).scalar()

    async def abandon_open(self, user_id: int, now: datetime) -> int:
        """Questionnaires left half-way are kept as 'abandoned' (never counted in the IKM)."""
        res = await self.session.execute(_ABANDON_OPEN, {"uid": user_id, "now": now})
        return res.rowcount or 0

    @staticmethod
    def close(row: SurveyResponse, status: str, now: datetime) -> None:
        """End a questionnaire as ``complete`` or ``abandoned`` (written with the transaction)."""
        row.status, row.finished_at = status, now

    @staticmethod
    def set_saran(row: SurveyResponse, text: str) -> None:
        """The respondent's suggestion on a questionnaire (written with the transaction)."""
        row.saran = text

    # ---- aggregation ----------------------------------------------------------------------
    async def element_totals(
        self,
        *,
        start: datetime,
        end: datetime,
        group_by: str = "unit",
        opd_code: str | None = None,
        unit_code: str | None = None,
    ) -> list[ElementTotals]:
        """Sums and counts per element over complete questionnaires finished in [start, end).

        ``group_by``: "unit", "opd", "service" or "region". NRR = sum / count is computed by the
        rules (``bot.domain.skm``); the database only adds up, so a million rows stay one index scan.
        """
        stmt = _element_totals_statement(self._dialect, group_by, opd_code is not None, unit_code is not None)
        rows = (
            await self.session.execute(stmt, {"start": start, "end": end, "opd": opd_code, "unit": unit_code})
        ).all()
        if group_by not in ("unit", "opd", "service"):
            rows = [("region", *r) for r in rows]
        out = []
        for key, n, *pairs in rows:
            if not n:
                continue
            totals = {f"U{i + 1}": (int(pairs[2 * i]), int(pairs[2 * i + 1])) for i in range(len(ELEMENT_COLUMNS))}
            out.append(ElementTotals(key=str(key), responses=int(n), totals=totals))
        return out

    async def responses(
        self, *, unit_code: str, start: datetime, end: datetime, include_incomplete: bool = True
    ) -> Sequence[SurveyResponse]:
        """The questionnaires of one unit in a period, for the quality report and the export."""
        stmt = select(SurveyResponse).where(
            SurveyResponse.unit_code == unit_code, SurveyResponse.started_at >= start, SurveyResponse.started_at < end
        )
        if not include_incomplete:
            stmt = stmt.where(SurveyResponse.status == "complete")
        return (await self.session.execute(stmt.order_by(SurveyResponse.id))).scalars().all()

    async def population(self, unit_code: str, period_key: str) -> tuple[int | None, int | None]:
        """(the coordinator's figure for exactly this period or None, the region file's yearly
        figure or None). ``bot.domain.skm.population_for_period`` turns them into the period's population."""
        override = (
            await self.session.execute(_POPULATION_OVERRIDE, {"unit": unit_code, "period": period_key})
        ).scalar()
        unit = await RegionRepo(self.session, read_cache_of(self.session)).get_unit(
            unit_code
        )  # read once per transaction
        return (_int_or_none(override), unit.population if unit is not None else None)

    async def set_population(
        self, unit_code: str, period_key: str, population: int, *, set_by: int | None, now: datetime
    ) -> None:
        row = await self.session.get(UnitPopulation, (unit_code, period_key))
        if row is None:
            self.session.add(
                UnitPopulation(
                    unit_code=unit_code, period_key=period_key, population=population, set_by=set_by, set_at=now
                )
            )
        else:
            row.population, row.set_by, row.set_at = population, set_by, now

    async def clear_population(self, unit_code: str, period_key: str) -> bool:
        """Remove the coordinator's figure for the period (the region file's applies again)."""
        row = await self.session.get(UnitPopulation, (unit_code, period_key))
        if row is None:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True

    async def open_for_user(self, user_id: int) -> SurveyResponse | None:
        """The person's questionnaire left half-way (interrupted by another command), if any."""
        return (await self.session.execute(_OPEN_FOR_USER, {"uid": user_id})).scalar_one_or_none()

    async def populations(
        self, period_key: str, opd_code: str | None = None
    ) -> dict[str, tuple[int | None, int | None]]:
        """Every active unit's (coordinator's figure for the period, region file's yearly figure)."""
        stmt = (
            select(Unit.code, UnitPopulation.population, Unit.population)
            .outerjoin(
                UnitPopulation, and_(UnitPopulation.unit_code == Unit.code, UnitPopulation.period_key == period_key)
            )
            .where(Unit.active.is_(True))
        )
        if opd_code is not None:
            stmt = stmt.where(Unit.opd_code == opd_code)
        return {code: (_int_or_none(o), _int_or_none(y)) for code, o, y in (await self.session.execute(stmt)).all()}

    async def service_names(self, unit_codes: Sequence[str] | None = None) -> dict[str, str]:
        """Service code → name (active or not: old answers still name them)."""
        stmt = select(Service.code, Service.name)
        if unit_codes is not None:
            stmt = stmt.where(Service.unit_code.in_(list(unit_codes)))
        return dict((await self.session.execute(stmt)).all())

    # ---- quality, suggestions, tabulation (added for the IKM report and the XLSX export) ---
    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name

    @staticmethod
    def _complete_in(start: datetime, end: datetime):
        r = SurveyResponse
        return and_(r.status == "complete", r.finished_at >= start, r.finished_at < end)

    @staticmethod
    def _scope(where, unit_code: str | None, opd_code: str | None):
        if unit_code is not None:
            where = and_(where, SurveyResponse.unit_code == unit_code)
        if opd_code is not None:
            where = and_(where, SurveyResponse.opd_code == opd_code)
        return where

    def _segment(self, split: str):
        """The SQL expression of a split: the channel, or one profile field's value (NULL = not given)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return _segment_on(self._dialect, split, SurveyResponse)

    def _seconds(self):
        """Completion time in whole seconds (finished − started), rounded."""
        r = SurveyResponse
        if self._dialect == "postgresql":
            return cast(func.round(func.date_part("epoch", r.finished_at - r.started_at)), Integer)
        return cast(func.round((func.julianday(r.finished_at) - func.julianday(r.started_at)) * 86400), Integer)

    async def quality_moments(
        self,
        start: datetime,
        end: datetime,
        unit_code: str | None = None,
        opd_code: str | None = None,
        *,
        split: str | None = None,
        speeder_limits: dict[str, int] | None = None,
    ) -> list[UnitMoments]:
        """The moments of the quality report, per unit (``split=None``) or per unit and segment
        (``split`` = "channel" or a profile field), in three to five aggregate statements: no
        questionnaire leaves the database. Units (segments) without any questionnaire in the window
        are absent.

        ``speeder_limits`` (segments only): per unit, the completion time in whole seconds under
        which a questionnaire counts as a speeder (``bot.domain.skm.speeder_limit`` of the unit's median,
        known from the whole-unit pass); units without a limit have no speeders.
        """
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        r = SurveyResponse
        status, unit_key, user_key = await self._scan_columns(unit_code)
        unit_key = unit_key.label("unit_code")
        seg = self._segment(split).label("seg") if split is not None else None
        complete = self._scope(
            and_(status == "complete", r.finished_at >= start, r.finished_at < end), unit_code, opd_code
        )
        out: dict[tuple[str, str | None], UnitMoments] = {}

        def get(code: str, value: str | None = None) -> UnitMoments:
            m = out.get((code, value))
            if m is None:
                m = out[(code, value)] = UnitMoments(
                    unit_code=code,
                    split=split,
                    value=value,
                    by_profile={key: {} for key in PROFILE_KEYS} if split is None else {},
                )
                if split is not None:
                    m.timed = m.speeders = 0
            return m

        multi_period = await self._element_moments(get, out, complete, unit_key, seg, split)

        # 2. whole units: completion times (a histogram of whole seconds: exact median, any speeder
        #    threshold) and the respondent-profile distribution; segments: the speeders, from a
        #    histogram of the fast questionnaires only (under the largest of the units' limits)
        if split is None:
            await self._distributions(get, unit_key, complete)
        else:
            await self._speeders(get, unit_key, seg, complete, speeder_limits)

        # 3. incomplete questionnaires and people who answered more than once (per unit[, segment])
        await self._repeats(
            get, out, start, end, unit_code, opd_code, split, status, unit_key, seg, user_key, multi_period
        )
        return [out[key] for key in sorted(out, key=lambda kv: (kv[0], kv[1] is None, kv[1] or ""))]

    async def _scan_columns(self, unit_code: str | None) -> tuple[Any, Any, Any]:
        """The status, unit and user columns the quality scans group and filter by, per dialect."""
        r = SurveyResponse
        status, unit_key, user_key = r.status, r.unit_code, r.user_id
        if self._dialect == "sqlite":
            # SQLite would walk an index (random row lookups) to group by unit or to match
            # status = 'complete' (partial index); a report over many units reads 2-3x faster as
            # one table scan. Unary + keeps its planner off those indexes; the unit and OPD
            # filters still use theirs.
            status = literal_column("+survey_responses.status", String)
            user_key = literal_column("+survey_responses.user_id", Integer)
            if unit_code is None:
                unit_key = literal_column("+survey_responses.unit_code", String)
        else:
            # hash aggregation instead of sorts spilling to disk, and no JIT compilation (it costs
            # more than it saves on these scans): for this transaction only
            await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
            await self.session.execute(text("SET LOCAL jit = off"))
        return status, unit_key, user_key

    async def _element_moments(self, get, out, complete, unit_key, seg, split: str | None) -> list[str]:
        """Step 1 of :meth:`quality_moments`; returns the units whose window spans period keys."""
        r = SurveyResponse
        cols = [getattr(r, c) for c in ELEMENT_COLUMNS]
        k = len(cols)
        # 1. one GROUP BY over the complete questionnaires: element totals, straight-lining and the
        #    alpha moments. Grouping by the total T = u1 + … + u9 (28 values; NULL when an element
        #    is unanswered) makes Σu_i·T = T·Σu_i, so no row-level product is needed. Whole units
        #    also group by OPD, service and channel (IKM per OPD and service, channel distribution);
        #    min/max(period_key) tell whether duplicates are possible at all (step 3).
        total = cols[0]
        for c in cols[1:]:
            total = total + c
        straight = case((and_(*(cols[i] == cols[i + 1] for i in range(k - 1))), 1), else_=0)
        keys: list[Any] = [
            unit_key,
            *([r.opd_code, r.service_code, r.channel] if split is None else [seg]),
            total.label("t"),
        ]
        aggs: list[Any] = [
            func.count(),
            func.min(r.period_key),
            func.max(r.period_key),
            func.sum(straight),
            *(func.sum(c) for c in cols),
            *(func.count(c) for c in cols),
            *(func.sum(c * c) for c in cols),
        ]
        stmt = select(*keys, *aggs).where(complete).group_by(*keys)
        width = len(keys)
        periods: dict[str, set[str]] = {}
        acc: dict[tuple[str, str, str | None], list] = {}  # (unit, OPD, service) → [n, sums, counts]
        for row in (await self.session.execute(stmt)).all():
            code, *group, t = row[:width]
            n, first_key, last_key, n_straight, *rest = row[width:]
            periods.setdefault(code, set()).update((first_key, last_key))
            sums, counts, squares = rest[:k], rest[k : 2 * k], rest[2 * k : 3 * k]
            m = get(code, (group[0] or None) if split is not None else None)
            n = int(n)
            m.n_complete += n
            m.straightline += int(n_straight or 0)
            if split is None:
                opd, service, channel = group
                a = acc.setdefault((code, opd, service), [0, [0] * k, [0] * k])
                a[0] += n
                for i in range(k):
                    a[1][i] += int(sums[i] or 0)
                    a[2][i] += int(counts[i])
                m.by_channel[channel] = m.by_channel.get(channel, 0) + n
            else:
                m.timed += n
            if t is not None:
                t = int(t)
                m.n_full += n
                m.sums = tuple(a + int(b or 0) for a, b in zip(m.sums, sums, strict=False))
                m.squares = tuple(a + int(b or 0) for a, b in zip(m.squares, squares, strict=False))
                m.cross = tuple(a + t * int(b or 0) for a, b in zip(m.cross, sums, strict=False))
                m.t_sum += t * n
                m.t_squares += t * t * n
        for (code, opd, service), (n, sums, counts) in acc.items():
            out[(code, None)].groups[(opd, service)] = ElementTotals(
                key=service or "", responses=n, totals={f"U{i + 1}": (sums[i], counts[i]) for i in range(k)}
            )
        # a person completes at most once per unit and period key (partial unique index
        # uq_survey_once_per_period): duplicates are possible only where the window spans keys
        multi_period = sorted(code for code, keys_seen in periods.items() if len(keys_seen) > 1)
        return multi_period

    async def _speeders(self, get, unit_key, seg, complete, speeder_limits: dict[str, int] | None) -> None:
        """Segments: the speeders per unit and segment, under each unit's own limit."""
        limits = {u: int(v) for u, v in (speeder_limits or {}).items() if v is not None}
        if limits:
            seconds = self._seconds()
            stmt = (
                select(unit_key, seg, seconds.label("s"), func.count())
                .where(and_(complete, seconds < max(limits.values())))
                .group_by(unit_key, seg, seconds)
            )
            for code, value, sec, n in (await self.session.execute(stmt)).all():
                if code in limits and sec is not None and sec < limits[code]:
                    get(code, value or None).speeders += int(n)

    async def _distributions(self, get, unit_key, complete) -> None:
        """Per unit: the completion-time histogram and the count per value of each profile field
        (two statements, so that each gets its own parallel plan on PostgreSQL)."""
        r = SurveyResponse
        seconds = self._seconds()
        # the profile distribution: group by the profile's JSON text as stored (no JSON parsing per
        # row; a few hundred distinct texts per unit), then read each field from those groups
        texts = (
            select(unit_key, cast(r.profile, String).label("p"), func.count().label("n"))
            .where(complete)
            .group_by(unit_key, cast(r.profile, String))
            .cte("profiles")
            .prefix_with("MATERIALIZED")
        )
        hist = select(unit_key, seconds.label("s"), func.count()).where(complete).group_by(unit_key, seconds)
        for code, sec, n in (await self.session.execute(hist)).all():
            if sec is not None:
                get(code).durations[int(sec)] = int(n)
        parts = []
        for i, key in enumerate(PROFILE_KEYS):
            if self._dialect == "postgresql":
                value = cast(texts.c.p, JSON).op("->>")(literal(key, String))
            else:
                value = func.json_extract(texts.c.p, f'$."{key}"')
            parts.append(
                select(
                    texts.c.unit_code,
                    literal(i).label("f"),
                    cast(value, String).label("v"),
                    func.sum(texts.c.n).label("n"),
                ).group_by(texts.c.unit_code, value)
            )
        for code, f, v, n in (await self.session.execute(union_all(*parts))).all():
            m = get(code)
            key = PROFILE_KEYS[f]
            value = v if v not in (None, "") else None
            m.by_profile[key][value] = m.by_profile[key].get(value, 0) + int(n)

    async def _repeats(
        self, get, out, start, end, unit_code, opd_code, split, status, unit_key, seg, user_key, multi_period
    ) -> None:
        """Incomplete questionnaires and people who answered more than once, per unit[, segment].

        A person is a *repeat starter* when they started more than once and completed at most
        once, so they have an incomplete questionnaire: only those (few) rows are grouped per
        person, and each person's complete ones are counted through the unique index. *Duplicates*
        (more than one complete questionnaire) need a per-person pass only for the units whose
        window spans several period keys (``multi_period``).
        """
        r = SurveyResponse
        incomplete = self._scope(
            and_(status != "complete", r.started_at >= start, r.started_at < end), unit_code, opd_code
        )
        group = [unit_key] + ([seg] if seg is not None else [])
        pairs = (
            select(*group, r.user_id.label("user_id"), func.count().label("n_inc"))
            .where(incomplete)
            .group_by(*group, user_key)
            .subquery()
        )
        # a literal 'complete' (not a bound parameter) lets the planner use the partial unique
        # index uq_survey_once_per_period (user_id, unit_code, period_key) WHERE status = 'complete'
        c = aliased(SurveyResponse, name="done_r")
        c_unit, c_finished = c.unit_code, c.finished_at
        if self._dialect == "sqlite":  # not ix_survey_unit_finished: a whole unit's rows per person
            c_finished = literal_column("+done_r.finished_at", c.finished_at.type)
        same = [
            c.user_id == pairs.c.user_id,
            c_unit == pairs.c.unit_code,
            c.status == literal_column("'complete'", String),
            c_finished >= start,
            c_finished < end,
        ]
        if split is not None:
            same.append(_segment_on(self._dialect, split, c).is_not_distinct_from(pairs.c.seg))
        done = select(func.count()).select_from(c).where(*same).scalar_subquery()
        # materialized, so that the person's complete questionnaires are counted once per pair
        per = (
            select(
                *(pairs.c[name] for name in (["unit_code"] + (["seg"] if seg is not None else []))),
                pairs.c.n_inc,
                done.label("done"),
            )
            .cte("per_person")
            .prefix_with("MATERIALIZED")
        )
        outer = [per.c.unit_code] + ([per.c.seg] if seg is not None else [])
        stmt = select(
            *outer,
            func.sum(per.c.n_inc),
            func.sum(case((and_(per.c.n_inc + per.c.done > 1, per.c.done <= 1), 1), else_=0)),
        ).group_by(*outer)
        for row in (await self.session.execute(stmt)).all():
            code, value = row[0], ((row[1] or None) if seg is not None else None)
            m = get(code, value)
            m.n_incomplete, m.repeat_start_users = int(row[-2] or 0), int(row[-1] or 0)
        if not multi_period:
            return
        complete = and_(
            status == "complete", r.finished_at >= start, r.finished_at < end, r.unit_code.in_(multi_period)
        )
        per_user = (
            select(*group, func.count().label("n"))
            .where(self._scope(complete, unit_code, opd_code))
            .group_by(*group, user_key)
            .subquery()
        )
        outer = [per_user.c.unit_code] + ([per_user.c.seg] if seg is not None else [])
        stmt = select(*outer, func.sum(case((per_user.c.n > 1, 1), else_=0))).group_by(*outer)
        for row in (await self.session.execute(stmt)).all():
            code, value = row[0], ((row[1] or None) if seg is not None else None)
            if row[-1] and (code, value) in out:
                out[(code, value)].duplicate_users = int(row[-1])

    async def suggestions(
        self, start: datetime, end: datetime, unit_code: str | None = None, opd_code: str | None = None
    ) -> list[tuple[str, datetime, str]]:
        """(unit code, finished at, saran) of the complete questionnaires with a non-empty saran."""
        r = SurveyResponse
        where = self._scope(self._complete_in(start, end), unit_code, opd_code)
        where = and_(where, r.saran.is_not(None), func.length(func.trim(r.saran)) > 0)
        stmt = select(r.unit_code, r.finished_at, r.saran).where(where).order_by(r.unit_code, r.finished_at, r.id)
        return [(u, f, s.strip()) for u, f, s in (await self.session.execute(stmt)).all()]

    async def tabulation(
        self, unit_code: str, start: datetime, end: datetime, *, batch: int = 2000
    ) -> AsyncIterator[Any]:
        """The complete questionnaires of one unit, streamed in id order: rows with
        ``id, finished_at, channel, u1..u9, profile, service_code`` (attribute or tuple access)."""
        r = SurveyResponse
        stmt = (
            select(r.id, r.finished_at, r.channel, *(getattr(r, c) for c in ELEMENT_COLUMNS), r.profile, r.service_code)
            .where(self._complete_in(start, end), r.unit_code == unit_code)
            .order_by(r.id)
            .execution_options(yield_per=batch)
        )
        result = await self.session.stream(stmt)
        async for row in result:
            yield row
