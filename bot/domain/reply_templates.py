"""Reply templates for officers: a named text with placeholders, offered when /balas or /selesai
asks for the answer.

Templates come from the region file (``[[templates]]`` for every OPD, ``[[opd.templates]]`` for one
OPD) and from ``/templat tambah`` (stored per OPD). An officer is offered their OPD's templates and
the region-wide ones, never another OPD's. Placeholders: ``{nomor}`` (the complaint's number) and
``{opd}`` (the OPD's name); nothing else in braces is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: a template's name: one word (letters, digits, - and _), so that "/templat hapus NAMA" names it
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_TEXT = 2000
PLACEHOLDERS = ("nomor", "opd")
_BRACES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Template:
    """``opd`` is the OPD whose officers are offered it, or None for every OPD."""

    name: str
    text: str
    opd: str | None = None
    stored: bool = False  # added with /templat (removable), not from the region file


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a template (English, for the region file's error list), else None."""
    if not NAME_RE.match(name or ""):
        return "expected one word of 1-40 letters, digits, - or _"
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be a template's text (English), else None."""
    if not text or not text.strip():
        return "required"
    if len(text) > MAX_TEXT:
        return f"at most {MAX_TEXT} characters, got {len(text)}"
    unknown = sorted({p for p in _BRACES.findall(text) if p not in PLACEHOLDERS})
    if unknown:
        return "unknown placeholder " + ", ".join("{" + u + "}" for u in unknown) + " (allowed: {nomor}, {opd})"
    return None


def parse_templates(items: Any, where: str, opd: str | None, problems: list[str]) -> list[Template]:
    """``[[templates]]`` (``opd`` None) or ``[[opd.templates]]`` tables: ``name`` and ``text``."""
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(f"{where}: expected [[...templates]] tables")
        return []
    out: list[Template] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{here}: expected a table with name and text")
            continue
        name = item.get("name") if isinstance(item.get("name"), str) else ""
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        if problem := name_problem(name):
            problems.append(f"{here}.name: {problem}, got {item.get('name')!r}")
        elif name.lower() in seen:
            problems.append(f"{here}.name: {name} appears twice")
        if problem := text_problem(text):
            problems.append(f"{here}.text: {problem}")
        seen.add(name.lower())
        out.append(Template(name, text.strip(), opd))
    return out


def offered(templates: Iterable[Template], opd: str | None) -> list[Template]:
    """The templates an officer of ``opd`` is offered: their OPD's first, then every OPD's; a name
    once (an OPD's own template wins over a region-wide one with the same name)."""
    own = [t for t in templates if opd is not None and t.opd == opd]
    every = [t for t in templates if t.opd is None]
    out: list[Template] = []
    names: set[str] = set()
    for t in [*own, *every]:
        if t.name.lower() not in names:
            names.add(t.name.lower())
            out.append(t)
    return out


def find(templates: Sequence[Template], typed: str) -> Template | None:
    """The template a typed name or list number names (case-insensitive), else None."""
    word = typed.strip().lower()
    if word.isdecimal() and 1 <= int(word) <= len(templates):
        return templates[int(word) - 1]
    return next((t for t in templates if t.name.lower() == word), None)


def fill(text: str, *, number: str, opd: str) -> str:
    """The template's text with ``{nomor}`` and ``{opd}`` filled in (nothing else is formatted)."""
    return text.replace("{nomor}", number).replace("{opd}", opd)
