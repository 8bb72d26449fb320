"""Telegram through python-telegram-bot 22, used as a transport.

Our own long-polling loop (:meth:`TelegramChannel._poll`, confirming a batch only after it is
stored) or the webhook hands every update to the parsers of
:mod:`~bot.channels.telegram.telegram_parse`, which turn it into an :class:`~bot.domain.messages.Inbound`;
nothing of PTB passes this package. Replies are rendered to Bot API payloads (:func:`render`) when
they are written to the outbox and sent by :class:`TelegramChannel`. HTTP goes through
:class:`~bot.channels.telegram.telegram_request.AiohttpRequest` instead of httpx.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import html
import json
import logging
import mimetypes
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from aiohttp import web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
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

from bot.channels.base import (
    UNLIMITED,
    ChannelContext,
    ChannelSpec,
    CommandMenu,
    Handle,
    RateLimit,
    retry_until_stored,
)
from bot.channels.telegram.telegram_parse import CHANNEL, ReadUpdate, bot_id_of, parse_update, read_updates
from bot.channels.telegram.telegram_request import AiohttpRequest, JsonRequestData
from bot.domain.messages import Inbound, Reply, SendError, SendResult

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"


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


def _audio(reply: Reply, head: str) -> dict[str, Any] | None:
    """A voice note (OGG, ``sendVoice``) or audio file (``sendAudio``) sent by its file id, with
    the reply's text as its caption when that fits: one message for the officer, not two."""
    att = reply.audio
    if att is None or att.file_ref is None:
        return None
    voice = (att.mime_type or "").startswith("audio/ogg")
    p: dict[str, Any] = {
        "method": "sendVoice" if voice else "sendAudio",
        "field": "voice" if voice else "audio",
        "file_id": att.file_ref,
        "mime_type": att.mime_type,
    }
    caption = head + html.escape(reply.text, quote=False)
    if reply.image is None and reply.document is None and len(reply.title or "") + len(reply.text) < MAX_CAPTION:
        p.update(caption=caption, parse_mode="HTML")
    return p


def render(reply: Reply) -> list[dict[str, Any]]:
    """Bot API payloads for one Reply; long text becomes several messages, buttons on the last."""
    head = f"<b>{html.escape(reply.title)}</b>\n" if reply.title else ""
    audio = _audio(reply, head)
    if audio is not None and "caption" in audio:
        markup = _keyboard(reply)
        return [{**audio, "reply_markup": markup} if markup else audio]
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
    if audio is not None:
        payloads.append(audio)
    if markup:
        payloads[-1 if payloads[-1]["method"] == "sendMessage" else 0]["reply_markup"] = markup
    return payloads


# ---- settings, limits, building -------------------------------------------------------------
@dataclass(frozen=True)
class TelegramConfig:
    token: str
    base_url: str
    webhook_url: str | None = None  # webhook mode when set, else long polling
    webhook_secret: str | None = None
    global_rate: float = 29.0
    chat_rate: float = 1.0


def config_from(settings: Any) -> TelegramConfig | None:
    """The ``KANAL_TELEGRAM_*`` values of the app's settings; None (Telegram off) without a token."""
    if not settings.telegram_token:
        return None
    return TelegramConfig(
        token=settings.telegram_token,
        base_url=settings.telegram_base_url,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=settings.telegram_webhook_secret,
        global_rate=settings.telegram_global_rate,
        chat_rate=settings.telegram_chat_rate,
    )


def telegram_limit(global_rate: float = 29.0, chat_rate: float = 1.0) -> RateLimit:
    """Telegram: ~30 messages/s per bot, ~1/s per chat sustained (short bursts tolerated). 0 = none.

    The global burst is a third of a second's worth, not a whole second's: a broadcast starting
    from idle that fires ~30 requests at once leaves Telegram's bucket almost empty, and then any
    request that arrives late (a new connection, a busy machine) and bunches with the next ones
    is answered 429. The sustained rate is the same."""
    g = global_rate if global_rate > 0 else UNLIMITED.global_per_second
    c = chat_rate if chat_rate > 0 else UNLIMITED.per_address_per_second
    burst = max(1, int(min(g, 10**9) / 3)) if global_rate > 0 else 10**9
    return RateLimit(
        global_per_second=g,
        global_burst=burst,
        per_address_per_second=c,
        per_address_burst=3 if chat_rate > 0 else 10**9,
    )


def build(config: TelegramConfig, context: ChannelContext) -> TelegramChannel:
    """The channel; ``context.options["request"]`` replaces the HTTP request object (tests)."""
    return TelegramChannel(
        token=config.token,
        base_url=config.base_url,
        handle=context.handle,
        webhook_url=config.webhook_url,
        webhook_secret=config.webhook_secret,
        request=context.options.get("request"),
        rate_limit=telegram_limit(config.global_rate, config.chat_rate),
        election=context.options.get("election"),
    )


def file_url_of(base_url: str) -> str:
    """PTB's ``base_file_url`` for a ``base_url``: ``…/bot`` → ``…/file/bot`` (Telegram's, a local
    Bot API server's and the test fake's layout alike)."""
    return base_url.removesuffix("/bot") + "/file/bot" if base_url.endswith("/bot") else base_url + "/file/bot"


def _seconds(retry_after: Any) -> float:
    """PTB's ``retry_after`` in seconds, whether it is a timedelta or a number."""
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else float(retry_after)


class PollerElection(Protocol):
    """Who may long-poll: Telegram answers a second ``getUpdates`` client with 409 Conflict, so with
    several instances exactly one polls (the app gives a PostgreSQL advisory-lock election; on
    SQLite the one process is elected at once). Callbacks run when this instance is elected and,
    before the lock is let go, when it is deposed."""

    is_leader: bool
    interval: float  # seconds between two checks of the lock
    timeout: float  # seconds a check may take

    def subscribe(self, on_elected: Any = None, on_deposed: Any = None) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_elected(self, timeout: float | None = None) -> bool: ...


#: seconds a starting instance waits to learn whether it polls, before it says it stands by
ELECTION_WAIT = 3.0


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
        rate_limit: RateLimit | None = None,
        election: PollerElection | None = None,
    ) -> None:
        self._handle = handle
        self.election = election  # long polling only: whether this instance is the one that polls
        self._stood_by = False  # another instance polled when this one started: it takes over later
        self.bot_id = bot_id_of(token)  # part of every dedupe key (telegram_parse)
        self.rate_limit = rate_limit
        self.store_retry_window = 600.0  # seconds a polled update is retried before it is given up
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        #: PTB's bot shuts its requests down only once it is initialized: a start that fails on
        #: getMe (a refused token, no network) closes them itself (see :meth:`start_receiving`)
        self._requests = (
            request or AiohttpRequest(connection_pool_size=256),
            get_updates_request or AiohttpRequest(connection_pool_size=2, read_timeout=35.0),
        )
        builder: ApplicationBuilder = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .base_file_url(file_url_of(base_url))
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

    async def fetch_media(self, file_ref: str) -> tuple[bytes, str]:
        """A photo's or voice note's bytes by its file id (``getFile`` + the download; files up to
        20 MB, as the Bot API allows) and a MIME type guessed from Telegram's file path."""
        file = await self.bot.get_file(file_ref)
        data = bytes(await file.download_as_bytearray())
        guessed = mimetypes.guess_type(file.file_path or "")[0]
        return data, guessed or "application/octet-stream"

    def routes(self) -> list[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)] if self.webhook_url else []

    def summary(self, http_url: str) -> str:
        return "Telegram (" + ("webhook" if self.webhook_url else "long polling") + ")"

    async def start(self) -> None:
        """Nothing to open before delivery starts: PTB's requests open in :meth:`start_receiving`."""

    async def stop(self) -> None:
        """Everything was closed in :meth:`stop_receiving`."""

    async def start_receiving(self, commands: CommandMenu | None = None) -> None:
        """Connect; ``commands`` maps a language code ("" for the default) to (command, description)
        pairs shown in Telegram's command menu."""
        try:
            await self.application.initialize()
        except TelegramError as exc:  # InvalidToken, NetworkError, …
            await asyncio.gather(*(r.shutdown() for r in self._requests), return_exceptions=True)
            if isinstance(exc, InvalidToken):
                raise RuntimeError("KANAL_TELEGRAM_TOKEN: Telegram rejected the token") from None
            raise RuntimeError(
                f"Telegram: cannot reach the Bot API ({type(exc).__name__}); check "
                "KANAL_TELEGRAM_BASE_URL and the network"
            ) from None
        await self.application.start()
        await self._set_commands(commands or {})
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url, secret_token=self.webhook_secret, allowed_updates=self.allowed_updates
            )
            log.info("telegram: webhook mode")
        else:
            await self.bot.delete_webhook()
            if self.election is None:
                self._start_polling()
            else:
                self.election.subscribe(self._elected, self._deposed)
                await self.election.start()
                if not await self.election.wait_elected(ELECTION_WAIT):
                    self._stood_by = True
                    log.info("telegram: another instance polls Telegram; this one stands by and takes over if it stops")

    @property
    def receiving(self) -> str:
        """How Telegram's updates reach this instance: "webhook", "polling" or "standby"."""
        if self.webhook_url:
            return "webhook"
        return "polling" if self._poll_task is not None else "standby"

    def _start_polling(self, grace: float = 0.0) -> None:
        if self._poll_task is None:
            self._poll_task = asyncio.create_task(self._poll(grace))
            log.info("telegram: long polling" + (f" in {grace:g}s (taking over)" if grace else ""))

    async def _elected(self) -> None:
        # Taking over: the lock may have gone with a poller's session while its process lives on
        # and polls until its next check (interval, then at most timeout). Waiting that long first
        # keeps two from polling at once (409 Conflict); a fresh start has no one to wait for.
        grace = self.election.interval + self.election.timeout if self._stood_by else 0.0
        self._start_polling(grace)

    async def _deposed(self) -> None:
        """Stop polling before the lock goes, so that two instances never poll at once."""
        await self._stop_polling()
        log.info("telegram: no longer polling (another instance may take over)")

    async def _stop_polling(self) -> None:
        if self._poll_task is not None:
            # whatever was fetched but not stored is not confirmed either: Telegram sends it again
            # to the next poller, and the dedupe rows make a second delivery of a stored one a no-op
            self._poll_task.cancel()
            await asyncio.gather(self._poll_task, return_exceptions=True)
            self._poll_task = None

    async def _set_commands(self, commands: CommandMenu) -> None:
        for lang, pairs in commands.items():
            try:
                await self.bot.set_my_commands(
                    [BotCommand(n, d[:256]) for n, d in pairs[:100]], language_code=lang or None
                )
            except TelegramError as exc:  # cosmetic: never stops the start
                log.warning("setMyCommands(%s) failed: %s", lang or "default", type(exc).__name__)

    async def stop_receiving(self) -> None:
        if self.election is not None and not self.webhook_url:
            await self.election.stop()  # deposed first: polling stops, then the lock is released
        await self._stop_polling()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # ---- long polling -------------------------------------------------------------------
    async def _poll(self, grace: float = 0.0) -> None:
        """Long polling with at-least-once delivery: fetch a batch, store every update of it (the
        dispatcher commits them together), and only then confirm it, by asking for the updates
        after it. A crash at any moment loses nothing: Telegram re-sends what was not confirmed.
        While the database is down the batch waits (see :meth:`_store_batch`) and Telegram
        keeps the rest: backpressure, not loss."""
        await asyncio.sleep(grace)
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                # raw JSON, parsed update by update: one update PTB cannot read must not make the
                # whole batch unreadable (PTB's get_updates would fail it forever)
                params: dict[str, Any] = {"timeout": 30, "allowed_updates": self.allowed_updates}
                if offset is not None:
                    params["offset"] = offset
                raw = await self.bot.do_api_request("getupdates", api_kwargs=params, read_timeout=40)
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except InvalidToken:
                log.error("telegram: the token was rejected while polling; retrying in %.0fs", 60)
                await asyncio.sleep(60)
                continue
            except Exception as exc:  # network trouble, 5xx, a conflicting poller: back off; never die silently
                level = logging.WARNING if isinstance(exc, TelegramError) else logging.ERROR
                log.log(level, "telegram getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            updates, last = read_updates(raw, self.bot)
            if last is None:
                continue
            await self._store_batch(updates)
            offset = last + 1

    async def _store_batch(self, updates: list[ReadUpdate]) -> None:
        """Hand a batch to the dispatcher (one person's messages in order, different people's turns
        in one group commit) and wait until every update of it is stored. Polling confirms offsets
        whatever happens, so a turn that cannot be stored (database down) is retried with backoff;
        meanwhile polling pauses and Telegram keeps the updates: backpressure, not loss."""
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
        tasks = [asyncio.ensure_future(self._store_in_order(inbounds)) for inbounds in people.values()]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            raise

    async def _store_in_order(self, inbounds: list[Inbound]) -> None:
        for inbound in inbounds:
            await retry_until_stored(
                self._handle,
                inbound,
                window=self.store_retry_window,
                label=f"telegram message {inbound.external_id}",
                logger=log,
            )

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
            inbound = parse_update(update, self.bot_id) if update is not None else None
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
        try:
            return await self._send(address, payload)
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
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

    async def _send(self, address: str, payload: dict[str, Any]) -> SendResult:
        method = payload["method"]
        markup = payload.get("reply_markup")
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
        senders = {
            "sendPhoto": self.bot.send_photo,
            "sendDocument": self.bot.send_document,
            "sendVoice": self.bot.send_voice,
            "sendAudio": self.bot.send_audio,
        }
        fn = senders.get(method)
        if fn is None:
            raise SendError(f"unknown payload method {method}", retryable=False)
        media: Any = payload.get("file_id")
        if media is None:
            media = InputFile(base64.b64decode(payload["data_b64"]), filename=payload.get("filename"))
        try:
            msg = await fn(
                address,
                media,
                caption=payload.get("caption"),
                parse_mode=payload.get("parse_mode"),
                reply_markup=_markup(markup),
            )
        except BadRequest as exc:
            if (
                method != "sendVoice"
                or "voice_messages_forbidden" not in exc.message.lower()
                or not payload.get("file_id")
            ):
                raise
            msg = await self._voice_as_file(address, payload)
        return SendResult(platform_message_id=str(msg.message_id))

    async def _voice_as_file(self, address: str, payload: dict[str, Any]) -> Any:
        """A person whose privacy settings refuse voice messages (Telegram Premium) gets the voice
        note as a file: downloaded by its id and uploaded again as a document (Telegram does not
        take a voice note's file id as a document's)."""
        file = await self.bot.get_file(payload["file_id"])
        data = bytes(await file.download_as_bytearray())
        return await self.bot.send_document(
            address,
            InputFile(data, filename="pesan-suara.ogg"),
            caption=payload.get("caption"),
            parse_mode=payload.get("parse_mode"),
            reply_markup=_markup(payload.get("reply_markup")),
        )


def _markup(markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    if not markup:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
            for row in markup["inline_keyboard"]
        ]
    )


SPEC = ChannelSpec(name=CHANNEL, render=render, configure=config_from, build=build)
