"""The region's typed settings: ``SlaConfig`` (the ``[sla]`` table: deadlines in days, working or
calendar days) and ``SkmConfig`` (the ``[skm]`` table: report period, weight, population basis).

The defaults live here and only here. ``parse`` builds a config from the TOML table (or its stored
form, ``as_dict()``), records each invalid value with its place and keeps the default for it. Both
are read-only mappings of their stored form as well (``sla["triage_days"]``), so code written
against the stored dict still reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bot.domain.skm import PERIOD_KINDS, POPULATION_BASES, WEIGHTS

DEFAULT_COMPLETION_DAYS: Mapping[str, int] = {"keluhan": 5, "sengketa": 14, "lapangan": 60}
SLA_DAY_KEYS = (
    "triage_days",
    "first_response_days",
    "confirmation_days",
    "reminder_before_days",
    "escalation_margin_days",
    "fixed_check_days",
    "kinerja_window_days",
    "kinerja_flag_days",
)
#: keys of ``SLA_DAY_KEYS`` whose smallest value is not 0
SLA_DAY_MINIMUM = {"kinerja_window_days": 1}
MISSING_RULES = ("drop", "require")


class _StoredForm(Mapping[str, Any]):
    """A frozen dataclass read as the mapping of its fields (its stored form)."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        value = getattr(self, key)
        return dict(value) if isinstance(value, Mapping) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        """The stored form (JSON-ready), as ``region.config`` keeps it."""
        return {key: self[key] for key in self}


def _table(raw: Any, name: str, problems: list[str]) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{name}: expected a table")
        return {}
    return raw


def _whole(table: Mapping[str, Any], key: str, default: int, minimum: int, where: str, problems: list[str]) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or value < minimum:
        problems.append(f"{where}: expected a whole number ≥ {minimum}, got {value!r}")
        return default
    return value


def _one_of(table: Mapping[str, Any], key: str, default: str, allowed: tuple[str, ...]) -> tuple[str, bool]:
    value = table.get(key, default)
    return (value, True) if value in allowed else (default, False)


@dataclass(frozen=True, eq=True)
class SlaConfig(_StoredForm):
    """Deadlines of a complaint, in working days unless ``working_days`` is false."""

    working_days: bool = True
    triage_days: int = 3
    first_response_days: int = 3
    completion_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COMPLETION_DAYS))
    confirmation_days: int = 10  # UNCONFIRMED in the domain notes: configurable default
    reminder_before_days: int = 1
    escalation_margin_days: int = 2
    #: "Sudah beres?": working days after closing that the reporter is asked whether the problem is
    #: really solved (0: never). UNCONFIRMED in the domain notes: configurable default
    fixed_check_days: int = 10
    #: per-OPD override of ``fixed_check_days`` (``[[opd]] fixed_check_days``; code → days)
    fixed_check_by_opd: Mapping[str, int] = field(default_factory=dict)
    #: /kinerja and the digest: the window of the on-time shares (calendar days) and the red flag:
    #: a complaint this many working days without a first response
    kinerja_window_days: int = 30
    kinerja_flag_days: int = 6

    @classmethod
    def parse(cls, raw: Any, problems: list[str] | None = None) -> SlaConfig:
        """From the ``[sla]`` table; missing keys take the defaults, ``completion_days`` is merged
        over the default classes. Invalid values are listed in ``problems`` and replaced by the default."""
        problems = [] if problems is None else problems
        table = _table(raw, "sla", problems)
        days = {
            key: _whole(table, key, getattr(cls, key), SLA_DAY_MINIMUM.get(key, 0), f"sla.{key}", problems)
            for key in SLA_DAY_KEYS
        }
        completion = dict(DEFAULT_COMPLETION_DAYS)
        for klass, value in _table(table.get("completion_days"), "sla.completion_days", problems).items():
            completion[klass] = _whole(
                {klass: value},
                klass,
                DEFAULT_COMPLETION_DAYS.get(klass, 1),
                1,
                f"sla.completion_days.{klass}",
                problems,
            )
        working = table.get("working_days", True)
        if not isinstance(working, bool):
            problems.append("sla.working_days: expected true or false")
            working = True
        by_opd = {
            str(code): _whole({code: value}, code, cls.fixed_check_days, 0, f"sla.fixed_check_by_opd.{code}", problems)
            for code, value in _table(table.get("fixed_check_by_opd"), "sla.fixed_check_by_opd", problems).items()
        }
        return cls(working_days=working, completion_days=completion, fixed_check_by_opd=by_opd, **days)

    def fixed_check_days_for(self, opd_code: str | None) -> int:
        """Working days after closing that the reporter of ``opd_code``'s complaint is asked "Sudah
        beres?" (0: not asked)."""
        return int(self.fixed_check_by_opd.get(opd_code or "", self.fixed_check_days))

    def completion_days_for(self, klass: str) -> int:
        """Working (or calendar) days to complete a complaint of ``klass`` (unknown class: a keluhan's)."""
        return int(self.completion_days.get(klass, self.completion_days["keluhan"]))


@dataclass(frozen=True, eq=True)
class SkmConfig(_StoredForm):
    """How the SKM is run and reported in the region."""

    period: str = "semester"  # month | quarter | semester | year
    repeat_interval: str = "period"  # one questionnaire per person per unit per period
    weight: str = "exact"  # exact 1/9 | annex 0.111
    population_basis: str = "year"  # the unit's population is per year (prorated) | per period
    missing: str = "drop"  # an element without answers drops out of the IKM | no IKM until all have answers

    @classmethod
    def parse(cls, raw: Any, problems: list[str] | None = None) -> SkmConfig:
        """From the ``[skm]`` table; invalid values are listed in ``problems`` and replaced by the default."""
        problems = [] if problems is None else problems
        table = _table(raw, "skm", problems)
        period, ok = _one_of(table, "period", cls.period, PERIOD_KINDS)
        if not ok:
            problems.append(f"skm.period: expected month, quarter, semester or year, got {table['period']!r}")
        weight, ok = _one_of(table, "weight", cls.weight, WEIGHTS)
        if not ok:
            problems.append(f"skm.weight: expected exact (1/9) or annex (0.111), got {table['weight']!r}")
        basis, ok = _one_of(table, "population_basis", cls.population_basis, POPULATION_BASES)
        if not ok:
            problems.append(f"skm.population_basis: expected year or period, got {table['population_basis']!r}")
        missing, ok = _one_of(table, "missing", cls.missing, MISSING_RULES)
        if not ok:
            problems.append(f"skm.missing: expected drop or require, got {table['missing']!r}")
        repeat = table.get("repeat_interval", cls.repeat_interval)
        return cls(period=period, repeat_interval=repeat, weight=weight, population_basis=basis, missing=missing)
