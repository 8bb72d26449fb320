"""A fake Telegram Bot API server for tests and benchmarks.

:class:`FakeTelegramServer` is a real HTTP server on ``127.0.0.1`` (a free port) that speaks the Bot
API wire format at ``/bot<TOKEN>/<method>``, so bots under test go through their whole HTTP stack
(PTB's request classes, connection pools, timeouts, error mapping)::

    async with FakeTelegramServer(token="123:ABC", rate_limits=True) as tg:
        bot = telegram.Bot("123:ABC", base_url=tg.base_url)
        tg.push_message(1001, "/start")                 # a person writes to the bot
        (reply,) = await tg.wait_for_sent(1, chat_id=1001)
        assert "Selamat datang" in reply["visible_text"]

What it does like Telegram:

* JSON, urlencoded and multipart bodies (and query strings); method names are case-insensitive;
  a wrong token answers 401, an unknown method 404 ``Not Found: method not found``.
* ``getUpdates`` is real long polling: ``offset`` confirms (drops) updates with lower ids, negative
  offsets keep the last ``-offset`` updates, ``timeout`` and ``limit`` are honoured and the call
  returns as soon as an update is queued. A second ``getUpdates`` terminates a pending one with
  409 Conflict, and ``getUpdates`` answers 409 while a webhook is set.
* Validation with Telegram's error texts: empty chat id or text, text over 4096 characters
  (1024 for captions), ``callback_data`` over 64 bytes, HTML that Telegram would not parse
  (see :func:`parse_html`), unknown file ids, edits of unknown or unchanged messages, …
* Optional flood control (token buckets per chat and global) answering 429 with ``retry_after``.
* Fault injection: :meth:`~FakeTelegramServer.fail_next` (HTTP status, connection reset or a hang),
  :meth:`~FakeTelegramServer.block_chat` (403) and :meth:`~FakeTelegramServer.missing_chat` (400).

Simplifications: Markdown parse modes are accepted but not parsed (``visible_text`` is the raw text);
message lengths count code points; webhooks are never called by the server itself — tests deliver
updates with :meth:`~FakeTelegramServer.deliver_webhook`. Timestamps in the records (``time``) are
:func:`time.monotonic` values.
"""

from __future__ import annotations

import asyncio
import bisect
import enum
import json
import math
import re
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, NamedTuple

import aiohttp
from aiohttp import web
from yarl import URL

__all__ = [
    "KEEP",
    "EntityParseError",
    "FakeTelegramServer",
    "RecordedError",
    "RecordedRequest",
    "TokenBucket",
    "UploadedFile",
    "parse_html",
]

JSON = dict[str, Any]


class _Keep(enum.Enum):
    KEEP = "keep"


#: Default of the profile arguments of the ``push_*`` helpers: what this person had last time
#: (a new person is ``first_name="Budi"``, ``language_code="id"``, no last name or username).
KEEP = _Keep.KEEP
Fault = int | Literal["reset", "timeout"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

_API_PATH = re.compile(r"^/bot([^/]*)/([^/]*)$")
_FILE_PATH = re.compile(r"^/file/bot([^/]*)/(.+)$")
_TOKEN_FORMAT = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,64})?")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


# ---- records --------------------------------------------------------------------------------
class RecordedRequest(NamedTuple):
    """One call the server received: the method as spelled in the URL, its parameters, when."""

    method: str
    params: dict[str, Any]
    time: float


class RecordedError(NamedTuple):
    """One call the server answered with ``ok: false`` (or a connection fault)."""

    method: str
    params: dict[str, Any]
    status: int | str
    description: str
    time: float


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request (stands in the recorded parameters for the file)."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = None  # sent by HTTP URL (Telegram fetches it; this fake does not)


@dataclass(slots=True, order=True)
class _Queued:
    update_id: int
    seq: int
    update: JSON = field(compare=False)
    sticky: bool = field(compare=False, default=False)  # a redelivery of an old id: kept until returned once
    returned: bool = field(compare=False, default=False)


class _Poll:
    """A pending ``getUpdates``; woken by new updates, a conflicting poll or the shutdown."""

    __slots__ = ("conflict", "event")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.conflict: str | None = None


class ApiError(Exception):
    """An ``{"ok": false}`` answer: HTTP status = ``error_code``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; one token per message."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp: float | None = None

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0.0: one is available now)."""
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


# ---- HTML parse mode ------------------------------------------------------------------------
class EntityParseError(ValueError):
    """Telegram's ``can't parse entities`` (the message is the part after the colon)."""


_SPECIAL = re.compile(r"[<&]")
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_END_TAG = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)\s*>")
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_HTML_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z][a-zA-Z0-9]{0,31}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _unescape_attribute(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        return _decode_entity(m) or m.group(0)

    return _HTML_ENTITY.sub(one, value)


def _decode_entity(m: re.Match[str]) -> str | None:
    dec, hexa, name = m.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(dec) if dec is not None else int(hexa, 16)
    if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


@dataclass(slots=True)
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the visible text
    attrs: dict[str, str]
    language: str | None = None


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML parse mode: ``(visible text, entities)`` or :class:`EntityParseError`.

    Supported like Telegram: ``b strong i em u ins s strike del a code pre tg-spoiler
    span class="tg-spoiler" blockquote [expandable]``, ``<pre><code class="language-x">``, the
    entities ``&lt; &gt; &amp; &quot;`` and numeric ones. Unknown or unbalanced tags, a ``<`` that
    does not start a tag and an ``&`` that does not start an entity are errors. Entity offsets and
    lengths are in UTF-16 code units.
    """
    out: list[str] = []
    pos = 0  # UTF-16 length of the visible text so far
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(text)
    while True:
        m = _SPECIAL.search(text, i)
        j = m.start() if m is not None else n
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            pos += utf16_len(chunk)
        if m is None:
            break
        if text[j] == "&":
            em = _HTML_ENTITY.match(text, j)
            char = _decode_entity(em) if em is not None else None
            if em is None:
                raise EntityParseError(
                    f'Character "&" at byte offset {_byte_offset(text, j)} does not start an HTML entity; use "&amp;"'
                )
            if char is None:
                raise EntityParseError(
                    f'Unsupported HTML entity "{em.group(0)}" at byte offset {_byte_offset(text, j)}'
                )
            out.append(char)
            pos += utf16_len(char)
            i = em.end()
            continue
        if text.startswith("</", j):
            em = _END_TAG.match(text, j)
            if em is None:
                raise EntityParseError(f"Can't find end of the tag at byte offset {_byte_offset(text, j)}")
            name = em.group(1).lower()
            if not stack:
                raise EntityParseError(f'Unexpected end tag "</{name}>" at byte offset {_byte_offset(text, j)}')
            top = stack.pop()
            if top.name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(text, j)}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _close_tag(top, pos, stack, entities)
            i = em.end()
            continue
        sm = _START_TAG.match(text, j)
        if sm is None:
            after = text[j + 1 : j + 2]
            if after.isalpha():
                raise EntityParseError(f"Can't find end of the tag starting at byte offset {_byte_offset(text, j)}")
            raise EntityParseError(f'Unsupported start tag "" at byte offset {_byte_offset(text, j)}')
        name = sm.group(1).lower()
        if name not in _TAG_ENTITY:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, j)}')
        attrs = {
            a.group(1).lower(): _unescape_attribute(next((v for v in a.group(2, 3, 4) if v is not None), ""))
            for a in _ATTRIBUTE.finditer(sm.group(2))
        }
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, j)}')
        stack.append(_OpenTag(name, pos, attrs))
        i = sm.end()
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_tag(tag: _OpenTag, pos: int, stack: list[_OpenTag], entities: list[JSON]) -> None:
    kind = _TAG_ENTITY[tag.name]
    parent = stack[-1] if stack else None
    if tag.name == "code" and parent is not None and parent.name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-") and parent.start == tag.start:
            parent.language = language.removeprefix("language-")
            return  # <pre><code class="language-x"> is one pre entity with a language
    length = pos - tag.start
    if length <= 0:
        return
    entity: JSON = {"offset": tag.start, "length": length, "type": kind}
    if kind == "text_link":
        url = tag.attrs.get("href", "")
        if not url:
            return
        entity["url"] = url
    elif kind == "pre" and tag.language:
        entity["language"] = tag.language
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)


# ---- parameters -----------------------------------------------------------------------------
def _json_param(params: JSON, name: str) -> Any:
    """A JSON-typed parameter: as sent in a JSON body, or JSON text in a form field."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _int_param(params: JSON, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid {name} specified") from None


def _bool_param(params: JSON, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


# ---- the server -----------------------------------------------------------------------------
class FakeTelegramServer:
    """A Bot API server on 127.0.0.1 for one bot token. Use as ``async with``; see the module docs.

    Args:
        token: The bot token accepted in URLs; its numeric part is the bot's user id.
        rate_limits: Answer 429 when the token buckets below run dry.
        per_chat_per_second, per_chat_burst: Flood control per chat (messages and edits).
        global_per_second, global_burst: Flood control across all chats.
        bot_username, bot_first_name: What ``getMe`` tells.
    """

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        rate_limits: bool = False,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        global_per_second: float = 30.0,
        global_burst: int = 30,
        bot_username: str = "kanal_test_bot",
        bot_first_name: str = "Kanal Partisipasi (test)",
    ) -> None:
        self.token = token
        self.rate_limits = rate_limits
        self.per_chat_per_second = per_chat_per_second
        self.per_chat_burst = per_chat_burst
        self.global_per_second = global_per_second
        self.global_burst = global_burst
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: JSON = {"id": bot_id, "is_bot": True, "first_name": bot_first_name, "username": bot_username}

        #: Every call received, in order (also rejected ones).
        self.requests: list[RecordedRequest] = []
        #: Every call answered with an error or a connection fault.
        self.errors: list[RecordedError] = []
        #: How many calls were answered with 429 (flood control or injected).
        self.rejected_429 = 0
        #: ``callback_query_id -> parameters`` of ``answerCallbackQuery`` calls.
        self.callback_answers: dict[str, JSON] = {}

        self._port: int | None = None
        self._runner: web.ServerRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._closing = False
        self._closed = asyncio.Event()

        self._queue: list[_Queued] = []
        self._next_update_id = 1
        self._seq = 0
        self._pollers: set[_Poll] = set()

        self._sent: list[JSON] = []
        self._sent_by_chat: dict[int, list[JSON]] = {}
        self._edits: list[JSON] = []
        self._sent_changed = asyncio.Event()
        self._messages: dict[tuple[int, int], JSON] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, JSON] = {}
        self._profiles: dict[int, JSON] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._file_counter = 0
        self._callback_ids: set[str] = set()
        self._callback_counter = 0

        self._faults: dict[str, list[list[Any]]] = {}
        self._blocked: set[int] = set()
        self._no_voice: set[int] = set()  # people whose privacy settings refuse voice messages
        self._missing: set[int] = set()
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._global_bucket = TokenBucket(global_per_second, global_burst)

        self._webhook: JSON = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}

        self._methods = self._method_table()

    def _method_table(self) -> dict[str, Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]]:
        """The Bot API methods this server answers, by lower-case name."""
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendvoice": self._send_voice,
            "sendaudio": self._send_audio,
            "answercallbackquery": self._answer_callback_query,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }

    # ---- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1 at a free port."""
        server = web.Server(
            self._handle,
            request_factory=self._make_request,
            handler_cancellation=True,  # a client that hangs up ends its long poll here too
            access_log=None,  # access lines would contain the token
        )
        self._runner = web.ServerRunner(server, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    def _make_request(self, message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
        return web.BaseRequest(
            message, payload, protocol, writer, task, asyncio.get_running_loop(), client_max_size=60 * 1024 * 1024
        )

    async def close(self) -> None:
        """Release pending long polls (they answer ``[]``) and hung faults, then stop listening."""
        if self._closing:
            return
        self._closing = True
        self._closed.set()
        for poll in list(self._pollers):
            poll.event.set()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: the token is appended to it."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url`` for downloading files from ``getFile``."""
        return f"{self.url}/file/bot"

    # ---- injection ------------------------------------------------------------------------
    def push_update(self, update: JSON) -> JSON:
        """Queue a raw update. Its ``update_id`` is kept (assigned if missing); pushing an update
        whose id was already used is a *redelivery*: it is delivered once more even if the bot has
        confirmed that id already."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        uid = int(update["update_id"])
        sticky = uid < self._next_update_id
        self._next_update_id = max(self._next_update_id, uid + 1)
        self._seq += 1
        entry = _Queued(uid, self._seq, update, sticky=sticky)
        if not self._queue or self._queue[-1] < entry:
            self._queue.append(entry)
        else:
            bisect.insort(self._queue, entry)
        for poll in self._pollers:
            poll.event.set()
        return update

    def restart_update_ids(self, first: int = 1) -> None:
        """What Telegram does after a week without updates: the next update id is chosen anew
        (here ``first``), possibly one used before. Message ids go on as before."""
        self._next_update_id = first

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        last_name: str | None | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends ``text``; commands get their ``bot_command`` entity. Returns the update.

        ``user_id`` defaults to ``chat_id`` (a private chat). Profile fields left out keep what the
        person had in earlier pushes (see :data:`KEEP`); ``None`` removes an optional one.
        """
        content: JSON = {"text": text}
        m = _COMMAND.match(text)
        if m:
            content["entities"] = [{"offset": 0, "length": utf16_len(m.group(0)), "type": "bot_command"}]
        return self._push_user_message(chat_id, content, user_id, first_name, last_name, username, language_code)

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        last_name: str | None | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person presses an inline button with ``data`` on the bot's message ``message_id``
        (default: the bot's latest message in the chat). Returns the update."""
        user = self._user(chat_id, user_id, first_name, last_name, username, language_code)
        message: JSON | None = None
        if message_id is not None:
            message = self._messages.get((chat_id, message_id))
        else:
            latest = self._sent_by_chat.get(chat_id)
            if latest:
                message = self._messages.get((chat_id, latest[-1]["message_id"]))
        if message is not None:
            message = dict(message)  # as it was when pressed, not after later edits
        else:
            message = {
                "message_id": message_id if message_id is not None else self._next_message_id(chat_id),
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(time.time()),
                "text": "…",
            }
        self._callback_counter += 1
        query_id = str(4_200_000_000_000_000_000 + self._callback_counter)
        self._callback_ids.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(-abs(chat_id) * 7919 - 13),
            "data": data,
        }
        return self.push_update({"update_id": self._next_update_id, "callback_query": query})

    def push_photo(
        self,
        chat_id: int,
        *,
        caption: str | None = None,
        data: bytes | None = None,
        width: int = 1280,
        height: int = 960,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends a photo (three sizes; the largest can be fetched with ``getFile``)."""
        data = data if data is not None else _fake_jpeg(width, height)
        sizes = []
        for w, h in ((90, 90 * height // width), (320, 320 * height // width), (width, height)):
            payload = data if w == width else _fake_jpeg(w, h)
            f = self._store_file("photos", payload, mime_type="image/jpeg", suffix=".jpg", width=w, height=h)
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "file_size": len(payload),
                    "width": w,
                    "height": h,
                }
            )
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(chat_id, content, user_id, first_name, KEEP, username, language_code)

    def push_document(
        self,
        chat_id: int,
        *,
        filename: str = "dokumen.pdf",
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4\n%fake\n",
        caption: str | None = None,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends a file as a document."""
        f = self._store_file("documents", data, mime_type=mime_type, file_name=filename)
        content: JSON = {
            "document": {
                "file_name": filename,
                "mime_type": mime_type,
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "file_size": len(data),
            }
        }
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(chat_id, content, user_id, first_name, KEEP, username, language_code)

    def push_location(
        self,
        chat_id: int,
        latitude: float = -6.2,
        longitude: float = 106.816666,
        *,
        address: str | None = None,
        title: str | None = None,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person shares a location; with ``address`` it is a venue (as Telegram sends those)."""
        location = {"latitude": latitude, "longitude": longitude}
        content: JSON = {"location": location}
        if address is not None:
            content["venue"] = {"location": location, "title": title or address, "address": address}
        return self._push_user_message(chat_id, content, user_id, first_name, KEEP, username, language_code)

    def push_contact(
        self,
        chat_id: int,
        phone_number: str = "+6281234567890",
        *,
        contact_first_name: str = "Budi",
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person shares a contact (their own by default: ``user_id`` = the sender)."""
        sender = user_id if user_id is not None else self._default_user_id(chat_id)
        content = {"contact": {"phone_number": phone_number, "first_name": contact_first_name, "user_id": sender}}
        return self._push_user_message(chat_id, content, user_id, first_name, KEEP, username, language_code)

    def push_sticker(
        self,
        chat_id: int,
        *,
        emoji: str = "👍",
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends a sticker."""
        f = self._store_file(
            "stickers", b"RIFF\x00\x00\x00\x00WEBP", mime_type="image/webp", suffix=".webp", width=512, height=512
        )
        sticker = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(f.data),
        }
        return self._push_user_message(
            chat_id, {"sticker": sticker}, user_id, first_name, KEEP, username, language_code
        )

    def push_voice(
        self,
        chat_id: int,
        *,
        duration: int = 3,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends a voice note."""
        f = self._store_file("voice", b"OggS" + bytes(60), mime_type="audio/ogg", suffix=".oga")
        voice = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(f.data),
        }
        return self._push_user_message(chat_id, {"voice": voice}, user_id, first_name, KEEP, username, language_code)

    def push_audio(
        self,
        chat_id: int,
        *,
        duration: int = 95,
        filename: str = "rekaman.mp3",
        mime_type: str = "audio/mpeg",
        caption: str | None = None,
        user_id: int | None = None,
        first_name: str | _Keep = KEEP,
        username: str | None | _Keep = KEEP,
        language_code: str | None | _Keep = KEEP,
    ) -> JSON:
        """A person sends an audio file (shown in the music player, unlike a voice note)."""
        f = self._store_file("audio", b"ID3\x04" + bytes(60), mime_type=mime_type, file_name=filename)
        audio = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(f.data),
        }
        content: JSON = {"audio": audio}
        if caption is not None:
            content["caption"] = caption
        return self._push_user_message(chat_id, content, user_id, first_name, KEEP, username, language_code)

    @property
    def pending_updates(self) -> list[JSON]:
        """Queued updates not yet confirmed by an ``offset``."""
        return [e.update for e in self._queue]

    # ---- faults ---------------------------------------------------------------------------
    def fail_next(self, method: str, status: Fault = 500, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` fail before being processed: with HTTP ``status``
        (429 carries ``retry_after: 1``, 502 an nginx HTML page), ``"reset"`` (the connection is
        dropped without an answer) or ``"timeout"`` (no answer until the client gives up)."""
        if not (isinstance(status, int) or status in ("reset", "timeout")):
            raise ValueError(f"unknown fault {status!r}")
        self._faults.setdefault(method.lower(), []).append([status, count])

    def block_chat(self, chat_id: int) -> None:
        """The person blocked the bot: sends to the chat answer 403."""
        self._blocked.add(int(chat_id))

    def forbid_voice(self, chat_id: int) -> None:
        """The person's privacy settings refuse voice messages (Telegram Premium): ``sendVoice``
        to the chat answers 400 ``VOICE_MESSAGES_FORBIDDEN``."""
        self._no_voice.add(int(chat_id))

    def unblock_chat(self, chat_id: int) -> None:
        self._blocked.discard(int(chat_id))

    def missing_chat(self, chat_id: int) -> None:
        """The chat does not exist: calls for it answer 400 ``chat not found``."""
        self._missing.add(int(chat_id))

    # ---- inspection -----------------------------------------------------------------------
    def sent(self, chat_id: int | str | None = None, method: str | None = None) -> list[JSON]:
        """Messages the server accepted (``sendMessage``/``sendPhoto``/``sendDocument``/``sendVoice``/
        ``sendAudio``), in order.

        Each is a dict with ``chat_id``, ``message_id``, ``method``, ``text`` (as sent; the caption
        for media), ``visible_text`` (after HTML parsing), ``parse_mode``, ``entities``,
        ``reply_markup`` (a dict), ``media`` (for photos/documents/voice/audio), ``message`` (the Message
        returned to the bot) and ``time``.
        """
        items = self._sent if chat_id is None else self._sent_by_chat.get(int(chat_id), [])
        if method is None:
            return list(items)
        wanted = method.lower()
        return [s for s in items if s["method"].lower() == wanted]

    def file_data(self, file_id: str) -> bytes:
        """The bytes of a file the server holds (a person's voice note, an uploaded document)."""
        return self._files[file_id].data

    def edits(self, chat_id: int | str | None = None) -> list[JSON]:
        """Accepted ``editMessageText``/``editMessageReplyMarkup`` calls (same keys as :meth:`sent`)."""
        return [e for e in self._edits if chat_id is None or e["chat_id"] == int(chat_id)]

    async def wait_for_sent(
        self, count: int, chat_id: int | str | None = None, timeout: float = 5.0, *, method: str | None = None
    ) -> list[JSON]:
        """Wait until at least ``count`` messages were accepted (for ``chat_id``, or at all) and
        return all of them (:meth:`sent`); AssertionError with a dump of the traffic on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = self.sent(chat_id, method)
            if len(got) >= count:
                return got
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._dump(count, chat_id, got, timeout))
            try:
                await asyncio.wait_for(self._sent_changed.wait(), remaining)
            except TimeoutError:
                pass

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The command list set with ``setMyCommands`` for that scope and language."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    @property
    def webhook_url(self) -> str:
        return self._webhook.get("url", "")

    @property
    def webhook_secret(self) -> str | None:
        return self._webhook.get("secret_token")

    async def deliver_webhook(
        self, url: str, update: JSON, secret_token: str | None = None, *, timeout: float = 10.0
    ) -> int:
        """POST ``update`` to the bot's webhook like Telegram does (JSON body, the secret in
        ``X-Telegram-Bot-Api-Secret-Token`` when given); returns the HTTP status."""
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers[SECRET_HEADER] = secret_token
        async with self._client.post(
            url, data=json.dumps(update).encode(), headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            await response.read()
            return response.status

    def _dump(self, count: int, chat_id: int | str | None, got: list[JSON], timeout: float) -> str:
        where = f" to chat {chat_id}" if chat_id is not None else ""
        lines = [f"expected at least {count} message(s){where} within {timeout}s, got {len(got)}:"]
        lines += [f"  {s['method']} #{s['message_id']}: {s['visible_text'][:200]!r}" for s in got]
        errors = [e for e in self.errors if chat_id is None or str(e.params.get("chat_id")) == str(chat_id)]
        if errors:
            lines.append(f"errors answered{where} (last 10 of {len(errors)}):")
            lines += [f"  {e.method} -> {e.status} {e.description}" for e in errors[-10:]]
        lines.append(
            f"{len(self.requests)} request(s) in total, {len(self._sent)} message(s) to all chats, "
            f"{len(self._queue)} update(s) not confirmed, {len(self._pollers)} long poll(s) waiting"
        )
        recent = [
            f"{r.method}({', '.join(f'{k}={str(v)[:40]!r}' for k, v in r.params.items())})" for r in self.requests[-8:]
        ]
        if recent:
            lines.append("last requests: " + "; ".join(recent))
        return "\n".join(lines)

    # ---- HTTP -----------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        m = _API_PATH.match(request.path)
        if m is None:
            fm = _FILE_PATH.match(request.path)
            if fm is not None and fm.group(1) == self.token and fm.group(2) in self._files_by_path:
                return web.Response(body=self._files_by_path[fm.group(2)].data, content_type="application/octet-stream")
            return self._error_response(404, "Not Found")
        token, method = m.groups()
        if token != self.token:
            return self._error_response(
                401 if _TOKEN_FORMAT.match(token) else 404,
                "Unauthorized" if _TOKEN_FORMAT.match(token) else "Not Found",
            )
        try:
            params, files = await self._read_params(request)
        except ApiError as exc:
            return self._error_response(exc.code, exc.description)
        self.requests.append(RecordedRequest(method, params, time.monotonic()))
        key = method.lower()
        faults = self._faults.get(key)
        if faults:
            fault = faults[0]
            fault[1] -= 1
            if fault[1] <= 0:
                faults.pop(0)
            return await self._inject(request, method, params, fault[0])
        handler = self._methods.get(key)
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, files)
        except ApiError as exc:
            self.errors.append(RecordedError(method, params, exc.code, exc.description, time.monotonic()))
            if exc.code == 429:
                self.rejected_429 += 1
            return self._error_response(exc.code, exc.description, exc.parameters)
        return web.Response(
            body=json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    @staticmethod
    def _error_response(code: int, description: str, parameters: JSON | None = None) -> web.Response:
        body: JSON = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.Response(status=code, body=json.dumps(body).encode(), content_type="application/json")

    async def _inject(self, request: web.BaseRequest, method: str, params: JSON, fault: Fault) -> web.StreamResponse:
        self.errors.append(RecordedError(method, params, fault, f"injected fault: {fault}", time.monotonic()))
        if fault == "timeout":
            try:  # until the client hangs up (the handler is cancelled), or the server closes
                await asyncio.wait_for(self._closed.wait(), 600)
            except TimeoutError:
                pass
            fault = "reset"
        if fault == "reset":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing to answer on a dropped connection
        assert isinstance(fault, int)
        if fault == 502:
            return web.Response(
                status=502,
                text=(
                    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
                    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
                ),
                content_type="text/html",
            )
        try:
            phrase = HTTPStatus(fault).phrase
        except ValueError:
            phrase = "Error"
        if fault == 429:
            self.rejected_429 += 1
            return self._error_response(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        return self._error_response(fault, phrase)

    async def _read_params(self, request: web.BaseRequest) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON: invalid request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON object expected in the request body")
                params.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    upload = UploadedFile(value.filename, value.content_type, value.file.read())
                    files[name] = upload
                    params[name] = upload
                else:
                    params[name] = value
        else:
            await request.read()
        return params, files

    # ---- helpers --------------------------------------------------------------------------
    def _default_user_id(self, chat_id: int) -> int:
        return chat_id if chat_id > 0 else 424242

    def _user(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str | _Keep,
        last_name: str | None | _Keep,
        username: str | None | _Keep,
        language_code: str | None | _Keep,
    ) -> JSON:
        """The sender as a User dict; profile fields not given stay what they were for this user."""
        uid = user_id if user_id is not None else self._default_user_id(chat_id)
        profile = self._profiles.setdefault(
            uid, {"first_name": "Budi", "last_name": None, "username": None, "language_code": "id"}
        )
        for name, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value is not KEEP:
                profile[name] = value
        user: JSON = {"id": uid, "is_bot": False, "first_name": profile["first_name"]}
        for name in ("last_name", "username", "language_code"):
            if profile[name]:
                user[name] = profile[name]
        if chat_id > 0:
            chat: JSON = {"id": chat_id, "first_name": profile["first_name"]}
            for name in ("last_name", "username"):
                if profile[name]:
                    chat[name] = profile[name]
            chat["type"] = "private"
            self._chats[chat_id] = chat
        return user

    def _chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "first_name": "Budi", "type": "private"}
            elif chat_id <= -1_000_000_000_000:
                chat = {"id": chat_id, "title": f"Grup {chat_id}", "type": "supergroup"}
            else:
                chat = {
                    "id": chat_id,
                    "title": f"Grup {chat_id}",
                    "type": "group",
                    "all_members_are_administrators": False,
                }
            self._chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        """Message ids count per chat, shared by the person's and the bot's messages."""
        mid = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = mid
        return mid

    def _push_user_message(
        self,
        chat_id: int,
        content: JSON,
        user_id: int | None,
        first_name: str | _Keep,
        last_name: str | None | _Keep,
        username: str | None | _Keep,
        language_code: str | None | _Keep,
    ) -> JSON:
        chat_id = int(chat_id)
        user = self._user(chat_id, user_id, first_name, last_name, username, language_code)
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        return self.push_update({"update_id": self._next_update_id, "message": message})

    def _store_file(
        self,
        folder: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
        suffix: str = "",
        width: int | None = None,
        height: int | None = None,
    ) -> _StoredFile:
        self._file_counter += 1
        n = self._file_counter
        if not suffix and file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = _StoredFile(
            file_id=f"AgACAgUAAxkBAAI{n:08d}{folder[:3].upper()}fake",
            file_unique_id=f"AQAD{n:06d}",
            file_path=f"{folder}/file_{n}{suffix}",
            data=data,
            mime_type=mime_type,
            file_name=file_name,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _target_chat(self, params: JSON) -> int:
        """``chat_id`` parsed and checked against the blocked and missing chats."""
        value = params.get("chat_id")
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id == 0 or chat_id in self._missing:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            if chat_id > 0:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat_id

    def _format(
        self, text: str, parse_mode: Any, raw_entities: Any, what: str = "message text"
    ) -> tuple[str, list[JSON] | None]:
        if parse_mode is None or parse_mode == "":
            entities = raw_entities if isinstance(raw_entities, list) else None
            return text, entities
        mode = str(parse_mode).lower()
        if mode not in _PARSE_MODES:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        if mode != "html":
            return text, None
        try:
            return parse_html(text)
        except EntityParseError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None

    def _reply_markup(self, params: JSON) -> JSON | None:
        markup = _json_param(params, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(
                    400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
                        raise ApiError(
                            400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    elif not any(
                        k in button
                        for k in (
                            "url",
                            "login_url",
                            "switch_inline_query",
                            "switch_inline_query_current_chat",
                            "switch_inline_query_chosen_chat",
                            "callback_game",
                            "pay",
                            "web_app",
                            "copy_text",
                        )
                    ):
                        raise ApiError(
                            400,
                            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed "
                            "in the inline keyboard",
                        )
        return markup

    def _rate_limit(self, chat_id: int) -> None:
        if not self.rate_limits:
            return
        now = time.monotonic()
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            bucket = self._chat_buckets[chat_id] = TokenBucket(self.per_chat_per_second, self.per_chat_burst)
        wait = max(bucket.wait_time(now), self._global_bucket.wait_time(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        bucket.take()
        self._global_bucket.take()

    def _record_sent(
        self,
        method: str,
        chat_id: int,
        message: JSON,
        *,
        text: str,
        visible: str,
        parse_mode: Any,
        entities: list[JSON] | None,
        markup: JSON | None,
        media: JSON | None = None,
        edit: bool = False,
    ) -> None:
        record: JSON = {
            "chat_id": chat_id,
            "message_id": message["message_id"],
            "method": method,
            "text": text,
            "visible_text": visible,
            "parse_mode": parse_mode,
            "entities": entities or [],
            "reply_markup": markup,
            "media": media,
            "message": message,
            "time": time.monotonic(),
        }
        if edit:
            self._edits.append(record)
        else:
            self._sent.append(record)
            self._sent_by_chat.setdefault(chat_id, []).append(record)
        event, self._sent_changed = self._sent_changed, asyncio.Event()
        event.set()

    def _bot_message(self, chat_id: int, content: JSON, markup: JSON | None) -> JSON:
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        self._messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return '{"type": "default"}'
        return json.dumps(scope, sort_keys=True)

    # ---- methods --------------------------------------------------------------------------
    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        offset = _int_param(params, "offset", 0) or 0
        limit = min(100, max(1, _int_param(params, "limit", 100) or 100))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: invalid timeout specified") from None
        self._confirm(offset)
        self._conflict_pollers(
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        )
        poll = _Poll()
        self._pollers.add(poll)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                batch = self._select(offset, limit)
                remaining = deadline - loop.time()
                if batch or self._closing or remaining <= 0:
                    break
                poll.event.clear()
                try:
                    await asyncio.wait_for(poll.event.wait(), remaining)
                except TimeoutError:
                    pass
                if poll.conflict:
                    raise ApiError(409, poll.conflict)
        finally:
            self._pollers.discard(poll)
        for entry in batch:
            entry.returned = True
        return [entry.update for entry in batch]

    def _confirm(self, offset: int) -> None:
        """Forget the updates an ``offset`` confirms (see :meth:`push_update` for redeliveries)."""
        if offset > 0:
            self._queue = [e for e in self._queue if e.update_id >= offset or (e.sticky and not e.returned)]
        elif offset < 0:
            self._queue = self._queue[offset:]

    def _select(self, offset: int, limit: int) -> list[_Queued]:
        if offset <= 0:
            return self._queue[:limit]
        return [e for e in self._queue if e.update_id >= offset or (e.sticky and not e.returned)][:limit]

    def _conflict_pollers(self, description: str) -> None:
        for poll in self._pollers:
            poll.conflict = description
            poll.event.set()

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, files)
        if not url.lower().startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        port = URL(url).port
        if port not in (None, 443, 80, 88, 8443):
            raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise ApiError(400, "Bad Request: bad webhook: secret token contains unallowed characters")
        if _bool_param(params, "drop_pending_updates"):
            self._queue.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": _json_param(params, "allowed_updates"),
            "max_connections": _int_param(params, "max_connections", 40),
        }
        self._conflict_pollers("Conflict: terminated by setWebhook request")
        return True

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        if _bool_param(params, "drop_pending_updates"):
            self._queue.clear()
        self._webhook = {}
        return True

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self._webhook.get("url"):
            info["max_connections"] = self._webhook.get("max_connections") or 40
            info["ip_address"] = "127.0.0.1"
            if self._webhook.get("allowed_updates"):
                info["allowed_updates"] = self._webhook["allowed_updates"]
        return info

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return self._scope_key(_json_param(params, "scope")), language

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        for c in commands:
            if not isinstance(c, dict) or not _BOT_COMMAND_NAME.match(str(c.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self._commands.pop(key, None)
        return True

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return list(self._commands.get(self._commands_key(params), []))

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        visible, entities = self._format(text, params.get("parse_mode"), _json_param(params, "entities"))
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._reply_markup(params)
        self._rate_limit(chat_id)
        content: JSON = {"text": visible}
        if entities:
            content["entities"] = entities
        message = self._bot_message(chat_id, content, markup)
        self._record_sent(
            "sendMessage",
            chat_id,
            message,
            text=text,
            visible=visible,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            markup=markup,
        )
        return message

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("sendPhoto", "photo", params, files)

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("sendDocument", "document", params, files)

    async def _send_voice(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        if self._target_chat(params) in self._no_voice:
            raise ApiError(400, "Bad Request: VOICE_MESSAGES_FORBIDDEN")
        return await self._send_media("sendVoice", "voice", params, files)

    async def _send_audio(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return await self._send_media("sendAudio", "audio", params, files)

    async def _send_media(
        self,
        method: str,
        kind: Literal["photo", "document", "voice", "audio"],
        params: JSON,
        files: dict[str, UploadedFile],
    ) -> JSON:
        chat_id = self._target_chat(params)
        stored = self._media_input(kind, params, files)
        caption = params.get("caption")
        caption = caption if isinstance(caption, str) else ""
        visible, entities = (
            self._format(caption, params.get("parse_mode"), _json_param(params, "caption_entities"))
            if caption
            else ("", None)
        )
        if len(visible) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        markup = self._reply_markup(params)
        self._rate_limit(chat_id)
        if kind == "photo":
            w, h = stored.width or 1280, stored.height or 960
            small_w = min(90, w)
            content: JSON = {
                "photo": [
                    {
                        "file_id": stored.file_id + "s",
                        "file_unique_id": stored.file_unique_id + "s",
                        "file_size": min(len(stored.data), 1500),
                        "width": small_w,
                        "height": max(1, h * small_w // w),
                    },
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "file_size": len(stored.data),
                        "width": w,
                        "height": h,
                    },
                ]
            }
        elif kind in ("voice", "audio"):
            sound: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": _int_param(params, "duration") or 1,
                "file_size": len(stored.data),
            }
            if stored.mime_type:
                sound["mime_type"] = stored.mime_type
            content = {kind: sound}
        else:
            document: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
            }
            if stored.file_name:
                document["file_name"] = stored.file_name
            if stored.mime_type:
                document["mime_type"] = stored.mime_type
            content = {"document": document}
        if visible:
            content["caption"] = visible
            if entities:
                content["caption_entities"] = entities
        message = self._bot_message(chat_id, content, markup)
        media = {
            "file_id": stored.file_id,
            "filename": stored.file_name,
            "mime_type": stored.mime_type,
            "size": len(stored.data),
            "data": stored.data,
            "url": stored.url,
        }
        self._record_sent(
            method,
            chat_id,
            message,
            text=caption,
            visible=visible,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            markup=markup,
            media=media,
        )
        return message

    def _media_input(self, kind: str, params: JSON, files: dict[str, UploadedFile]) -> _StoredFile:
        """The uploaded file (multipart, also via ``attach://name``) or a known file id / URL."""
        value = params.get(kind)
        upload = files.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, f'Bad Request: can\'t find attached file "{value}"')
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(upload.data) > (10 if kind == "photo" else 50) * 1024 * 1024:
                raise ApiError(400, "Bad Request: file is too big")
            size = _image_size(upload.data) if kind == "photo" else None
            return self._store_file(
                "photos" if kind == "photo" else kind if kind in ("voice", "audio") else "documents",
                upload.data,
                mime_type=upload.content_type or ("image/jpeg" if kind == "photo" else None),
                file_name=None if kind == "photo" else (upload.filename or "file"),
                suffix=".jpg" if kind == "photo" else "",
                width=size[0] if size else None,
                height=size[1] if size else None,
            )
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            stored = self._store_file(
                "photos" if kind == "photo" else "documents",
                b"",
                mime_type=None,
                file_name=None if kind == "photo" else value.rsplit("/", 1)[-1] or "file",
            )
            stored.url = value
            return stored
        stored = self._files.get(value)
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        folder = stored.file_path.split("/", 1)[0]
        if kind in ("voice", "audio") and folder != kind:  # Telegram keeps a file's type with its id
            raise ApiError(400, f"Bad Request: can't use file of type {folder} as {kind.capitalize()}")
        return stored

    def _message_to_edit(self, params: JSON) -> tuple[int, JSON] | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._target_chat(params)
        message_id = _int_param(params, "message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, message

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        target = self._message_to_edit(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        visible, entities = self._format(text, params.get("parse_mode"), _json_param(params, "entities"))
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(visible) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._reply_markup(params)
        if target is None:
            return True
        chat_id, message = target
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        new_markup = markup if markup is not None and "inline_keyboard" in markup else None
        if (
            message["text"] == visible
            and (message.get("entities") or None) == (entities or None)
            and message.get("reply_markup") == new_markup
        ):
            raise ApiError(400, _NOT_MODIFIED)
        self._rate_limit(chat_id)
        message["text"] = visible
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        self._record_sent(
            "editMessageText",
            chat_id,
            message,
            text=text,
            visible=visible,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            markup=markup,
            edit=True,
        )
        return message

    async def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        target = self._message_to_edit(params)
        markup = self._reply_markup(params)
        if target is None:
            return True
        chat_id, message = target
        new_markup = markup if markup is not None and markup.get("inline_keyboard") else None
        if message.get("reply_markup") == new_markup:
            raise ApiError(400, _NOT_MODIFIED)
        self._rate_limit(chat_id)
        message.pop("reply_markup", None)
        if new_markup is not None:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        visible = message.get("text", message.get("caption", ""))
        self._record_sent(
            "editMessageReplyMarkup",
            chat_id,
            message,
            text=visible,
            visible=visible,
            parse_mode=None,
            entities=message.get("entities"),
            markup=markup,
            edit=True,
        )
        return message

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._target_chat(params)
        message_id = _int_param(params, "message_id")
        if message_id is None or self._messages.pop((chat_id, message_id), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }


# ---- media helpers --------------------------------------------------------------------------
def _fake_jpeg(width: int, height: int) -> bytes:
    """A few bytes that start like a JPEG with the given size (SOF0); not a decodable image."""
    sof = (
        b"\xff\xc0\x00\x11\x08"
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + b"\xff\xd9"


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG, from its header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None
