"""The SKM questionnaire's flow and step names, and its button values ``skm:<action>[:<arg>]``:
built and parsed here only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PREFIX = "skm"
#: the argument of "Layanan lain" (no service named) and of a skipped profile question
NONE = "-"
#: the argument of "Lewati semua" on the first profile question
ALL = "all"


class SurveyFlow(StrEnum):
    QUESTIONNAIRE = "skm"


class Step(StrEnum):
    OPD = "opd"
    UNIT = "unit"
    SERVICE = "service"
    PROFILE = "profile"
    RESUME = "resume"
    QUESTION = "q"
    SARAN = "saran"


class Act(StrEnum):
    OPD = "opd"
    OPD_PAGE = "opdpage"
    UNIT = "unit"
    UNIT_PAGE = "unitpage"
    SERVICE = "svc"
    PROFILE = "p"
    ANSWER = "a"
    BACK = "back"
    RESUME = "resume"
    NEW = "new"
    NO_SARAN = "nosaran"


#: the actions that carry an argument (``skm:opd:PDAM``); the others are bare (``skm:back``)
WITH_ARG = frozenset({Act.OPD, Act.OPD_PAGE, Act.UNIT, Act.UNIT_PAGE, Act.SERVICE, Act.PROFILE, Act.ANSWER})
_ACTS = frozenset(a.value for a in Act)


def button(act: Act, *args: object) -> str:
    """The value of a button: ``button(Act.ANSWER, 2, 4)`` is ``skm:a:2:4``."""
    return ":".join((PREFIX, act.value, *(str(a) for a in args)))


def profile_button(index: int, option: int | str) -> str:
    """Option ``option`` (or ``NONE``: skipped) of profile question ``index``."""
    return button(Act.PROFILE, index, option)


@dataclass(frozen=True)
class Pressed:
    """A button of this flow: its action and what follows ``skm:<action>:`` (may hold colons)."""

    act: Act
    arg: str = ""

    def page(self) -> int:
        """The page of an ``opdpage``/``unitpage`` button (0 when not a number)."""
        return to_index(self.arg.rsplit(":", 1)[-1])

    def answer(self) -> tuple[int, int] | None:
        """(question index, answer value) of an answer button, None when malformed."""
        parts = self.arg.split(":")
        return (to_index(parts[0]), to_index(parts[1])) if len(parts) == 2 else None

    def profile_pick(self, index: int) -> str | None:
        """The option picked for profile question ``index`` (an option number or ``NONE``), None
        when the button belongs to another question."""
        head, sep, picked = self.arg.partition(":")
        return picked if sep and head == str(index) else None


def parse(value: str | None) -> Pressed | None:
    """The button ``value`` names, or None for anything that is not one of this flow's buttons."""
    parts = (value or "").split(":", 2)
    if len(parts) < 2 or parts[0] != PREFIX or parts[1] not in _ACTS:
        return None
    act = Act(parts[1])
    if (len(parts) == 3) != (act in WITH_ARG):
        return None
    return Pressed(act, parts[2] if len(parts) == 3 else "")


def to_index(text: str) -> int:
    """A page or answer number from a button: never negative, 0 when not a number."""
    try:
        return max(int(text), 0)
    except ValueError:
        return 0
