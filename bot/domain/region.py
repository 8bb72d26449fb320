"""The region file (TOML): OPDs, service units, services, routing keywords, SLA and extra holidays.

``load_region_file`` validates the whole file and reports every problem with its place, so a
coordinator editing it by hand gets "opd[3].unit[1].code: ..." instead of a stack trace.
"""

from __future__ import annotations

import base64
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.public_rules import DEFAULT_K, check_k
from bot.domain.region_config import SkmConfig, SlaConfig
from bot.domain.reply_templates import Template, parse_templates
from bot.domain.routing import Outside

#: the emergency number shown in the web chat's header unless the region file names another
DEFAULT_EMERGENCY = "112"
MAX_CONTACT = 200
MAX_LOGO = 64 * 1024
LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
CODE_RE = re.compile(r"^[A-Z0-9-]{1,20}$")
SERVICE_CODE_RE = re.compile(r"^[A-Z0-9-]{1,32}$")
LAPOR_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class RegionError(Exception):
    """The region file is invalid; ``problems`` lists every error with its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5]) + (f"; … {len(problems) - 5} more" if len(problems) > 5 else "")
        super().__init__(f"{source}: {shown}")


@dataclass(frozen=True)
class ServiceDef:
    code: str
    name: str


@dataclass(frozen=True)
class UnitDef:
    code: str
    name: str
    population: int | None
    services: tuple[ServiceDef, ...]


@dataclass(frozen=True)
class OpdDef:
    code: str
    name: str
    keywords: tuple[str, ...]
    units: tuple[UnitDef, ...]
    lapor_topic: str | None = None  # the SP4N-LAPOR! topic id of its complaints
    lapor_instansi: str | None = None  # its instansi id in SP4N-LAPOR! (dispositions to it)
    fixed_check_days: int | None = None  # "Sudah beres?" after this many working days (None: [sla]'s)
    templates: tuple[Template, ...] = ()  # the OPD's reply templates ([[opd.templates]])


@dataclass(frozen=True)
class LaporMap:
    """The region file's SP4N-LAPOR! ids: ``[lapor]`` (``instansi_id`` of the Pemda,
    ``default_topic``) and each OPD's ``lapor_topic`` / ``lapor_instansi``."""

    instansi_id: str | None = None
    default_topic: str | None = None
    opd_topics: dict[str, str] = field(default_factory=dict)
    opd_instansi: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "instansi_id": self.instansi_id,
            "default_topic": self.default_topic,
            "opd_topics": dict(self.opd_topics),
            "opd_instansi": dict(self.opd_instansi),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> LaporMap:
        raw = raw or {}
        return cls(
            raw.get("instansi_id"),
            raw.get("default_topic"),
            dict(raw.get("opd_topics") or {}),
            dict(raw.get("opd_instansi") or {}),
        )

    def topic_for(self, opd_code: str | None) -> str | None:
        return self.opd_topics.get(opd_code or "") or self.default_topic

    def instansi_for(self, opd_code: str | None) -> str | None:
        return self.opd_instansi.get(opd_code or "") or self.instansi_id

    def opd_for(self, instansi_id: str | None, topic_id: str | None) -> str | None:
        """The OPD a report disposed in LAPOR! belongs to: by its instansi, else by a topic only one
        OPD has; None: the coordinators' triage."""
        for code, inst in self.opd_instansi.items():
            if instansi_id and inst == instansi_id:
                return code
        owners = [code for code, topic in self.opd_topics.items() if topic_id and topic == topic_id]
        return owners[0] if len(owners) == 1 else None


@dataclass(frozen=True)
class PublicInfo:
    """What the web chat's header shows: the Pemda's contact, emergency number and logo."""

    contact: str | None = None
    emergency: str = DEFAULT_EMERGENCY
    logo: str | None = None  # a data: URL (the file named in the region file, read at load)
    publik_k: int = DEFAULT_K  # the public page's k-anonymity threshold (smaller counts are not shown)

    def as_dict(self) -> dict[str, Any]:
        return {"contact": self.contact, "emergency": self.emergency, "logo": self.logo, "publik_k": self.publik_k}


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    timezone: str
    sla: SlaConfig
    skm: SkmConfig
    holidays: tuple[tuple[date, str], ...]
    opds: tuple[OpdDef, ...] = field(default=())
    public: PublicInfo = field(default_factory=lambda: PublicInfo())
    outside: tuple[Outside, ...] = field(default=())  # bodies outside the Pemda ([[outside]])
    lapor: LaporMap = field(default_factory=LaporMap)  # SP4N-LAPOR! ids ([lapor], opd.lapor_*)
    templates: tuple[Template, ...] = field(default=())  # reply templates for every OPD ([[templates]])

    def all_templates(self) -> list[Template]:
        """Every reply template of the file: region-wide ones and each OPD's."""
        return [*self.templates, *(t for o in self.opds for t in o.templates)]

    def config(self) -> dict[str, Any]:
        return {
            "sla": self.sla.as_dict(),
            "skm": self.skm.as_dict(),
            "holidays": [{"date": d.isoformat(), "name": n} for d, n in self.holidays],
            "public": self.public.as_dict(),
            "outside": [
                {"code": o.code, "name": o.name, "markers": list(o.markers), "lapor": o.lapor} for o in self.outside
            ],
            "lapor": self.lapor.as_dict(),
            "templates": [{"opd": t.opd, "name": t.name, "text": t.text} for t in self.all_templates()],
        }

    def opd_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "code": o.code,
                "name": o.name,
                "keywords": list(o.keywords),
                "units": [
                    {
                        "code": u.code,
                        "name": u.name,
                        "population": u.population,
                        "services": [{"code": s.code, "name": s.name} for s in u.services],
                    }
                    for u in o.units
                ],
            }
            for o in self.opds
        ]


def demo_region_path() -> Path:
    return Path(str(resources.files("bot") / "data" / "demo_region.toml"))


def load_region_file(path: str | Path | None = None) -> Region:
    p = Path(path) if path else demo_region_path()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegionError(str(p), ["file not found"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RegionError(str(p), [f"not valid TOML: {exc}"]) from None
    return parse_region(raw, source=str(p), folder=p.parent)


def _s(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _check_code(
    where: str,
    value: Any,
    seen: set[str],
    problems: list[str],
    pattern: re.Pattern = CODE_RE,
    rule: str = "1-20 of A-Z 0-9 -",
) -> str:
    """Validate one code field; records the problem and returns the code (possibly empty)."""
    code = _s(value) or ""
    if not pattern.match(code):
        problems.append(f"{where}: expected {rule}, got {value!r}")
    elif code in seen:
        problems.append(f"{where}: {code} appears twice")
    seen.add(code)
    return code


def parse_region(raw: dict[str, Any], *, source: str = "region", folder: Path | None = None) -> Region:
    problems: list[str] = []
    reg = raw.get("region")
    if not isinstance(reg, dict):
        raise RegionError(source, ["[region] table missing"])
    code = _s(reg.get("code")) or ""
    if not CODE_RE.match(code):
        problems.append(f"region.code: expected 1-20 of A-Z 0-9 -, got {reg.get('code')!r}")
    name = _s(reg.get("name"))
    if not name:
        problems.append("region.name: required")
    tz = _s(reg.get("timezone")) or "Asia/Jakarta"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"region.timezone: unknown time zone {tz!r}")
    sla = SlaConfig.parse(raw.get("sla"), problems)
    skm = SkmConfig.parse(raw.get("skm"), problems)
    holidays = _parse_holidays(raw.get("holiday") or [], problems)
    opds = _parse_opds(raw.get("opd") or [], problems)
    overrides = {o.code: o.fixed_check_days for o in opds if o.fixed_check_days is not None}
    if overrides:
        sla = replace(sla, fixed_check_by_opd={**sla.fixed_check_by_opd, **overrides})
    outside = _parse_outside(raw.get("outside") or [], {o.code for o in opds}, problems)
    public = _parse_public(reg, folder, problems)
    lapor = _parse_lapor(raw.get("lapor"), opds, problems)
    templates = parse_templates(raw.get("templates"), "templates", None, problems)
    if problems:
        raise RegionError(source, problems)
    return Region(
        code=code,
        name=name or code,
        timezone=tz,
        sla=sla,
        skm=skm,
        holidays=tuple(sorted(holidays)),
        opds=tuple(opds),
        public=public,
        outside=tuple(outside),
        lapor=lapor,
        templates=tuple(templates),
    )


def _parse_public(reg: dict[str, Any], folder: Path | None, problems: list[str]) -> PublicInfo:
    """``contact``, ``emergency`` and ``logo`` (a PNG, JPEG, WebP or SVG file beside the region
    file, at most 64 KB) of the ``[region]`` table."""
    contact = _s(reg.get("contact"))
    if contact is not None and len(contact) > MAX_CONTACT:
        problems.append(f"region.contact: at most {MAX_CONTACT} characters")
    emergency = _s(reg.get("emergency")) or DEFAULT_EMERGENCY
    if len(emergency) > 20:
        problems.append("region.emergency: at most 20 characters (a phone number)")
    logo = None
    name = _s(reg.get("logo"))
    if name:
        mime = LOGO_TYPES.get(Path(name).suffix.lower())
        path = (folder or Path(".")) / name
        if mime is None:
            problems.append(f"region.logo: expected a .png, .jpg, .webp or .svg file, got {name!r}")
        elif not path.is_file():
            problems.append(f"region.logo: file not found: {name}")
        elif path.stat().st_size > MAX_LOGO:
            problems.append(f"region.logo: at most {MAX_LOGO // 1024} KB")
        else:
            logo = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
    k = reg.get("publik_k", DEFAULT_K)
    if (problem := check_k(k)) is not None:
        problems.append(f"region.publik_k: {problem}")
        k = DEFAULT_K
    return PublicInfo(contact=contact, emergency=emergency, logo=logo, publik_k=k)


def _parse_holidays(items: list[Any], problems: list[str]) -> list[tuple[date, str]]:
    holidays: list[tuple[date, str]] = []
    for i, h in enumerate(items):
        d = h.get("date") if isinstance(h, dict) else None
        if isinstance(d, str):
            try:
                d = date.fromisoformat(d)
            except ValueError:
                d = None
        if not isinstance(d, date):
            problems.append(f"holiday[{i}].date: expected YYYY-MM-DD")
            continue
        holidays.append((d, _s(h.get("name")) or "Libur daerah"))
    return holidays


def _parse_opds(items: list[Any], problems: list[str]) -> list[OpdDef]:
    opds: list[OpdDef] = []
    seen_units: set[str] = set()
    seen_services: set[str] = set()
    seen_opds: set[str] = set()
    for i, o in enumerate(items):
        where = f"opd[{i}]"
        ocode = _check_code(f"{where}.code", o.get("code"), seen_opds, problems)
        oname = _s(o.get("name"))
        if not oname:
            problems.append(f"{where}.name: required")
        kws = o.get("keywords") or []
        if not isinstance(kws, list) or not all(isinstance(k, str) and k.strip() for k in kws):
            problems.append(f"{where}.keywords: expected a list of words")
            kws = []
        units = [
            _parse_unit(f"{where}.unit[{j}]", u, seen_units, seen_services, problems)
            for j, u in enumerate(o.get("unit") or [])
        ]
        fixed = o.get("fixed_check_days")
        if fixed is not None and (not isinstance(fixed, int) or isinstance(fixed, bool) or fixed < 0):
            problems.append(f"{where}.fixed_check_days: expected a whole number ≥ 0 (0: never ask), got {fixed!r}")
            fixed = None
        templates = parse_templates(o.get("templates"), f"{where}.templates", ocode, problems)
        opds.append(
            OpdDef(
                ocode,
                oname or ocode,
                tuple(k.strip().lower() for k in kws),
                tuple(units),
                lapor_topic=_lapor_id(f"{where}.lapor_topic", o.get("lapor_topic"), problems),
                lapor_instansi=_lapor_id(f"{where}.lapor_instansi", o.get("lapor_instansi"), problems),
                fixed_check_days=fixed,
                templates=tuple(templates),
            )
        )
    if not opds:
        problems.append("opd: at least one [[opd]] is required")
    return opds


def _parse_outside(items: Any, opd_codes: set[str], problems: list[str]) -> list[Outside]:
    """``[[outside]]``: a body outside the Pemda (code, name, markers, lapor) whose markers send a
    complaint to triage with that body suggested, and which /luar closes it to."""
    if not isinstance(items, list):
        problems.append("outside: expected [[outside]] tables")
        return []
    out: list[Outside] = []
    seen: set[str] = set()
    for i, o in enumerate(items):
        where = f"outside[{i}]"
        if not isinstance(o, dict):
            problems.append(f"{where}: expected a table")
            continue
        code = _check_code(f"{where}.code", o.get("code"), seen, problems)
        if code in opd_codes:
            problems.append(f"{where}.code: {code} is an OPD's code; an outside body needs its own")
        name = _s(o.get("name"))
        if not name:
            problems.append(f"{where}.name: required (how a citizen is told where to go)")
        markers = o.get("markers")
        if not isinstance(markers, list) or not markers or not all(isinstance(m, str) and m.strip() for m in markers):
            problems.append(f"{where}.markers: expected a non-empty list of words")
            markers = []
        lapor = o.get("lapor", True)
        if not isinstance(lapor, bool):
            problems.append(f"{where}.lapor: expected true or false, got {lapor!r}")
            lapor = True
        out.append(Outside(code, name or code, tuple(m.strip().lower() for m in markers), lapor))
    return out


def _lapor_id(where: str, value: Any, problems: list[str]) -> str | None:
    """An SP4N-LAPOR! id (a number or a short code), or None when absent."""
    if value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not LAPOR_ID_RE.match(text):
        problems.append(f"{where}: expected a SP4N-LAPOR! id (1-32 of A-Z a-z 0-9 _ -), got {value!r}")
        return None
    return text


def _parse_lapor(raw: Any, opds: list[OpdDef], problems: list[str]) -> LaporMap:
    """``[lapor]`` (``instansi_id``, ``default_topic``) with the OPDs' ``lapor_topic`` and
    ``lapor_instansi``: a disposition from LAPOR! finds its OPD by its instansi, so no two share one."""
    if raw is not None and not isinstance(raw, dict):
        problems.append("lapor: expected a [lapor] table")
        raw = None
    raw = raw or {}
    for key in sorted(set(raw) - {"instansi_id", "default_topic"}):
        problems.append(f"lapor.{key}: unknown key (known: instansi_id, default_topic)")
    instansi = _lapor_id("lapor.instansi_id", raw.get("instansi_id"), problems)
    topic = _lapor_id("lapor.default_topic", raw.get("default_topic"), problems)
    owner: dict[str, int] = {}
    for i, o in enumerate(opds):
        if o.lapor_instansi is None:
            continue
        if o.lapor_instansi == instansi:
            problems.append(
                f"opd[{i}].lapor_instansi: {o.lapor_instansi} is the Pemda's lapor.instansi_id; an OPD needs its own"
            )
        elif o.lapor_instansi in owner:
            problems.append(
                f"opd[{i}].lapor_instansi: {o.lapor_instansi} is also opd[{owner[o.lapor_instansi]}]'s; "
                "each OPD needs its own"
            )
        owner.setdefault(o.lapor_instansi, i)
    mapped = [o for o in opds if o.lapor_topic or o.lapor_instansi]
    if mapped and raw.get("instansi_id") is None:
        problems.append("lapor.instansi_id: required when an OPD has lapor_topic or lapor_instansi")
    return LaporMap(
        instansi,
        topic,
        {o.code: o.lapor_topic for o in opds if o.lapor_topic},
        {o.code: o.lapor_instansi for o in opds if o.lapor_instansi},
    )


def _parse_unit(uwhere: str, u: Any, seen_units: set[str], seen_services: set[str], problems: list[str]) -> UnitDef:
    ucode = _check_code(f"{uwhere}.code", u.get("code"), seen_units, problems)
    uname = _s(u.get("name"))
    if not uname:
        problems.append(f"{uwhere}.name: required")
    pop = u.get("population")
    if pop is not None and (not isinstance(pop, int) or pop < 0):
        problems.append(f"{uwhere}.population: expected a whole number ≥ 0")
        pop = None
    services: list[ServiceDef] = []
    for k, s in enumerate(u.get("services") or []):
        s = s if isinstance(s, dict) else {}
        scode = _check_code(
            f"{uwhere}.services[{k}].code",
            s.get("code"),
            seen_services,
            problems,
            SERVICE_CODE_RE,
            "1-32 of A-Z 0-9 -",
        )
        sname = _s(s.get("name"))
        if not scode:
            continue
        if not sname:
            problems.append(f"{uwhere}.services[{k}].name: required")
        services.append(ServiceDef(scode, sname or scode))
    return UnitDef(ucode, uname or ucode, pop, tuple(services))
