"""WhatsApp through Meta's Cloud API (the Graph API), over aiohttp.

Inbound: Meta POSTs webhook payloads to ``/webhooks/whatsapp``. The body's ``X-Hub-Signature-256``
(HMAC-SHA256 of the raw bytes with the app secret) is checked in constant time *before* anything
is parsed; the request is acknowledged at once and the messages are handled in background tasks
(one ordered chain per person; references kept, awaited at shutdown). :func:`parse_webhook`
turns a payload into :class:`~bot.domain.messages.Inbound` messages and delivery :class:`StatusUpdate` s;
nothing of WhatsApp's JSON passes this module. Redeliveries (Meta retries for days) are
deduplicated by the dispatcher on ``("whatsapp", wamid)``.

Outbound: :func:`render` (pure) turns a :class:`~bot.domain.messages.Reply` into Cloud API message bodies
that are stored in the outbox; :meth:`WhatsAppChannel.send` posts one of them. Choices become
reply buttons (≤ 3, titles ≤ 20), a list message (≤ 10 rows, titles ≤ 24, truncated with "…"
and the full label as the row description) or, beyond that, numbered text. A typed number
answers a numbered menu or a list (the n-th row): the choice values are stored in the menu's
outbox row (``_numbered``), and an inbound bare number is resolved against the newest message
sent to that person, so the channel itself keeps no state across restarts. Reply buttons are
not numbered: a number typed after them stays text (answers such as a count or a year). Images
and documents are uploaded (``POST /{phone-number-id}/media``) and sent by media id.

The 24-hour customer-service window: replies are free-form (the person just wrote). Payloads of
notifications (``Reply.purpose != "reply"``) are marked; when the person's last message is older
than 24 h (less a small margin), the first part goes out as the approved template named in settings with the text as
its one body parameter, and the other parts are recorded as not sent. Without a template such a
notification fails for good with a clear ``last_error``.

Private keys in stored payloads start with ``_`` and are never sent to Meta.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.domain.i18n import N_, gettext
from bot.domain.messages import (
    Attachment,
    Choice,
    Contact,
    Inbound,
    Kind,
    Location,
    Photo,
    Reply,
    SendError,
    SendResult,
)

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/webhooks/whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_WEBHOOK_BODY = 512 * 1024

MAX_TEXT = 4096  # text message body
MAX_BODY = 1024  # interactive body, media caption
MAX_HEADER = 60
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
#: the notice template's one body parameter; keep the template's own text short
MAX_TEMPLATE_PARAM = 700
WINDOW = timedelta(hours=24)
#: the window is taken as closed this much early: our "last message" is when it was handled,
#: which may be a little after the person sent it (Meta counts from sending)
WINDOW_MARGIN = timedelta(minutes=10)

#: the renderer's own small texts, translated through the catalog in the language named by
#: ``Reply.extra["lang"]`` (Indonesian when the reply does not say)
LIST_BUTTON = N_("Pilih")
NUMBERED_HINT = N_("Balas dengan angka 1–{n}.")
CHOOSE = N_("Silakan pilih:")

Handle = Callable[[Inbound], Awaitable[Any]]
LastInbound = Callable[[str], Awaitable[datetime | None]]
RecordStatus = Callable[[str, str, datetime, str | None], Awaitable[bool]]
LastPayload = Callable[[str], Awaitable[dict[str, Any] | None]]

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
RATE_LIMIT_WAIT = {4: 60.0, 80007: 60.0, 130429: 2.0, 131048: 300.0, 131056: 6.0, 133016: 60.0}
TRANSIENT_CODES = {1, 2, 131000, 131016, 131057, 133004}
PERMANENT_HINTS = {
    131047: "re-engagement required: more than 24 hours since the person last wrote (send a template)",
    131026: "message undeliverable (the number is not on WhatsApp, has not accepted the terms, or uses an old app)",
    190: "access token expired or invalid: renew KANAL_WHATSAPP_TOKEN",
    100: "invalid parameter",
    131051: "unsupported message type",
}


# ---- lengths ----------------------------------------------------------------------------
def wlen(text: str) -> int:
    """Length in UTF-16 code units: never less than what Meta counts (emoji may count twice)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)


def clip(text: str, limit: int) -> str:
    """``text`` if it fits, else cut and ended with "…" (never fails on long labels)."""
    if wlen(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)].rstrip() + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of ≤ ``limit`` units, cut at a paragraph, line or word boundary when one is near."""
    parts: list[str] = []
    rest = text
    while wlen(rest) > limit:
        n = max(1, _fit(rest, limit))
        window = rest[:n]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut >= n // 2:
                break
        if cut < n // 2:
            cut = n
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip("\n ")
    if rest or not parts:
        parts.append(rest)
    return parts


def split_tail(text: str, limit: int) -> tuple[str, str]:
    """``(head, tail)`` with ``tail`` ≤ ``limit`` units, cut at a boundary near its start."""
    if wlen(text) <= limit:
        return "", text
    start = len(text) - _fit(text[::-1], limit)
    window = text[start:]
    for sep in ("\n\n", "\n", " "):
        k = window.find(sep)
        if 0 <= k <= len(window) // 2:
            start += k
            break
    return text[:start].rstrip(), text[start:].lstrip("\n ")


def flatten(text: str, limit: int = MAX_TEMPLATE_PARAM) -> str:
    """One line for a template parameter: Meta refuses new lines, tabs and runs of spaces."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return clip(" · ".join(line for line in lines if line), limit)


# ---- rendering: Reply -> Cloud API message bodies (pure) ---------------------------------
def _bold(title: str) -> str:
    return "*" + title.replace("*", "").strip() + "*"


def _with_title(title: str | None, text: str) -> str:
    if not title:
        return text
    return _bold(title) + ("\n" + text if text else "")


def choice_style(choices: Iterable[Choice]) -> str:
    """``"buttons"``, ``"list"`` or ``"numbered"`` for these choices."""
    cs = list(choices)
    labels = [c.label for c in cs]
    if len({c.value for c in cs}) != len(cs):
        return "numbered"
    if len(cs) <= MAX_BUTTONS and all(wlen(x) <= MAX_BUTTON_TITLE for x in labels) and len(set(labels)) == len(labels):
        return "buttons"
    if len(cs) <= MAX_ROWS:
        return "list"
    return "numbered"


def row_titles(labels: list[str]) -> list[str]:
    """List-row titles (≤ 24): the labels, cut with "…" where longer (the row's description then
    carries the whole label). When cutting makes two titles equal, every row is numbered
    ("2. Tempat Pelayanan D…"), which is also the number a person may type instead of tapping."""
    titles = [clip(x, MAX_ROW_TITLE) for x in labels]
    if len(set(titles)) == len(titles):
        return titles
    return [clip(f"{i}. {x}", MAX_ROW_TITLE) for i, x in enumerate(labels, start=1)]


def _interactive(
    style: str, body: str, header: str | None, choices: tuple[Choice, ...], tr: Callable[..., str]
) -> dict[str, Any]:
    inter: dict[str, Any]
    if style == "buttons":
        inter = {
            "type": "button",
            "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": c.value, "title": c.label}} for c in choices]},
        }
    else:
        rows = []
        for c, title in zip(choices, row_titles([c.label for c in choices]), strict=False):
            row = {"id": c.value, "title": title}
            if not title.endswith(c.label):  # cut: the description shows the whole label
                row["description"] = clip(c.label, MAX_ROW_DESCRIPTION)
            rows.append(row)
        inter = {
            "type": "list",
            "body": {"text": body},
            "action": {"button": clip(tr(LIST_BUTTON), MAX_LIST_BUTTON), "sections": [{"rows": rows}]},
        }
    if header:
        inter["header"] = {"type": "text", "text": header}
    payload: dict[str, Any] = {"type": "interactive", "interactive": inter}
    if style == "list":
        payload["_numbered"] = [c.value for c in choices]  # a typed "3" picks the 3rd row
    return payload


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _media(kind: str, att: Attachment) -> dict[str, Any]:
    media: dict[str, Any] = {}
    payload: dict[str, Any] = {"type": kind, kind: media}
    if att.data is not None:
        payload["_upload"] = {
            "data_b64": base64.b64encode(att.data).decode(),
            "filename": att.filename,
            "mime_type": att.mime_type,
        }
    else:
        media["id"] = att.file_ref
    if kind == "document":
        media["filename"] = att.filename
    return payload


def render(reply: Reply) -> list[dict[str, Any]]:
    """Cloud API message bodies (without ``to``) for one Reply, in sending order.

    Media go before the message that carries the choices, so the choices are the last thing
    the person sees (and the newest message when they type a number).
    """
    lang = reply.extra.get("lang") if isinstance(reply.extra.get("lang"), str) else "id"

    def tr(msgid: str, **values: Any) -> str:
        return gettext(lang, msgid, **values)

    media = [
        _media(kind, att) for kind, att in (("image", reply.image), ("document", reply.document)) if att is not None
    ]
    text = reply.text or ""
    payloads: list[dict[str, Any]] = []
    style = choice_style(reply.choices) if reply.choices else None
    if style in ("buttons", "list"):
        if wlen(text) <= MAX_BODY and (not reply.title or wlen(reply.title) <= MAX_HEADER):
            head, body, header = "", text, reply.title or None
        else:
            head, body = split_tail(_with_title(reply.title, text), MAX_BODY)
            header = None
        payloads += [_text(part) for part in split_text(head)] if head else []
        payloads += media
        payloads.append(_interactive(style, body or tr(CHOOSE), header, reply.choices, tr))
    else:
        full = _with_title(reply.title, text)
        if style == "numbered":
            menu = "\n".join(f"{i}. {c.label}" for i, c in enumerate(reply.choices, start=1))
            full = (full + "\n\n" if full else "") + menu + "\n\n" + tr(NUMBERED_HINT, n=len(reply.choices))
        if style is None and len(media) == 1 and full and wlen(full) <= MAX_BODY:
            media[0][media[0]["type"]]["caption"] = full
            payloads = media
        elif style is None:
            payloads = ([_text(part) for part in split_text(full)] if full else []) + media
        else:
            parts = split_text(full)
            payloads = [_text(part) for part in parts[:-1]] + media + [_text(parts[-1])]
            payloads[-1]["_numbered"] = [c.value for c in reply.choices]
    if reply.purpose != "reply" and payloads:
        for p in payloads:
            p["_notify"] = True
        payloads[0]["_template"] = flatten(f"{reply.title}: {text}" if reply.title and text else (reply.title or text))
    return payloads


# ---- parsing: webhook JSON -> Inbound / StatusUpdate (pure) ------------------------------
@dataclass(frozen=True, slots=True)
class StatusUpdate:
    message_id: str  # the wamid our send returned
    status: str  # sent | delivered | read | failed (others are passed through)
    at: datetime
    recipient: str | None = None
    error: str | None = None  # for failed: "131047 Re-engagement message: …"


@dataclass
class WebhookEvents:
    messages: list[Inbound] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # errors Meta reported about the account/app


def describe_error(code: Any, title: Any = None, details: Any = None) -> str:
    """One line for ``last_error``: code, title, details, and what it means for us."""
    try:
        n = int(code)
    except (TypeError, ValueError):
        n = None
    words = [str(code)] if code is not None else []
    if title:
        words.append(str(title)[:200])
    text = " ".join(words)
    if details and str(details) != str(title):
        text += f": {str(details)[:300]}"
    hint = PERMANENT_HINTS.get(n) if n is not None else None
    return f"{hint} ({text})" if hint else text


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _ts(raw: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_webhook(data: Any, *, phone_number_id: str | None = None) -> WebhookEvents:
    """Messages and statuses of one webhook payload; changes for another business number
    (``phone_number_id`` given) and anything that is not a ``messages`` change are skipped."""
    out = WebhookEvents()
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        return out
    for entry in _dicts(data.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            if phone_number_id and str(metadata.get("phone_number_id", "")) != phone_number_id:
                continue
            names: dict[str, str | None] = {}
            for c in _dicts(value.get("contacts")):
                if c.get("wa_id"):
                    profile = c.get("profile") if isinstance(c.get("profile"), dict) else {}
                    names[str(c["wa_id"])] = profile.get("name") if isinstance(profile.get("name"), str) else None
            for msg in _dicts(value.get("messages")):
                try:
                    inbound = parse_message(msg, names)
                except (KeyError, TypeError, ValueError, AttributeError):
                    log.warning("whatsapp message %s could not be read; skipped", str(msg.get("id"))[-12:])
                    continue
                if inbound is not None:
                    out.messages.append(inbound)
            for st in _dicts(value.get("statuses")):
                update = parse_status(st)
                if update is not None:
                    out.statuses.append(update)
            for err in _dicts(value.get("errors")):
                out.errors.append(
                    describe_error(
                        err.get("code"),
                        err.get("title"),
                        (err.get("error_data") or {}).get("details")
                        if isinstance(err.get("error_data"), dict)
                        else None,
                    )
                )
    return out


def parse_status(st: dict[str, Any]) -> StatusUpdate | None:
    mid, status = st.get("id"), st.get("status")
    if not isinstance(mid, str) or not isinstance(status, str) or not mid:
        return None
    error = None
    errors = _dicts(st.get("errors"))
    if errors:
        e = errors[0]
        details = e.get("error_data", {}).get("details") if isinstance(e.get("error_data"), dict) else e.get("message")
        error = describe_error(e.get("code"), e.get("title"), details)
    recipient = st.get("recipient_id")
    return StatusUpdate(
        mid,
        status,
        _ts(st.get("timestamp")) or datetime.now(UTC),
        str(recipient) if recipient else None,
        error,
    )


def parse_message(msg: dict[str, Any], names: dict[str, str | None]) -> Inbound | None:
    """The normal form of one message, or None for what is not a person talking (reactions)."""
    wamid, sender = msg.get("id"), msg.get("from")
    if not isinstance(wamid, str) or not wamid or sender in (None, ""):
        return None
    sender = str(sender)
    key = sender if sender in names or len(names) != 1 else next(iter(names))
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_key": key,
        "external_id": wamid,
        "display_name": names.get(key),
        "received_at": _ts(msg.get("timestamp")),
    }
    kind = msg.get("type")
    if msg.get("group_id"):
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="group", **base)
    if kind == "reaction":
        return None  # an emoji on one of our messages: nothing to answer
    if kind == "text":
        return Inbound(kind=Kind.TEXT, text=str(msg["text"]["body"]), **base)
    if kind == "interactive":
        inter = msg["interactive"]
        sub = inter.get("type")
        if sub in ("button_reply", "list_reply"):
            value = str(inter[sub]["id"])
            return Inbound(kind=Kind.CHOICE, choice=value, **base)
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type=str(sub or "interactive")[:32], **base)
    if kind == "button":  # a quick-reply button of a template message: its text is what was "said"
        return Inbound(
            kind=Kind.TEXT, text=str(msg["button"].get("text") or msg["button"].get("payload") or ""), **base
        )
    if kind == "location":
        loc = msg["location"]
        address = loc.get("address") or loc.get("name")
        return Inbound(
            kind=Kind.LOCATION,
            location=Location(float(loc["latitude"]), float(loc["longitude"]), str(address) if address else None),
            **base,
        )
    if kind in ("image", "document") and (kind == "image" or str(msg[kind].get("mime_type", "")).startswith("image/")):
        media = msg[kind]
        return Inbound(
            kind=Kind.PHOTO,
            photo=Photo(file_ref=str(media["id"]), caption=media.get("caption"), mime_type=media.get("mime_type")),
            **base,
        )
    if kind == "contacts":
        cards = _dicts(msg.get("contacts"))
        card = cards[0] if cards else {}
        phones = _dicts(card.get("phones"))
        phone = next((str(p.get("wa_id") or p.get("phone")) for p in phones if p.get("wa_id") or p.get("phone")), "")
        name = card.get("name", {}).get("formatted_name") if isinstance(card.get("name"), dict) else None
        if phone:
            return Inbound(kind=Kind.CONTACT, contact=Contact(phone=phone, name=name), **base)
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="contacts", **base)
    if kind == "audio":
        return Inbound(
            kind=Kind.UNSUPPORTED, unsupported_type="voice" if msg["audio"].get("voice") else "audio", **base
        )
    if kind == "unsupported":
        detail = msg.get("unsupported", {}).get("type") if isinstance(msg.get("unsupported"), dict) else None
        return Inbound(kind=Kind.UNSUPPORTED, unsupported_type=str(detail or "unsupported")[:32], **base)
    return Inbound(kind=Kind.UNSUPPORTED, unsupported_type=str(kind or "unknown")[:32], **base)


NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


def numbered_choice(text: str | None, payload: dict[str, Any] | None) -> str | None:
    """The value a typed number picks from a numbered menu ``payload``, if it does."""
    m = NUMBER.match(text or "")
    values = payload.get("_numbered") if isinstance(payload, dict) else None
    if m is None or not isinstance(values, list):
        return None
    n = int(m.group(1))
    return str(values[n - 1]) if 1 <= n <= len(values) else None


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


# ---- the channel ------------------------------------------------------------------------
class WhatsAppChannel:
    name = CHANNEL
    render = staticmethod(render)

    def __init__(
        self,
        *,
        token: str,
        phone_number_id: str,
        app_secret: str,
        verify_token: str,
        api_base_url: str,
        handle: Handle,
        clock: Any,
        template_name: str | None = None,
        template_language: str = "id",
        last_inbound: LastInbound | None = None,
        record_status: RecordStatus | None = None,
        last_payload: LastPayload | None = None,
        request_timeout: float = 30.0,
    ) -> None:
        self._token = token
        self.phone_number_id = phone_number_id
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.api_base_url = api_base_url.rstrip("/")
        self._handle = handle
        self.clock = clock
        self.template_name = template_name
        self.template_language = template_language
        self._last_inbound = last_inbound
        self._record_status = record_status
        self._last_payload = last_payload
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self._tails: dict[str, asyncio.Task] = {}
        self._uploaded: OrderedDict[int, str] = OrderedDict()  # outbox row -> media id (a retry does not upload again)
        self._closing = False
        self.store_retry_window = 600.0  # seconds a webhook message is retried while the database is down
        self.status_retry_delays = (0.2, 0.5, 1.0, 2.0, 5.0)  # a status may beat the send's bookkeeping

    def __repr__(self) -> str:  # never show the token
        return f"WhatsAppChannel(phone_number_id={self.phone_number_id!r})"

    async def idle(self) -> None:
        """Return when every webhook message and status received so far has been handled."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def routes(self) -> list[web.RouteDef]:
        return [web.get(WEBHOOK_PATH, self.verify), web.post(WEBHOOK_PATH, self.webhook)]

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self._closing = False

    async def stop(self, timeout: float = 10.0) -> None:
        """Refuse new webhooks (Meta re-sends them), finish the ones being handled, close HTTP."""
        self._closing = True
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                log.warning(
                    "whatsapp: %d webhook messages still being handled at shutdown were left (Meta re-delivers unacknowledged ones only)",
                    len(pending),
                )
                await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- webhook ------------------------------------------------------------------------
    async def verify(self, request: web.Request) -> web.Response:
        """GET: Meta's subscription handshake; the verify token is compared in constant time."""
        q = request.query
        mode, given, challenge = q.get("hub.mode"), q.get("hub.verify_token", ""), q.get("hub.challenge")
        if (
            mode == "subscribe"
            and challenge is not None
            and hmac.compare_digest(given.encode(), self._verify_token.encode())
        ):
            log.info("whatsapp: webhook subscription verified")
            return web.Response(text=challenge[:256], content_type="text/plain")
        return web.Response(status=403, text="forbidden")

    async def webhook(self, request: web.Request) -> web.Response:
        """POST: size check, signature over the raw body, parse, acknowledge; handle in background."""
        if self._closing:
            return web.Response(status=503, text="stopping")
        if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()  # bounded by the server's client_max_size
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large")
        if len(body) > MAX_WEBHOOK_BODY:
            return web.Response(status=413, text="too large")
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            return web.Response(status=401, text="signature required")
        if not signature_ok(self._app_secret, body, header):
            log.warning("whatsapp webhook with a wrong signature refused")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return web.Response(status=400, text="bad json")
        if not isinstance(data, dict):
            return web.Response(status=400, text="bad payload")
        events = parse_webhook(data, phone_number_id=self.phone_number_id)
        for err in events.errors:
            log.warning("whatsapp webhook reports an error: %s", err)
        by_person: dict[str, list[Inbound]] = {}
        for inbound in events.messages:
            by_person.setdefault(inbound.user_key, []).append(inbound)
        for key, messages in by_person.items():
            self._spawn(key, lambda m=messages: self._process_messages(m))
        for update in events.statuses:
            self._spawn(None, lambda u=update: self._process_status(u))
        return web.Response(text="ok")

    def _spawn(self, key: str | None, work: Callable[[], Awaitable[None]]) -> None:
        """A background task; tasks of one person run one after the other, in arrival order."""
        prev = self._tails.get(key) if key is not None else None

        async def run() -> None:
            if prev is not None and not prev.done():
                await asyncio.wait([prev])
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("whatsapp webhook handling failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if key is not None:
            self._tails[key] = task

            def forget(t: asyncio.Task, k: str = key) -> None:
                if self._tails.get(k) is t:
                    del self._tails[k]

            task.add_done_callback(forget)

    async def _process_messages(self, messages: list[Inbound]) -> None:
        for inbound in messages:
            inbound = await self._resolve_number(inbound)
            await self._handle_until_stored(inbound)

    async def _resolve_number(self, inbound: Inbound) -> Inbound:
        """A bare number typed after a numbered menu is that menu's choice."""
        if inbound.kind is not Kind.TEXT or self._last_payload is None or not NUMBER.match(inbound.text or ""):
            return inbound
        try:
            payload = await self._last_payload(inbound.user_key)
        except Exception as exc:
            log.warning("whatsapp: last menu not readable (%s); the number is handled as text", type(exc).__name__)
            return inbound
        value = numbered_choice(inbound.text, payload)
        if value is None:
            return inbound
        return dataclasses.replace(inbound, kind=Kind.CHOICE, choice=value, text=None)

    async def _handle_until_stored(self, inbound: Inbound) -> None:
        """The webhook is already acknowledged, so a turn that cannot be stored (database down)
        is retried here with backoff for up to ``store_retry_window`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.store_retry_window
        delay = 0.5
        while True:
            try:
                await self._handle(inbound)
                return
            except Exception as exc:
                if self._closing or loop.time() + delay > deadline:
                    log.error(
                        "whatsapp message …%s dropped: not stored (%s)", inbound.external_id[-12:], type(exc).__name__
                    )
                    return
                log.warning(
                    "whatsapp message …%s not stored (%s); retrying in %.1fs",
                    inbound.external_id[-12:],
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _process_status(self, update: StatusUpdate) -> None:
        if update.status == "failed":
            log.warning(
                "whatsapp message …%s to %s failed: %s",
                update.message_id[-12:],
                _mask(update.recipient or ""),
                update.error,
            )
        if self._record_status is None:
            return
        for delay in (0.0, *self.status_retry_delays):
            if delay:
                await asyncio.sleep(delay)
            try:
                if await self._record_status(update.message_id, update.status, update.at, update.error):
                    return
            except Exception as exc:
                log.warning("whatsapp status not recorded yet (%s)", type(exc).__name__)
            if self._closing:
                break
        log.info("whatsapp status %s for unknown message …%s ignored", update.status, update.message_id[-12:])

    # ---- sending ------------------------------------------------------------------------
    async def _window_open(self, address: str) -> bool:
        if self._last_inbound is None:
            return True
        try:
            last = await self._last_inbound(address)
        except Exception as exc:
            raise SendError(f"WhatsApp: 24-hour window not checkable ({type(exc).__name__})", retryable=True) from None
        return last is not None and self.clock.now() - last < WINDOW - WINDOW_MARGIN

    async def send(self, address: str, payload: dict[str, Any], *, ref: int | None = None) -> SendResult:
        body = {k: v for k, v in payload.items() if not k.startswith("_")}
        kind = body.get("type")
        if not kind or kind not in body:
            raise SendError(f"WhatsApp: malformed payload (type {kind!r})", retryable=False)
        if payload.get("_notify") and not await self._window_open(address):
            if "_template" not in payload:
                raise SendError(
                    "not sent: outside the 24-hour window; the template message stands for this part", retryable=False
                )
            if not self.template_name:
                raise SendError(
                    "outside WhatsApp's 24-hour window and no template configured (KANAL_WHATSAPP_TEMPLATE_NOTICE): "
                    "re-engagement required, the person has to write first",
                    retryable=False,
                )
            body = {
                "type": "template",
                "template": {
                    "name": self.template_name,
                    "language": {"code": self.template_language},
                    "components": [
                        {"type": "body", "parameters": [{"type": "text", "text": payload["_template"] or "-"}]}
                    ],
                },
            }
        elif "_upload" in payload:
            media_id = await self._upload(payload["_upload"], ref)
            body[kind] = {**body[kind], "id": media_id}
        message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": address, **body}
        data = await self._post(f"{self.api_base_url}/{self.phone_number_id}/messages", json_body=message)
        try:
            mid = str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise SendError("WhatsApp: answer without a message id", retryable=False) from None
        if ref is not None:
            self._uploaded.pop(ref, None)
        return SendResult(platform_message_id=mid)

    async def _upload(self, upload: dict[str, Any], ref: int | None) -> str:
        if ref is not None and ref in self._uploaded:
            return self._uploaded[ref]
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", upload["mime_type"])
        form.add_field(
            "file",
            base64.b64decode(upload["data_b64"]),
            filename=upload.get("filename") or "file",
            content_type=upload["mime_type"],
        )
        data = await self._post(f"{self.api_base_url}/{self.phone_number_id}/media", form=form)
        media_id = data.get("id")
        if not media_id:
            raise SendError("WhatsApp: media upload answered without an id", retryable=True)
        if ref is not None:
            self._uploaded[ref] = str(media_id)
            while len(self._uploaded) > 1000:
                self._uploaded.popitem(last=False)
        return str(media_id)

    async def _post(
        self, url: str, *, json_body: dict[str, Any] | None = None, form: aiohttp.FormData | None = None
    ) -> dict[str, Any]:
        if self._session is None:
            await self.start()
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.post(url, json=json_body, data=form, headers=headers) as resp:
                raw = await resp.read()
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SendError(f"WhatsApp network: {type(exc).__name__}", retryable=True) from None
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, UnicodeDecodeError):
            data = None
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        raise graph_error(status, data, retry_after)


def graph_error(status: int, data: Any, retry_after: str | None = None) -> SendError:
    """A Graph API error answer as the outbox's retryable/permanent :class:`SendError`."""
    err = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    code = err.get("code")
    details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
    text = describe_error(code, err.get("message"), details) if code is not None else f"HTTP {status}"
    try:
        n = int(code) if code is not None else None
    except (TypeError, ValueError):
        n = None
    wait = _seconds(retry_after)
    if n in RATE_LIMIT_WAIT or status == 429:
        return SendError(
            f"WhatsApp rate limit: {text}", retryable=True, retry_after=wait or RATE_LIMIT_WAIT.get(n, 5.0)
        )
    if n in TRANSIENT_CODES or status >= 500:
        return SendError(f"WhatsApp {status}: {text}", retryable=True, retry_after=wait)
    if n == 190 or status == 401:
        log.error("whatsapp: the access token was refused: %s", text)
    return SendError(f"WhatsApp {status}: {text}", retryable=False)


def _seconds(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return max(1.0, min(value, 3600.0)) if value is not None else None


def _mask(address: str) -> str:
    return "…" + address[-4:] if len(address) > 4 else address
