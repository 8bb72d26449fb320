"""Typed answers at every step: the choices a person was last offered are remembered with their
conversation state, and a text that names one of them (its number, its words, "iya", "lewati", …:
see :mod:`bot.domain.typed`) reaches the flow as if that button had been pressed. "batal" and its
synonyms leave any flow, as ``/batal`` does.

What a flow receives is the pressed choice; the text as typed stays in ``Inbound.text``. A text
that names no choice reaches the flow unchanged (a description, an address, an age), and the flow
answers it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.domain.messages import Inbound, Kind
from bot.domain.typed import Means, Offered, match, meanings
from bot.engine.turn import ASKED_KEY, ENGINE_KEYS, OFFERED_KEY
from storage.models import ConversationState

#: a command the shared vocabulary stands for wherever it is typed
ALWAYS = {Means.CANCEL: "/batal"}


def offered(state: ConversationState) -> list[Offered]:
    rows = (state.data or {}).get(OFFERED_KEY) or []
    out: list[Offered] = []
    for row in rows:
        if isinstance(row, list) and len(row) == 3:
            label, value, means = row
            out.append(Offered(str(label), str(value), Means(means) if means in Means.__members__.values() else None))
    return out


def understand(inbound: Inbound, state: ConversationState) -> Inbound:
    """``inbound`` as the flow should see it: a typed text that names an offered choice becomes
    that choice; "batal" (and its synonyms) becomes ``/batal`` inside a flow."""
    if inbound.kind is not Kind.TEXT or not inbound.text or inbound.command is not None:
        return inbound
    picked = match(inbound.text, offered(state))
    if picked is not None:
        return replace(inbound, kind=Kind.CHOICE, choice=picked.value)
    if state.flow is not None:
        for means in meanings(inbound.text):
            if means in ALWAYS:
                return replace(inbound, kind=Kind.CHOICE, choice=ALWAYS[means])
    return inbound


#: ``Reply.extra`` key of a message that interrupts a question without replacing it ("Lanjutkan?")
ASIDE = "aside"
#: the longest question kept for "Lanjutkan" (longer ones are cut; the whole text is in the chat)
MAX_ASKED = 1500


def remember(state: ConversationState, replies: list[Any]) -> None:
    """Keep the choices of the last reply to the person that had any (none: forget them), so that
    the next typed text can be matched against what the person sees; inside a flow, keep the
    question too (the last such reply that is not an aside, ``extra["aside"]``, with its choices)
    for :meth:`bot.engine.turn.Turn.ask_again`."""
    choices: list[list[Any]] = []
    asked: Any = None
    for reply in replies:
        if reply.to_user_id is None and (reply.choices or not choices):
            choices = [[c.label, c.value, c.means] for c in reply.choices]
            if reply.text and not reply.extra.get(ASIDE):
                asked = {"text": reply.text[:MAX_ASKED], "title": reply.title, "choices": choices}
    data = state.data or {}
    if state.flow is None:
        asked = None
    elif asked is None:  # an aside, or no answer to the person: the question stays the same
        asked = data.get(ASKED_KEY)
    if data.get(OFFERED_KEY, []) == choices and data.get(ASKED_KEY) == asked:
        return
    new = {k: v for k, v in data.items() if k not in ENGINE_KEYS}
    if choices:
        new[OFFERED_KEY] = choices
    if asked:
        new[ASKED_KEY] = asked
    state.data = new
