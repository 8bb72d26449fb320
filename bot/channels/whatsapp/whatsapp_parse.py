"""WhatsApp parsing: webhook JSON → :class:`~bot.domain.messages.Inbound` messages and delivery
:class:`StatusUpdate` s (pure); nothing of WhatsApp's JSON passes this module.

Also the webhook's signature check (``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the
app secret, compared in constant time), the one-line description of a Graph API error code, and
:func:`numbered_choice`, which turns a bare number typed after a numbered menu or a list into that
menu's choice (reply buttons are not numbered: a number typed after them stays text).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.domain.messages import Contact, Inbound, Kind, Location, Photo, Voice

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"

# Graph API error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
PERMANENT_HINTS = {
    131047: "re-engagement required: more than 24 hours since the person last wrote (send a template)",
    131026: "message undeliverable (the number is not on WhatsApp, has not accepted the terms, or uses an old app)",
    190: "access token expired or invalid: renew KANAL_WHATSAPP_TOKEN",
    100: "invalid parameter",
    131051: "unsupported message type",
}


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
        caption, mime = media.get("caption"), media.get("mime_type")  # strings, or nothing: never trusted
        return Inbound(
            kind=Kind.PHOTO,
            photo=Photo(
                file_ref=str(media["id"]),
                caption=caption if isinstance(caption, str) else None,
                mime_type=mime if isinstance(mime, str) else None,
            ),
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
    if kind == "audio":  # a voice note (``voice: true``) or an audio file; the webhook gives no length
        audio = msg["audio"]
        ref, mime = audio.get("id"), audio.get("mime_type")
        if type(ref) not in (str, int) or not 0 < len(str(ref)) <= 256:  # a media id we could never send on
            return Inbound(kind=Kind.UNSUPPORTED, unsupported_type="audio", **base)
        voice = Voice(file_ref=str(ref), mime_type=mime[:64] if isinstance(mime, str) and mime else None)
        return Inbound(kind=Kind.VOICE, voice=voice, **base)
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
