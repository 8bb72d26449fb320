"""Cells that a spreadsheet must never read as a formula (CSV/formula injection).

Every XLSX and CSV export passes each value through :func:`safe_cell` (or a whole row through
:func:`safe_row`): a text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading single quote, so Excel, LibreOffice and openpyxl keep it as text. Real numbers (int, float,
Decimal) and dates are left alone, so a negative number stays a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: the first characters that make a spreadsheet evaluate a text cell (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_dangerous(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    return text.startswith(FORMULA_STARTS)


def safe_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: dangerous texts prefixed with ``'``, anything else unchanged."""
    if isinstance(value, str) and is_dangerous(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """:func:`safe_cell` applied to every value of a row."""
    return [safe_cell(v) for v in values]
