"""Telegram through python-telegram-bot 22, used as a transport.

Our own long-polling loop (:meth:`TelegramChannel._poll`, confirming a batch only after it is
stored) or the webhook hands every update to :func:`parse_update`, which turns it into an
:class:`~bot.domain.messages.Inbound`; nothing of PTB passes this module. Replies are rendered to Bot API
payloads (:func:`render`) when they are written to the outbox and sent by :class:`TelegramChannel`.
HTTP goes through :class:`~bot.channels.telegram.telegram_request.AiohttpRequest` instead of httpx.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import html
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web

# opt in to PTB's future behaviour (durations as timedelta); send() handles both forms
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Bot, BotCommand, InputFile, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder

from bot.channels.telegram.telegram_request import AiohttpRequest, JsonRequestData
from bot.domain.messages import Contact, Inbound, Kind, Location, Photo, Reply, SendError, SendResult

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

Handle = Callable[[Inbound], Awaitable[Any]]


# ---- rendering: Reply -> Bot API payloads (pure) --------------------------------------------
def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split on paragraph, then line, then word boundaries so each part has ≤ ``limit`` characters."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not parts:
        parts.append(rest)
    return parts


def _keyboard(reply: Reply) -> dict[str, Any] | None:
    if not reply.choices:
        return None
    short = all(len(c.label) <= 18 for c in reply.choices) and len(reply.choices) > 3
    rows: list[list[dict[str, str]]] = []
    for c in reply.choices:
        button = {"text": c.label, "callback_data": c.value}
        if short and rows and len(rows[-1]) < 2:
            rows[-1].append(button)
        else:
            rows.append([button])
    return {"inline_keyboard": rows}


def render(reply: Reply) -> list[dict[str, Any]]:
    """Bot API payloads for one Reply; long text becomes several messages, buttons on the last."""
    head = f"<b>{html.escape(reply.title)}</b>\n" if reply.title else ""
    budget = MAX_TEXT - (len(reply.title) + 1 if reply.title else 0)
    chunks = split_text(reply.text, budget)
    payloads: list[dict[str, Any]] = []
    for i, chunk in enumerate(chunks):
        text = (head if i == 0 else "") + html.escape(chunk, quote=False)
        payloads.append({"method": "sendMessage", "text": text, "parse_mode": "HTML"})
    markup = _keyboard(reply)
    for kind, att in (("photo", reply.image), ("document", reply.document)):
        if att is None:
            continue
        p: dict[str, Any] = {
            "method": "sendPhoto" if kind == "photo" else "sendDocument",
            "field": kind,
            "filename": att.filename,
            "mime_type": att.mime_type,
        }
        if att.data is not None:
            p["data_b64"] = base64.b64encode(att.data).decode()
        else:
            p["file_id"] = att.file_ref
        payloads.append(p)
    if markup:
        payloads[-1 if payloads[-1]["method"] == "sendMessage" else 0]["reply_markup"] = markup
    return payloads


# ---- parsing: PTB Update -> Inbound ---------------------------------------------------------
def _str(value: Any) -> str | None:
    """A field Telegram documents as a string, else None: PTB does not check the types it reads."""
    return value if isinstance(value, str) else None


def parse_update(update: Update) -> Inbound | None:
    """The normal form of an update, or None for updates that are not a person talking to us."""
    uid = f"u{update.update_id}"
    if update.callback_query is not None:
        q = update.callback_query
        chat_id = q.message.chat.id if q.message is not None else q.from_user.id
        return Inbound(
            channel=CHANNEL,
            user_key=str(chat_id),
            external_id=uid,
            kind=Kind.CHOICE,
            choice=_str(q.data) or "",
            language_hint=_str(q.from_user.language_code),
            display_name=q.from_user.full_name,
            username=_str(q.from_user.username),
        )
    msg = update.message or update.edited_message
    if msg is None or msg.chat.type != "private":
        return None  # channel posts, group chatter, member updates: not for this bot
    user = msg.from_user
    base = {
        "channel": CHANNEL,
        "user_key": str(msg.chat.id),
        "external_id": uid,
        "language_hint": _str(user.language_code) if user else None,
        "display_name": user.full_name if user else None,
        "username": _str(user.username) if user else None,
        "received_at": msg.date,
    }
    if update.edited_message is not None:
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="edited_message", **base)
    if _str(msg.text) is not None:
        return Inbound(kind=Kind.TEXT, text=msg.text, **base)
    if msg.photo:
        best = msg.photo[-1]
        return Inbound(
            kind=Kind.PHOTO,
            photo=Photo(file_ref=best.file_id, caption=msg.caption, size=best.file_size, mime_type="image/jpeg"),
            **base,
        )
    if msg.document is not None and (msg.document.mime_type or "").startswith("image/"):
        d = msg.document
        return Inbound(
            kind=Kind.PHOTO,
            photo=Photo(file_ref=d.file_id, caption=msg.caption, size=d.file_size, mime_type=d.mime_type),
            **base,
        )
    if msg.location is not None:
        loc = msg.location
        address = msg.venue.address if msg.venue is not None else None
        return Inbound(kind=Kind.LOCATION, location=Location(loc.latitude, loc.longitude, address), **base)
    if msg.contact is not None:
        return Inbound(
            kind=Kind.CONTACT, contact=Contact(phone=msg.contact.phone_number, name=msg.contact.first_name), **base
        )
    kind = next(
        (
            k
            for k in (
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
            if getattr(msg, k, None)
        ),
        "other",
    )
    return Inbound(kind=Kind.UNSUPPORTED, unsupported_type=kind, **base)


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


def parse_raw(item: dict[str, Any]) -> Inbound | Literal[False]:
    """:func:`parse_update` for the two updates that make up most of the traffic, a private text
    message and a button press, read straight from the JSON (building PTB's objects for them was
    about 6 % of a flow turn's CPU). False for anything else or anything whose fields the turn
    reads are not of the documented types: that goes through PTB and :func:`parse_update`. Where
    PTB reads the update too, both give the same :class:`Inbound`; where PTB would give up on a
    broken field the turn does not read, this still reads the rest (``tests/channels/test_telegram_parse.py``)."""
    uid = f"u{item['update_id']}"
    q = item.get("callback_query")
    if q is not None:
        if (
            len(item) != 2
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
            external_id=uid,
            kind=Kind.CHOICE,
            choice=q["data"],
            language_hint=who[2],
            display_name=who[0],
            username=who[1],
        )
    msg = item.get("message")
    if len(item) != 2 or not _chat_message(msg) or type(msg.get("text")) is not str or msg["chat"]["type"] != "private":
        return False
    chat = msg["chat"]
    who = _person(msg.get("from"))
    if who is None:
        return False
    return Inbound(
        channel=CHANNEL,
        user_key=str(chat["id"]),
        external_id=uid,
        kind=Kind.TEXT,
        text=msg["text"],
        language_hint=who[2],
        display_name=who[0],
        username=who[1],
        received_at=datetime.fromtimestamp(msg["date"], tz=UTC),
    )


def _parse_or_skip(update: Update) -> Inbound | None:
    """:func:`parse_update`, or None (logged) for a shape Telegram never sends: one odd update
    must not stop the polling loop, nor be fetched again forever."""
    try:
        return parse_update(update)
    except (AttributeError, TypeError, ValueError, KeyError):
        log.warning("telegram update %s skipped: not a shape this bot understands", update.update_id)
        return None


# ---- the channel ----------------------------------------------------------------------------
class TelegramChannel:
    name = CHANNEL
    render = staticmethod(render)

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        handle: Handle,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        request: Any = None,
        get_updates_request: Any = None,
    ) -> None:
        self._handle = handle
        self.store_retry_window = 600.0  # seconds a polled update is retried before it is given up
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        #: PTB's bot shuts its requests down only once it is initialized: a start that fails on
        #: getMe (a refused token, no network) closes them itself (see :meth:`start`)
        self._requests = (
            request or AiohttpRequest(connection_pool_size=256),
            get_updates_request or AiohttpRequest(connection_pool_size=2, read_timeout=35.0),
        )
        builder: ApplicationBuilder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .request(self._requests[0])
            .get_updates_request(self._requests[1])
            # no Updater: PTB's confirms a batch's offset with its next getUpdates, before the
            # turns are stored, so a crash in between lost those updates for good. _poll confirms
            # a batch only after every update of it is stored (see there).
            .updater(None)
        )
        self.application: Application = builder.build()
        self._poll_task: asyncio.Task | None = None
        self._side_tasks: set[asyncio.Task] = set()
        self.allowed_updates = ["message", "edited_message", "callback_query"]

    @property
    def bot(self) -> Bot:
        return self.application.bot

    async def start(self, commands: dict[str, list[tuple[str, str]]] | None = None) -> None:
        """Connect; ``commands`` maps a language code ("" for the default) to (command, description)
        pairs shown in Telegram's command menu."""
        try:
            await self.application.initialize()
        except TelegramError as exc:  # InvalidToken, NetworkError, …
            await asyncio.gather(*(r.shutdown() for r in self._requests), return_exceptions=True)
            if isinstance(exc, InvalidToken):
                raise RuntimeError("KANAL_TELEGRAM_TOKEN: Telegram rejected the token") from None
            raise RuntimeError(
                f"Telegram: cannot reach the Bot API ({type(exc).__name__}); check KANAL_TELEGRAM_BASE_URL and the network"
            ) from None
        await self.application.start()
        for lang, pairs in (commands or {}).items():
            try:
                await self.bot.set_my_commands(
                    [BotCommand(n, d[:256]) for n, d in pairs[:100]], language_code=lang or None
                )
            except TelegramError as exc:  # cosmetic: never stops the start
                log.warning("setMyCommands(%s) failed: %s", lang or "default", type(exc).__name__)
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=self.allowed_updates
            )
            log.info("telegram: webhook mode")
        else:
            await self.bot.delete_webhook()
            self._poll_task = asyncio.create_task(self._poll())
            log.info("telegram: long polling")

    async def stop(self) -> None:
        if self._poll_task is not None:
            # whatever was fetched but not stored is not confirmed either: Telegram sends it again
            # to the next start, and the dedupe rows make a second delivery of a stored one a no-op
            self._poll_task.cancel()
            await asyncio.gather(self._poll_task, return_exceptions=True)
            self._poll_task = None
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def _poll(self) -> None:
        """Long polling with at-least-once delivery: fetch a batch, store every update of it (the
        dispatcher commits them together), and only then confirm it, by asking for the updates
        after it. A crash at any moment loses nothing: Telegram re-sends what was not confirmed.
        While the database is down the batch waits (see :meth:`_handle_until_stored`) and Telegram
        keeps the rest: backpressure, not loss."""
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                # raw JSON, parsed update by update below: one update PTB cannot read must not
                # make the whole batch unreadable (PTB's get_updates would fail it forever)
                params: dict[str, Any] = {"timeout": 30, "allowed_updates": self.allowed_updates}
                if offset is not None:
                    params["offset"] = offset
                raw = await self.bot.do_api_request("getupdates", api_kwargs=params, read_timeout=40)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                ra = exc.retry_after
                await asyncio.sleep(ra.total_seconds() if isinstance(ra, timedelta) else float(ra))
                continue
            except InvalidToken:
                log.error("telegram: the token was rejected while polling; retrying in %.0fs", 60)
                await asyncio.sleep(60)
                continue
            except TelegramError as exc:  # network trouble, 5xx, a conflicting poller: back off
                log.warning("telegram getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception as exc:  # never let polling die silently
                log.error("telegram getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            updates, last = self._read_updates(raw)
            if last is None:
                continue
            await self._store_batch(updates)
            offset = last + 1

    def _read_updates(self, raw: Any) -> tuple[list[tuple[str | None, Inbound | None]], int | None]:
        """The updates of a getUpdates answer, each as (the id of its button press to answer or
        None, its :class:`Inbound` or None when it is not for us), and the last update id in it.
        An update PTB cannot read either is skipped (logged)."""
        updates: list[tuple[str | None, Inbound | None]] = []
        last: int | None = None
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
                continue
            last = item["update_id"]
            fast = parse_raw(item)
            if fast is not False:
                q = item.get("callback_query")
                updates.append((q["id"] if q is not None else None, fast))
                continue
            try:
                update = Update.de_json(item, self.bot)
            except Exception:
                update = None
            if update is None:
                log.warning("telegram update %s skipped: not a shape this bot understands", last)
                continue
            query = update.callback_query.id if update.callback_query is not None else None
            updates.append((query, _parse_or_skip(update)))
        return updates, last

    async def _store_batch(self, updates: list[tuple[str | None, Inbound | None]]) -> None:
        """Hand a batch to the dispatcher (one person's messages in order, different people's turns
        in one group commit) and wait until every update of it is stored."""
        for query, _ in updates:  # stop the buttons' spinners while the turns run
            if query is not None:
                task = asyncio.ensure_future(self._answer_callback(query))
                self._side_tasks.add(task)
                task.add_done_callback(self._side_tasks.discard)
        # one task per person, taking their messages in order (also when a message has to wait for
        # the database); different people's tasks queue at the dispatcher together
        people: dict[str, list[Inbound]] = {}
        for _, inbound in updates:
            if inbound is not None:
                people.setdefault(inbound.user_key, []).append(inbound)

        async def in_order(inbounds: list[Inbound]) -> None:
            for inbound in inbounds:
                await self._handle_until_stored(inbound)

        tasks = [asyncio.ensure_future(in_order(inbounds)) for inbounds in people.values()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            raise

    async def _handle_until_stored(self, inbound: Inbound) -> None:
        """Polling confirms offsets whatever happens, so a turn that could not be stored (database
        down) is retried here with backoff. While the database is down for everyone, PTB's update
        slots fill up, polling pauses and Telegram keeps the updates: backpressure, not loss."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.store_retry_window
        delay = 0.5
        while True:
            try:
                await self._handle(inbound)
                return
            except Exception as exc:
                if loop.time() + delay > deadline:
                    log.error(
                        "telegram message %s dropped: not stored within %.0fs (%s)",
                        inbound.external_id,
                        self.store_retry_window,
                        type(exc).__name__,
                    )
                    return
                log.warning(
                    "telegram message %s not stored (%s); retrying in %.1fs",
                    inbound.external_id,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API call with plain JSON parameters; its ``result``. Through the bot's request
        object, so PTB still turns error answers into its exceptions (RetryAfter, Forbidden, …), but
        without PTB's per-call work: no Bot method, parameter objects or form encoding (the body is
        one JSON document), no objects built from the answer."""
        return await self.bot.request.post(f"{self.bot.base_url}/{method}", request_data=JsonRequestData(params))

    async def _answer_callback(self, query_id: str) -> None:
        try:  # stops the button's spinner; not a message, so not through the outbox
            await self._call("answerCallbackQuery", {"callback_query_id": query_id})
        except TelegramError as exc:
            log.debug("answerCallbackQuery failed: %s", type(exc).__name__)

    # ---- webhook ------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """POST /webhooks/telegram: verify the secret in constant time, process, then acknowledge.

        A failure to store the turn answers 500 so Telegram delivers the update again.
        """
        given = request.headers.get(SECRET_HEADER, "")
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > 1_000_000:
            return web.Response(status=413, text="too large")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, self.bot)
            # a shape Telegram never sends (e.g. "message": [] or "chat": null) fails in PTB or in
            # parse_update with AttributeError; JSON nested too deep with RecursionError: 400, not 500
            inbound = parse_update(update) if update is not None else None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return web.Response(status=400, text="bad update")
        if update is None:
            return web.Response(status=400, text="bad update")
        if update.callback_query is not None:
            await self._answer_callback(update.callback_query.id)
        if inbound is not None:
            try:
                await self._handle(inbound)
            except Exception as exc:  # DatabaseUnavailable: let Telegram retry
                log.error("telegram webhook update %s not stored: %s", update.update_id, type(exc).__name__)
                return web.Response(status=500, text="retry")
        return web.Response(text="ok")

    # ---- sending ------------------------------------------------------------------------
    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        method = payload["method"]
        markup = payload.get("reply_markup")
        try:
            if method == "sendMessage":
                # the payload is already Bot API JSON: post it as it is and read only the message id
                # back, instead of building PTB objects for the keyboard and the returned Message
                params: dict[str, Any] = {"chat_id": address, "text": payload["text"]}
                if payload.get("parse_mode"):
                    params["parse_mode"] = payload["parse_mode"]
                if markup:
                    params["reply_markup"] = markup
                result = await self._call("sendMessage", params)
                return SendResult(platform_message_id=str(result["message_id"]))
            elif method in ("sendPhoto", "sendDocument"):
                media: Any = payload.get("file_id")
                if media is None:
                    media = InputFile(base64.b64decode(payload["data_b64"]), filename=payload.get("filename"))
                fn = self.bot.send_photo if method == "sendPhoto" else self.bot.send_document
                msg = await fn(address, media, caption=payload.get("caption"), reply_markup=_markup(markup))
            else:
                raise SendError(f"unknown payload method {method}", retryable=False)
        except RetryAfter as exc:
            ra = exc.retry_after
            seconds = ra.total_seconds() if isinstance(ra, timedelta) else float(ra)
            raise SendError("Telegram 429: too many requests", retryable=True, retry_after=max(1.0, seconds)) from None
        except Forbidden as exc:
            raise SendError(f"Telegram 403: {exc.message}", retryable=False) from None
        except ChatMigrated as exc:
            raise SendError(f"Telegram: chat migrated to {exc.new_chat_id}", retryable=False) from None
        except BadRequest as exc:
            raise SendError(f"Telegram 400: {exc.message}", retryable=False) from None
        except (TimedOut, NetworkError) as exc:
            raise SendError(f"Telegram network: {type(exc).__name__}", retryable=True) from None
        except InvalidToken:
            raise SendError("Telegram: token rejected", retryable=True) from None
        except TelegramError as exc:
            raise SendError(f"Telegram: {type(exc).__name__}", retryable=True) from None
        return SendResult(platform_message_id=str(msg.message_id))


def _markup(markup: dict[str, Any] | None):
    if not markup:
        return None
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in markup["inline_keyboard"]
        ]
    )
