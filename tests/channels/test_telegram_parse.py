"""The JSON fast path of Telegram parsing (:func:`bot.channels.telegram.telegram_parse.parse_raw`) against PTB's.

The polling loop reads text messages and button presses straight from the JSON and leaves every
other update to PTB and :func:`parse_update`. Both must give the same :class:`Inbound`: for
recorded Bot API updates (``tests/data/telegram``, one per shape, each with the Inbound it must
give), for the updates the fake Bot API server builds, and for those updates with fields removed
or replaced by values of the wrong type (hypothesis), where the fast path must either agree with
PTB or step aside (return False).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.channels.telegram.telegram_parse import parse_raw, parse_update, read_updates, update_key
from bot.domain.messages import Contact, Inbound, Kind, Location, Photo, Voice
from testkit.fakes.telegram_api import FakeTelegramServer

TOKEN = "123456:PARSE-test"
BOT = Bot(TOKEN)
DATA = Path(__file__).parents[1] / "data" / "telegram"


def _ptb(item: dict[str, Any], bot_id: str = ""):
    """What the PTB path makes of ``item``: an Inbound, None (not for us), or "unreadable"."""
    try:
        update = Update.de_json(copy.deepcopy(item), BOT)
        return parse_update(update, bot_id) if update is not None else "unreadable"
    except Exception:
        return "unreadable"


# ---- recorded updates -------------------------------------------------------------------------
def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


SITI = {"user_key": "6123456789", "display_name": "Siti Aminah", "username": "siti_aminah", "language_hint": "id"}
PRESS = {**SITI, "kind": Kind.CHOICE, "received_at": None}
PHOTO = "AgACAgUAAxkBAAIEsGkZ0K1AAbcdefghijkl_large"

#: (file, taken by the fast path, what the update must become: the Inbound's fields, or None when
#: it is not a person talking to the bot)
RECORDED: list[tuple[str, bool, dict[str, Any] | None]] = [
    ("text.json", True, {**SITI, "kind": Kind.TEXT, "text": "Halo, saya mau melapor jalan rusak"}),
    ("command.json", True, {**SITI, "kind": Kind.TEXT, "text": "/start skm_DISDUKCAPIL-PST"}),
    (
        "text_formatted.json",
        True,
        {
            **SITI,
            "kind": Kind.TEXT,
            "text": "Jalan rusak 🚧 di depan pasar & SD <b>3</b>, lihat https://maps.app.goo.gl/xyz",
        },
    ),
    (
        "text_minimal_user.json",
        True,
        {"user_key": "6198765432", "display_name": "Budi", "username": None, "language_hint": None, "text": "halo"},
    ),
    ("callback_query.json", True, {**PRESS, "choice": "consent:yes"}),
    ("callback_query_inline.json", True, {**PRESS, "choice": "menu"}),
    ("callback_query_old_message.json", True, {**PRESS, "choice": "skm:a:0:4"}),
    (
        "photo.json",
        False,
        {**SITI, "kind": Kind.PHOTO, "photo": Photo(PHOTO, "Lubang di depan SD Negeri 3", "image/jpeg", 112544)},
    ),
    (
        "document_image.json",
        False,
        {
            **SITI,
            "kind": Kind.PHOTO,
            "photo": Photo("BQACAgUAAxkBAAIEsWkZ0LbDocImage", "foto asli", "image/png", 482133),
        },
    ),
    ("document.json", False, {**SITI, "kind": Kind.UNSUPPORTED, "unsupported_type": "document"}),
    ("location.json", False, {**SITI, "kind": Kind.LOCATION, "location": Location(-6.914744, 107.60981)}),
    (
        "venue.json",
        False,
        {**SITI, "kind": Kind.LOCATION, "location": Location(-6.917464, 107.619123, "Jl. Merdeka No. 1, Sukamaju")},
    ),
    ("contact.json", False, {**SITI, "kind": Kind.CONTACT, "contact": Contact("+6281298765432", "Budi")}),
    (
        "voice.json",
        False,
        {**SITI, "kind": Kind.VOICE, "voice": Voice("AwACAgUAAxkBAAIEs2kZ0NVoice", "audio/ogg", 4, 10240)},
    ),
    (
        "audio.json",
        False,
        {**SITI, "kind": Kind.VOICE, "voice": Voice("CQACAgUAAxkBAAIEu2kZ0P1AudioFile", "audio/mpeg", 95, 381440)},
    ),
    ("sticker.json", False, {**SITI, "kind": Kind.UNSUPPORTED, "unsupported_type": "sticker"}),
    ("animation.json", False, {**SITI, "kind": Kind.UNSUPPORTED, "unsupported_type": "animation"}),
    ("edited_message.json", False, {**SITI, "kind": Kind.UNSUPPORTED, "unsupported_type": "edited_message"}),
    ("forwarded.json", True, {**SITI, "kind": Kind.TEXT, "text": "Lampu jalan di RT 04 mati sejak seminggu"}),
    ("reply.json", True, {**SITI, "kind": Kind.TEXT, "text": "saya setuju"}),
    ("group_text.json", False, None),
    ("my_chat_member.json", False, None),
    ("channel_post.json", False, None),
]


def test_every_recorded_update_is_in_the_table() -> None:
    assert sorted(p.name for p in DATA.glob("*.json")) == sorted(name for name, _, _ in RECORDED)


@pytest.mark.parametrize(
    "name,fast_path,expected", RECORDED, ids=[name.removesuffix(".json") for name, _, _ in RECORDED]
)
def test_recorded_update_gives_the_same_inbound_both_ways(
    name: str, fast_path: bool, expected: dict[str, Any] | None
) -> None:
    item = load(name)
    ptb = _ptb(item)
    fast = parse_raw(copy.deepcopy(item))
    assert (fast is not False) is fast_path
    if fast is not False:
        assert fast == ptb
    if expected is None:
        assert ptb is None
        return
    assert isinstance(ptb, Inbound)
    assert (ptb.channel, ptb.external_id) == ("telegram", update_key("", item))
    for field, value in {"kind": Kind.TEXT, **expected}.items():
        if field == "received_at":  # a button press: Telegram says when the message was sent, not the press
            assert ptb.received_at is value
        else:
            assert getattr(ptb, field) == value, field
    message = item.get("message") or item.get("edited_message")
    if message is not None:
        assert ptb.received_at == datetime.fromtimestamp(message["date"], tz=UTC)


def test_a_batch_of_recorded_updates_reads_as_each_alone() -> None:
    """The polling loop's batch reader: every update in order, the fast path or PTB for each, the
    button presses' ids for answering them, and the last update id to confirm the batch with."""
    items = [load(name) for name, _, _ in RECORDED]
    updates, last = read_updates(copy.deepcopy(items), BOT)
    assert last == items[-1]["update_id"]
    expected = [
        (item["callback_query"]["id"] if "callback_query" in item else None, _ptb(item, "123456")) for item in items
    ]
    assert updates == expected


# ---- updates the fake server builds, and broken ones -----------------------------------------
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
        tg.push_voice(113, duration=42),
        tg.push_audio(114),
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
    assert kinds == ["edited_message", *["message"] * 7]


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
