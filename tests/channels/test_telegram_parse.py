"""The JSON fast path of Telegram parsing (:func:`bot.channels.telegram.telegram_parse.parse_raw`) against PTB's.

The polling loop reads text messages and button presses straight from the JSON and leaves every
other update to PTB and :func:`parse_update`. Both must give the same :class:`Inbound`: for the
updates the fake Bot API server builds, and for those updates with fields removed or replaced
by values of the wrong type (hypothesis), where the fast path must either agree with PTB or step
aside (return False).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.channels.telegram.telegram_parse import parse_raw, parse_update
from testkit.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:PARSE-test"
BOT = Bot(TOKEN)


def _ptb(item: dict[str, Any]):
    """What the PTB path makes of ``item``: an Inbound, None (not for us), or "unreadable"."""
    try:
        update = Update.de_json(copy.deepcopy(item), BOT)
        return parse_update(update) if update is not None else "unreadable"
    except Exception:
        return "unreadable"


def _corpus() -> list[dict[str, Any]]:
    tg = FakeTelegramServer(token=TOKEN)
    items = [
        tg.push_message(101, "halo"),
        tg.push_message(102, "/start skm_DISDUKCAPIL-PST", last_name="Santoso", username="budis", language_code="en"),
        tg.push_message(103, "Jalan rusak 🚧 <b>di</b> depan & pasar", language_code=None, last_name=None),
        tg.push_message(-1001234567890, "di grup", user_id=104),  # a supergroup: not for us
        tg.push_callback(101, "skm:a:0:4"),
        tg.push_callback(105, "consent:yes", first_name="Siti", last_name="Aminah", username=None),
        tg.push_photo(106, caption="foto"),
        tg.push_location(107, -6.2, 106.8),
        tg.push_contact(108, "+628123456789"),
        tg.push_sticker(109),
    ]
    # a button on a message too old for Telegram to send again (InaccessibleMessage: date 0)
    press = copy.deepcopy(tg.push_callback(110, "menu"))
    press["callback_query"]["message"] = {"message_id": 7, "date": 0, "chat": {"id": 110, "type": "private"}}
    items.append(press)
    # a button on an inline message: no message at all, the chat is the person
    inline = copy.deepcopy(tg.push_callback(111, "menu"))
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "AAA"
    items.append(inline)
    edited = copy.deepcopy(tg.push_message(112, "typo"))
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = edited["edited_message"]["date"] + 5
    items.append(edited)
    return items


CORPUS = _corpus()


def test_the_fast_path_agrees_with_ptb_on_every_shape_the_server_sends() -> None:
    fast_taken = 0
    for item in CORPUS:
        fast = parse_raw(copy.deepcopy(item))
        ptb = _ptb(item)
        if fast is False:
            continue
        fast_taken += 1
        assert ptb != "unreadable", item
        assert fast == ptb, item
    # text messages and button presses in private chats: 7 of the corpus must take the fast path
    assert fast_taken == 7


def test_the_fast_path_leaves_groups_photos_and_edits_to_ptb() -> None:
    slow = [item for item in CORPUS if parse_raw(copy.deepcopy(item)) is False]
    kinds = sorted(next(k for k in item if k != "update_id") for item in slow)
    assert kinds == ["edited_message", "message", "message", "message", "message", "message"]


_BAD_VALUES = st.sampled_from([None, 0, 1, True, "", "x", [], {}, [1], {"id": "1"}, -5, 1.5])


@st.composite
def _mutated(draw) -> dict[str, Any]:
    """A corpus update with one to three fields (at any depth) removed or set to a wrong type."""
    item = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 3))):
        node: Any = item
        path = []
        while isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            path.append(key)
            if key == "update_id" or not isinstance(node[key], dict) or draw(st.booleans()):
                break
            node = node[key]
        if not path or path == ["update_id"]:
            continue
        parent = item
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(draw(_BAD_VALUES))
    return item


_USER = ("id", "is_bot", "first_name", "last_name", "username", "language_code")


def _only(d: Any, keys: tuple[str, ...]) -> Any:
    return {k: d[k] for k in keys if k in d} if isinstance(d, dict) else d


def _read_part(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` cut down to the fields the fast path reads (the rest may be broken)."""
    out: dict[str, Any] = {"update_id": item["update_id"]}
    if "callback_query" in item:
        q = _only(item["callback_query"], ("id", "from", "message", "chat_instance", "data"))
        q["from"] = _only(q.get("from"), _USER)
        if "message" in q:
            q["message"] = _only(q["message"], ("message_id", "date", "chat"))
            q["message"]["chat"] = _only(q["message"]["chat"], ("id", "type"))
        out["callback_query"] = q
    else:
        m = _only(item["message"], ("message_id", "date", "chat", "from", "text"))
        m["chat"], m["from"] = _only(m["chat"], ("id", "type")), _only(m["from"], _USER)
        out["message"] = m
    return out


@hsettings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_on_broken_updates_the_fast_path_agrees_with_ptb_or_steps_aside(item: dict[str, Any]) -> None:
    """Where PTB reads the update, both agree. Where PTB cannot (a field the turn does not need is
    broken, e.g. the entities of the text), the fast path may still read it, but only from
    well-formed fields: its result is what PTB makes of those fields alone."""
    try:
        fast = parse_raw(copy.deepcopy(item))
    except Exception as exc:  # pragma: no cover - the assertion says what broke
        raise AssertionError(f"parse_raw raised {type(exc).__name__} on {item}") from exc
    if fast is False:
        return
    ptb = _ptb(item)
    if ptb == "unreadable":
        ptb = _ptb(_read_part(item))
    assert fast == ptb, item
