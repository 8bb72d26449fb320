"""SMS parsing (pure): the gateways' webhooks → one canonical form, phone numbers, the hashed key
that stands for a number, STOP/MULAI, and the Android gateway's signature check.

Two transports deliver SMS:

- **android**: the open-source app *SMS Gateway for Android* (capcom6/android-sms-gateway) on a
  phone with a local SIM POSTs JSON events ``{"deviceId", "event", "id", "payload", "webhookId"}``:
  ``sms:received`` (``payload.phoneNumber``, ``payload.message``), ``sms:sent``,
  ``sms:delivered`` and ``sms:failed`` (``payload.messageId``: the id its ``POST /message``
  answered). ``id`` is the event's own id, the same on every retry (``messageId`` of a received
  SMS is made from its content and is not unique). Signed: ``X-Signature`` is the hex
  HMAC-SHA256 of the raw body followed by ``X-Timestamp``, with the app's signing key.
- **aggregator**: an HTTP SMS aggregator POSTs (form or JSON) or GETs the fields named in settings
  (sender, text, message id; delivery reports: message id, status, reason), with the shared secret
  in ``?token=`` or the ``X-Kanal-Token`` header.

:func:`from_android` and :func:`from_aggregator` turn them into one canonical form,
``{"messages": [{"from", "text", "id", "at"}], "statuses": [{"id", "status", "error"}]}``: what
the webhook inbox stores and what is handled from there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CHANNEL = "sms"

#: a whole message saying "no more SMS from you" (the SMS convention, in Indonesian and English)
STOP_WORDS = frozenset({"stop", "berhenti", "unreg", "stop sms", "berhenti sms", "unsubscribe", "stopall", "end"})
#: a whole message saying "send me SMS again" (only after a STOP)
START_WORDS = frozenset({"mulai", "start", "reg", "mulai sms", "unstop", "lanjut sms"})
#: what STOP and MULAI become: commands of the account flow
STOP_COMMAND = "/stopsms"
START_COMMAND = "/mulaisms"

ANDROID_EVENTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
#: Android's delivery report reasons, said plainly for ``last_error``
FAILURE_HINTS = {
    "RESULT_ERROR_GENERIC_FAILURE": "the phone's network refused it (no credit, or the number does not exist)",
    "RESULT_ERROR_NO_SERVICE": "the gateway phone had no signal",
    "RESULT_ERROR_RADIO_OFF": "the gateway phone is in flight mode",
    "RESULT_ERROR_NULL_PDU": "the phone could not encode the message",
}


def words_of(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def is_stop(text: str | None) -> bool:
    return bool(text) and words_of(text or "") in STOP_WORDS


def is_start(text: str | None) -> bool:
    return bool(text) and words_of(text or "") in START_WORDS


def normalise_number(raw: Any, country: str = "62") -> str | None:
    """``"0812-3456-7890"``, ``"62812…"``, ``"+62 812…"`` → ``"+628123456789​0"``; None for what is
    not a mobile number people write from (operators' names and short codes: never answered)."""
    if not isinstance(raw, str | int):
        return None
    s = re.sub(r"[\s\-().]", "", str(raw))
    if s.startswith("00"):
        s = "+" + s[2:]
    if s.startswith("0") and s[1:].isdigit():
        s = "+" + country + s[1:]
    elif s.isdigit():
        s = "+" + s
    if not (s.startswith("+") and s[1:].isdigit()):
        return None
    digits = s[1:]
    if not 10 <= len(digits) <= 15:
        return None
    if digits.startswith(country) and country == "62" and not digits[2:].startswith("8"):
        return None  # +62 numbers people text from are mobiles (08…); landlines and services do not text
    return s


def number_key(secret: bytes, number: str) -> str:
    """The key that stands for ``number`` in ``users.external_id``, the outbox and the logs: a keyed
    hash (HMAC-SHA256, 160 bits in base32), stable for one deployment and not reversible without
    the deployment's key."""
    digest = hmac.new(secret, number.encode(), hashlib.sha256).digest()[:20]
    return "s" + base64.b32encode(digest).decode().lower().rstrip("=")


def signature_ok(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    expected = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


@dataclass(frozen=True)
class Fields:
    """The aggregator's field names: inbound (sender, text, message id, time) and reports."""

    sender: str = "msisdn"
    text: str = "message"
    id: str = "id"
    time: str = "time"
    report_id: str = "message_id"
    status: str = "status"
    reason: str = "reason"

    @classmethod
    def parse(cls, spec: str) -> Fields:
        """``"sender=from,text=body"`` → those names, the rest as default."""
        values = {}
        for part in spec.split(","):
            name, _, field_name = part.partition("=")
            if name.strip() in cls.__dataclass_fields__ and field_name.strip():
                values[name.strip()] = field_name.strip()
        return cls(**values)


#: delivery report words (aggregators' own and SMPP's DELIVRD/UNDELIV/REJECTD/EXPIRED) → ours
DELIVERED = {"delivered", "delivrd", "deliv", "success", "1", "2"}
SENT = {"sent", "ok", "submitted", "accepted", "acceptd", "enroute"}
FAILED = {"failed", "fail", "undelivered", "undeliv", "rejected", "rejectd", "expired", "error", "-1", "3"}


def _status_word(raw: Any) -> str | None:
    s = str(raw or "").strip().lower()
    if s in DELIVERED:
        return "delivered"
    if s in SENT:
        return "sent"
    if s in FAILED:
        return "failed"
    return None


def _str(value: Any, limit: int = 2000) -> str | None:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def from_android(data: Any) -> dict[str, list[dict[str, Any]]]:
    """One Android gateway event in the canonical form."""
    out: dict[str, list[dict[str, Any]]] = {"messages": [], "statuses": []}
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        return out
    event, payload = data.get("event"), data["payload"]
    if event == "sms:received":
        event_id = _str(data.get("id"), 128)
        sender, text = _str(payload.get("phoneNumber"), 40), _str(payload.get("message"))
        if event_id and sender and text is not None:
            at = _str(payload.get("receivedAt"), 40)
            out["messages"].append({"from": sender, "text": text, "id": "a:" + event_id, "at": at})
    elif event in ANDROID_EVENTS:
        mid = _str(payload.get("messageId"), 128)
        if mid:
            reason = _str(payload.get("reason"), 300)
            error = f"{reason}: {FAILURE_HINTS[reason]}" if reason in FAILURE_HINTS else reason
            out["statuses"].append({"id": mid, "status": ANDROID_EVENTS[str(event)], "error": error})
    return out


def from_aggregator(fields: Fields, data: dict[str, Any], *, report: bool) -> dict[str, list[dict[str, Any]]]:
    """An aggregator's inbound SMS (or, ``report``, delivery report) fields in the canonical form."""
    out: dict[str, list[dict[str, Any]]] = {"messages": [], "statuses": []}
    if report:
        mid, status = _str(data.get(fields.report_id), 128), _status_word(data.get(fields.status))
        if mid and status:
            out["statuses"].append({"id": mid, "status": status, "error": _str(data.get(fields.reason), 300)})
        return out
    sender, text = _str(data.get(fields.sender), 40), _str(data.get(fields.text))
    if not sender or text is None:
        return out
    at = _str(data.get(fields.time), 40)
    given = _str(data.get(fields.id), 128)
    # without an id from the aggregator, the same sender, text and time is the same message
    event_id = given or hashlib.sha256(f"{sender}\n{text}\n{at}".encode()).hexdigest()[:32]
    out["messages"].append({"from": sender, "text": text, "id": "g:" + event_id, "at": at})
    return out


def received_at(raw: Any) -> datetime | None:
    """An ISO time with its offset (the gateways' local time) as UTC; None when unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo else None
