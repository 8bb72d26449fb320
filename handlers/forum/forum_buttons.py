"""The forum feature's flow and step names, and its button values, built and parsed here only.

Most forum buttons are commands (``/forum 3 daftar``, ``/forum halaman 2``), so they work from any
flow and from old messages: :func:`parse_forum_args` reads them, the ``*_link`` functions write
them. Buttons inside a flow carry ``forum:``, ``forumbaru:`` or ``forumhasil:`` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import forum_rules as rules


class ForumFlow(StrEnum):
    NEW = "forumbaru"
    INPUT = "forummasukan"
    RSVP = "forumdaftar"  # the web chat only: the name staff will see, then the registration
    RESULT = "forumhasil"


class NewStep(StrEnum):
    OPD = "opd"
    TITLE = "title"
    TOPIC = "topic"
    WHEN = "when"
    PLACE = "place"
    CAPACITY = "capacity"
    DESCRIPTION = "description"
    AGENDA = "agenda"
    CONFIRM = "confirm"
    # the steps in between: the time of a day typed without one, the typed date read back,
    # and more lines for the description or the agenda
    WHEN_TIME = "when_time"
    WHEN_OK = "when_ok"
    DESCRIPTION_MORE = "description_more"
    AGENDA_MORE = "agenda_more"


#: the creation's questions after the OPD, in order
NEW_STEPS = (
    NewStep.TITLE,
    NewStep.TOPIC,
    NewStep.WHEN,
    NewStep.PLACE,
    NewStep.CAPACITY,
    NewStep.DESCRIPTION,
    NewStep.AGENDA,
    NewStep.CONFIRM,
)


class InputStep(StrEnum):
    MODE = "mode"
    NAME = "name"  # the web chat only, after "Dengan nama"
    TEXT = "text"


class ResultStep(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    CONFIRM = "confirm"


# ---- buttons inside the flows -------------------------------------------------------------------
INPUT_NAMED = "forum:mode:named"
INPUT_ANON = "forum:mode:anon"
AGENDA_OK = "forumbaru:agenda:ok"
#: while the agenda is edited from the summary: keep the one already written
AGENDA_KEEP = "forumbaru:agenda:keep"
WHEN_YES = "forumbaru:when:ok"
WHEN_AGAIN = "forumbaru:when:again"
#: no more lines for the description or the agenda
MORE_DONE = "forumbaru:more:done"
PUBLISH_FORUM = "forumbaru:publish"
_EDIT = "forumbaru:edit:"
RESULT_SKIP_PHOTO = "forumhasil:skip"
PUBLISH_RESULT = "forumhasil:publish"
_OPD = "forumbaru:opd:"


def opd_button(code: str) -> str:
    """The OPD choice of /forumbaru."""
    return _OPD + code


def opd_of(choice: str) -> str:
    """The OPD code an :func:`opd_button` value names."""
    return choice.removeprefix(_OPD)


def edit_button(step: str) -> str:
    """The summary's button that goes back to ``step`` (a :class:`NewStep`)."""
    return _EDIT + step


def edited_step(choice: str | None) -> NewStep | None:
    """The step an :func:`edit_button` value names, or None."""
    if not choice or not choice.startswith(_EDIT):
        return None
    value = choice.removeprefix(_EDIT)
    return NewStep(value) if value in NewStep.__members__.values() else None


# ---- commands as buttons --------------------------------------------------------------------------
class ForumAction(StrEnum):
    """``/forum <id> <action>`` (Indonesian word first, then the English alias)."""

    RSVP = "daftar"
    CANCEL = "batal"
    INPUT = "masukan"


_ACTION_WORDS = {
    "daftar": ForumAction.RSVP,
    "rsvp": ForumAction.RSVP,
    "batal": ForumAction.CANCEL,
    "cancel": ForumAction.CANCEL,
    "masukan": ForumAction.INPUT,
    "input": ForumAction.INPUT,
}
LIST_LINK = "/forum"
SUBSCRIPTIONS_LINK = "/forum langganan"
NEW_FORUM_LINK = "/forumbaru"


def forum_link(forum_id: int, action: ForumAction | None = None) -> str:
    """``/forum 3`` (details) or ``/forum 3 daftar``."""
    return f"/forum {forum_id}" + (f" {action.value}" if action else "")


def upcoming_link(page: int) -> str:
    return f"/forum halaman {page}"


def past_link(page: int) -> str:
    return f"/forum lalu {page}"


def subscribe_link(scope: str) -> str:
    """Toggle the subscription to ``scope`` (an OPD code or the whole region)."""
    return f"/forum langganan {scope}"


def result_link(forum_id: int) -> str:
    return f"/forumhasil {forum_id}"


class View(StrEnum):
    """What ``/forum ...`` asks for."""

    UPCOMING = "upcoming"
    PAST = "past"
    SUBSCRIPTIONS = "subscriptions"
    SUBSCRIBE = "subscribe"
    NO_ID = "no_id"
    FORUM = "forum"


@dataclass(frozen=True)
class ForumRequest:
    view: View
    page: int = 0
    #: the forum of View.FORUM, the scope of View.SUBSCRIBE
    forum_id: int | None = None
    scope: str = ""
    #: with View.FORUM: register, cancel or send input; None: the details
    action: ForumAction | None = None


def parse_id(text: str) -> int | None:
    """A forum number from the first word (``3`` or ``#3``), None if it is none."""
    word = (text or "").strip().split()[0] if (text or "").strip() else ""
    word = word.lstrip("#")
    return int(word) if word.isdecimal() and len(word) <= 12 else None


def parse_forum_args(args: str) -> ForumRequest:
    """``/forum`` lists; ``/forum 3`` details; ``/forum 3 daftar|batal|masukan``; ``/forum halaman 2``;
    ``/forum lalu``; ``/forum langganan [scope]``."""
    words = args.split()
    head = words[0].lower() if words else ""
    arg = words[1] if len(words) > 1 else ""
    page = int(arg) if arg.isdecimal() and len(arg) <= 4 else 0
    if not head:
        return ForumRequest(View.UPCOMING)
    if head in ("halaman", "page"):
        return ForumRequest(View.UPCOMING, page)
    if head in ("lalu", "past"):
        return ForumRequest(View.PAST, page)
    if head in ("langganan", "subscribe"):
        if not arg:
            return ForumRequest(View.SUBSCRIPTIONS)
        return ForumRequest(View.SUBSCRIBE, scope=arg if arg.lower() == rules.SCOPE_REGION else arg.upper())
    forum_id = parse_id(head)
    if forum_id is None:
        return ForumRequest(View.NO_ID)
    return ForumRequest(View.FORUM, forum_id=forum_id, action=_ACTION_WORDS.get(arg.lower()))
