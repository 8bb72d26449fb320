"""Telegram updates → :class:`~bot.domain.messages.Inbound`: the two parsers, side by side.

:func:`parse_update` reads PTB's :class:`telegram.Update` and knows every shape the bot answers.
:func:`parse_raw` is the fast path of the polling loop: a private text message or a button press,
read straight from the JSON without building PTB's objects (that was about 6 % of a flow turn's
CPU); anything else, or anything whose fields are not of the documented types, it leaves to PTB
(returns False). Where both read an update they must give the same Inbound: checked against the
recorded updates in ``tests/data/telegram`` and against broken ones (``tests/channels/test_telegram_parse.py``).
Nothing of PTB or of the Bot API's JSON passes this module.

Dedupe keys (:func:`message_key`, :func:`press_key`) are unique over time, never the update id:
Telegram starts update ids again at a random number after a week without updates, and a second
bot on the same database counts from its own start. A message is ``m<bot id>:<chat id>:<message
id>`` (message ids never repeat within a bot's chat), an edit ``e…:<edit date>``, a button press
``q<bot id>:<callback query id>`` (globally unique). The update id is only a last resort for an
update without either (``u<bot id>:<update id>``), which the dedupe horizon bounds.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from telegram import Bot, Update

from bot.domain.messages import Contact, Inbound, Kind, Location, Photo, Voice

log = logging.getLogger(__name__)

CHANNEL = "telegram"
#: media a person may send that the bot cannot read, in the order they are looked for (a voice
#: note or audio file only when its file id is unusable: see :func:`_voice`)
UNSUPPORTED_KINDS = (
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "document",
    "poll",
    "dice",
    "game",
)

#: one update of a batch: the id of its button press to answer (or None) and its Inbound (or None)
ReadUpdate = tuple[str | None, Inbound | None]


# ---- dedupe keys -------------------------------------------------------------------------------
def bot_id_of(token: str) -> str:
    """The bot's user id: the numeric part of its token (``123456:ABC…`` → ``123456``)."""
    return token.split(":", 1)[0]


def message_key(bot_id: str, chat_id: Any, message_id: Any, edit_date: Any = None) -> str:
    """The dedupe key of a message (``edit_date``: of an edit of it), unique over time."""
    key = f"m{bot_id}:{chat_id}:{message_id}"
    return key if edit_date is None else "e" + key[1:] + f":{edit_date}"


def press_key(bot_id: str, query_id: Any) -> str:
    """The dedupe key of a button press: its callback query id (unique over time)."""
    return f"q{bot_id}:{query_id}"


def update_key(bot_id: str, item: dict[str, Any]) -> str:
    """The dedupe key of a raw update (what the parsers give its Inbound); the update id only
    for an update that has neither a message nor a button press."""
    q = item.get("callback_query")
    if isinstance(q, dict) and q.get("id") is not None:
        return press_key(bot_id, q["id"])
    for field, edited in (("message", False), ("edited_message", True)):
        msg = item.get(field)
        if isinstance(msg, dict) and isinstance(msg.get("chat"), dict) and msg.get("message_id") is not None:
            edit = msg.get("edit_date", 0) if edited else None
            return message_key(bot_id, msg["chat"].get("id"), msg["message_id"], edit)
    return f"u{bot_id}:{item.get('update_id')}"


# ---- PTB's Update -> Inbound ------------------------------------------------------------------
def _str(value: Any) -> str | None:
    """A field Telegram documents as a string, else None: PTB does not check the types it reads."""
    return value if isinstance(value, str) else None


def _button_press(update: Update, bot_id: str) -> Inbound:
    q = update.callback_query
    chat_id = q.message.chat.id if q.message is not None else q.from_user.id
    return Inbound(
        channel=CHANNEL,
        user_key=str(chat_id),
        external_id=press_key(bot_id, q.id),
        kind=Kind.CHOICE,
        choice=_str(q.data) or "",
        language_hint=_str(q.from_user.language_code),
        display_name=q.from_user.full_name,
        username=_str(q.from_user.username),
    )


def _seconds_of(medium: Any) -> int | None:
    """A voice note's or audio file's ``duration`` in whole seconds, read from its Bot API form:
    PTB's attribute warns (it becomes a timedelta in a future version) and may be either."""
    value = medium.to_dict().get("duration")
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value if type(value) is int else None


def _voice(msg: Any) -> Voice | None:
    """A voice note, or an audio file (music-player audio: also someone speaking, often)."""
    medium = msg.voice or msg.audio
    if medium is None or not isinstance(medium.file_id, str) or not 0 < len(medium.file_id) <= 256:
        return None
    return Voice(
        file_ref=medium.file_id,
        mime_type=_str(medium.mime_type) or ("audio/ogg" if msg.voice else None),
        duration=_seconds_of(medium),
        size=medium.file_size if type(medium.file_size) is int else None,
    )


def _media(msg: Any, base: dict[str, Any]) -> Inbound | None:
    """A photo, an image sent as a file, a voice note or audio file, a location or a contact;
    None for anything else."""
    if msg.photo:
        best = msg.photo[-1]
        photo = Photo(file_ref=best.file_id, caption=msg.caption, size=best.file_size, mime_type="image/jpeg")
        return Inbound(kind=Kind.PHOTO, photo=photo, **base)
    if msg.document is not None and (msg.document.mime_type or "").startswith("image/"):
        d = msg.document
        photo = Photo(file_ref=d.file_id, caption=msg.caption, size=d.file_size, mime_type=d.mime_type)
        return Inbound(kind=Kind.PHOTO, photo=photo, **base)
    voice = _voice(msg)
    if voice is not None:
        return Inbound(kind=Kind.VOICE, voice=voice, **base)
    if msg.location is not None:
        loc = msg.location
        address = msg.venue.address if msg.venue is not None else None
        return Inbound(kind=Kind.LOCATION, location=Location(loc.latitude, loc.longitude, address), **base)
    if msg.contact is not None:
        contact = Contact(phone=msg.contact.phone_number, name=msg.contact.first_name)
        return Inbound(kind=Kind.CONTACT, contact=contact, **base)
    return None


def parse_update(update: Update, bot_id: str = "") -> Inbound | None:
    """The normal form of an update, or None for updates that are not a person talking to us;
    ``bot_id`` (:func:`bot_id_of`) goes into the dedupe key."""
    if update.callback_query is not None:
        return _button_press(update, bot_id)
    msg = update.message or update.edited_message
    if msg is None or msg.chat.type != "private":
        return None  # channel posts, group chatter, member updates: not for this bot
    user = msg.from_user
    base = {
        "channel": CHANNEL,
        "user_key": str(msg.chat.id),
        "external_id": message_key(
            bot_id,
            msg.chat.id,
            msg.message_id,
            _edit_stamp(msg) if update.edited_message is not None else None,
        ),
        "language_hint": _str(user.language_code) if user else None,
        "display_name": user.full_name if user else None,
        "username": _str(user.username) if user else None,
        "received_at": msg.date,
    }
    if update.edited_message is not None:
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="edited_message", **base)
    if _str(msg.text) is not None:
        return Inbound(kind=Kind.TEXT, text=msg.text, **base)
    media = _media(msg, base)
    if media is not None:
        return media
    kind = next((k for k in UNSUPPORTED_KINDS if getattr(msg, k, None)), "other")
    return Inbound(kind=Kind.UNSUPPORTED, unsupported_type=kind, **base)


def _edit_stamp(msg: Any) -> int:
    """An edit's ``edit_date`` as the Bot API sends it (seconds since the epoch), 0 when absent."""
    edited = msg.edit_date
    return int(edited.timestamp()) if isinstance(edited, datetime) else 0


def parse_or_skip(update: Update, bot_id: str = "") -> Inbound | None:
    """:func:`parse_update`, or None (logged) for a shape Telegram never sends: one odd update
    must not stop the polling loop, nor be fetched again forever."""
    try:
        return parse_update(update, bot_id)
    except (AttributeError, TypeError, ValueError, KeyError):
        log.warning("telegram update %s skipped: not a shape this bot understands", update.update_id)
        return None


# ---- the JSON fast path -----------------------------------------------------------------------
def _person(raw: Any) -> tuple[str | None, str | None, str | None] | None:
    """(full name, username, language code) of a well-formed Bot API ``User`` object, else None."""
    if (
        type(raw) is not dict
        or type(raw.get("id")) is not int
        or type(raw.get("first_name")) is not str
        or type(raw.get("is_bot")) is not bool
    ):
        return None
    last, username, lang = raw.get("last_name"), raw.get("username"), raw.get("language_code")
    if not all(v is None or type(v) is str for v in (last, username, lang)):
        return None
    first = raw["first_name"]
    return ((f"{first} {last}" if last else first) if first else None), username, lang  # as PTB's full_name


def _chat_message(raw: Any) -> bool:
    """Has ``raw`` what PTB needs of a ``Message`` before it can say whose chat it is?"""
    if type(raw) is not dict or type(raw.get("message_id")) is not int or type(raw.get("date")) is not int:
        return False
    chat = raw.get("chat")
    return type(chat) is dict and type(chat.get("id")) is int and type(chat.get("type")) is str


def _raw_button_press(bot_id: str, q: Any, only_key: bool) -> Inbound | Literal[False]:
    if (
        not only_key
        or type(q) is not dict
        or type(q.get("id")) is not str
        or type(q.get("data")) is not str
        or type(q.get("chat_instance")) is not str
    ):
        return False
    who = _person(q.get("from"))
    msg = q.get("message")
    if who is None or (msg is not None and not _chat_message(msg)):
        return False
    chat_id = msg["chat"]["id"] if msg is not None else q["from"]["id"]
    return Inbound(
        channel=CHANNEL,
        user_key=str(chat_id),
        external_id=press_key(bot_id, q["id"]),
        kind=Kind.CHOICE,
        choice=q["data"],
        language_hint=who[2],
        display_name=who[0],
        username=who[1],
    )


def parse_raw(item: dict[str, Any], bot_id: str = "") -> Inbound | Literal[False]:
    """:func:`parse_update` for the two updates that make up most of the traffic, a private text
    message and a button press, read straight from the JSON. False for anything else or anything
    whose fields the turn reads are not of the documented types: that goes through PTB and
    :func:`parse_update`. Where PTB reads the update too, both give the same :class:`Inbound`;
    where PTB would give up on a broken field the turn does not read, this still reads the rest."""
    q = item.get("callback_query")
    if q is not None:
        return _raw_button_press(bot_id, q, len(item) == 2)
    msg = item.get("message")
    if len(item) != 2 or not _chat_message(msg) or type(msg.get("text")) is not str or msg["chat"]["type"] != "private":
        return False
    who = _person(msg.get("from"))
    if who is None:
        return False
    return Inbound(
        channel=CHANNEL,
        user_key=str(msg["chat"]["id"]),
        external_id=message_key(bot_id, msg["chat"]["id"], msg["message_id"]),
        kind=Kind.TEXT,
        text=msg["text"],
        language_hint=who[2],
        display_name=who[0],
        username=who[1],
        received_at=datetime.fromtimestamp(msg["date"], tz=UTC),
    )


# ---- a batch of getUpdates --------------------------------------------------------------------
def read_updates(raw: Any, bot: Bot) -> tuple[list[ReadUpdate], int | None]:
    """The updates of a getUpdates answer, each as (the id of its button press to answer or None,
    its :class:`Inbound` or None when it is not for us), and the last update id in it. Each goes
    the fast path when it can, else through PTB; an update PTB cannot read either is skipped (logged)."""
    updates: list[ReadUpdate] = []
    last: int | None = None
    bot_id = bot_id_of(bot.token)
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
            continue
        last = item["update_id"]
        fast = parse_raw(item, bot_id)
        if fast is not False:
            q = item.get("callback_query")
            updates.append((q["id"] if q is not None else None, fast))
            continue
        try:
            update = Update.de_json(item, bot)
        except Exception:
            update = None
        if update is None:
            log.warning("telegram update %s skipped: not a shape this bot understands", last)
            continue
        query = update.callback_query.id if update.callback_query is not None else None
        updates.append((query, parse_or_skip(update, bot_id)))
    return updates, last
