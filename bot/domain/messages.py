"""The normal form: what every channel turns platform traffic into, and what flows answer with.

Nothing platform-specific (PTB ``Update``, WhatsApp JSON, websocket frames) crosses this line.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

#: Telegram limits callback data to 64 bytes; every channel shares the limit so flows stay portable.
MAX_CHOICE_VALUE_BYTES = 64


_JOINER = "\u200d"


def without_invisible(text: str) -> str:
    """``text`` without the characters nobody sees: zero-width spaces and joiners, byte-order
    marks, direction overrides (Unicode format characters, category Cf) and NUL. The zero-width
    joiner inside an emoji sequence (👨‍👩‍👧) stays. Applied to what a person types before any
    length check, so twenty zero-width spaces are an empty message, not a 20-character report."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    kept: list[str] = []
    for i, c in enumerate(text):
        if c == "\x00":
            continue
        if unicodedata.category(c) == "Cf":
            between_emoji = (
                c == _JOINER
                and kept
                and unicodedata.category(kept[-1]) in ("So", "Mn", "Sk")
                and i + 1 < len(text)
                and unicodedata.category(text[i + 1]) == "So"
            )
            if not between_emoji:
                continue
        kept.append(c)
    return "".join(kept)


class Kind(enum.StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    PHOTO = "photo"
    LOCATION = "location"
    CONTACT = "contact"
    VOICE = "voice"  # a voice note or an audio file
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class Photo:
    file_ref: str  # platform file id / media id / URL path
    caption: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice note (or an audio file) as the platform's file reference: the bot keeps no bytes."""

    file_ref: str  # Telegram file id / WhatsApp media id
    mime_type: str | None = None
    duration: int | None = None  # seconds, when the platform says (Telegram does, WhatsApp does not)
    size: int | None = None


def clock_length(seconds: int | None) -> str | None:
    """``42`` → ``"0:42"``, ``3725`` → ``"1:02:05"``; None when the length is not known."""
    if seconds is None or seconds < 0:
        return None
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, in the normal form."""

    channel: str  # "telegram" | "whatsapp" | "web"
    user_key: str  # the platform's stable id for the person (chat id, wa_id, web session id)
    external_id: str  # the platform's id for this message, for deduplication
    kind: Kind
    text: str | None = None
    choice: str | None = None  # the value of the pressed Choice (or of the one the typed text named)
    photo: Photo | None = None
    location: Location | None = None
    contact: Contact | None = None
    voice: Voice | None = None
    language_hint: str | None = None  # e.g. Telegram's language_code
    display_name: str | None = None
    username: str | None = None
    unsupported_type: str | None = None  # "sticker", "voice", ... for the hint message
    received_at: datetime | None = None
    #: a channel that shows the person their own words again after a reload (the web chat):
    #: ``{"text": what their bubble said, "cid": the page's id of the message}``; kept with the
    #: replies (an outbox row already delivered), so a reload shows both sides of the conversation
    echo: dict | None = None

    @property
    def command(self) -> tuple[str, str] | None:
        """``("start", "skm_X")`` for ``/start skm_X`` (also from a choice whose value is a command)."""
        raw = self.choice if self.kind is Kind.CHOICE else self.text
        if not raw or not raw.startswith("/"):
            return None
        head, _, rest = raw[1:].partition(" ")
        name = head.split("@", 1)[0].lower()  # "/start@MyBot" in groups
        if not name or not all(c.isalnum() or c == "_" for c in name):
            return None
        return name, rest.strip()


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. ``value`` comes back as ``Inbound.choice`` when pressed. ``means`` says what the
    button stands for in the shared vocabulary of typed answers (``bot.domain.typed.Means``: "yes",
    "no", "skip", "good", …) when its label alone does not, so that "iya" or "tidak ada" typed
    instead of a press picks it."""

    label: str
    value: str
    means: str | None = None

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError("Choice label must not be empty")
        if not self.value or len(self.value.encode()) > MAX_CHOICE_VALUE_BYTES:
            raise ValueError(f"Choice value must be 1..{MAX_CHOICE_VALUE_BYTES} bytes: {self.value!r}")


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image, document or audio to send. ``data`` for generated files, ``file_ref`` for platform files."""

    filename: str
    mime_type: str
    data: bytes | None = None
    file_ref: str | None = None


#: ``Reply.extra`` key of a shorter text for channels where every character costs (SMS: two
#: segments of 153 characters per turn), given by a flow whose text does not fit
SHORT = "short"
#: channels that carry text only (no photo, voice note or location either way): flows skip the
#: steps that ask for them and say "type it" instead of "send it"
TEXT_ONLY = frozenset({"sms"})


class Purpose(enum.StrEnum):
    """What kind of message a reply is (``outbox.purpose``): WhatsApp needs a template for a
    notification outside the 24 h window, and the sender serves replies before notifications."""

    REPLY = "reply"  # an answer to the person's own message
    NOTIFICATION = "notification"  # anything the person did not just ask for


class Forget(enum.StrEnum):
    """What the outbox forgets of a message once it is delivered or failed for good
    (``outbox.forget``). A reply with attachment bytes forgets its payload by default."""

    PAYLOAD = "payload"  # text and attachments replaced (an export, an invite code)
    ROW = "row"  # the whole row deleted (the goodbye after /hapusdata)


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to a person. Plain text: each channel escapes/formats it for its platform."""

    text: str
    choices: tuple[Choice, ...] = ()
    title: str | None = None  # rendered bold above the text where the platform can
    image: Attachment | None = None
    document: Attachment | None = None
    #: a voice note or audio file by its platform reference (``file_ref``), sent as audio
    audio: Attachment | None = None
    #: None: the person whose message is being handled; otherwise the users.id of someone else
    to_user_id: int | None = None
    #: WhatsApp needs a template outside the 24 h window; flows say what kind of message this is
    purpose: str = Purpose.REPLY
    extra: dict = field(default_factory=dict)
    #: ``{"user_id": …, "about": …}``: the staff member to tell if this cannot be delivered
    on_failure: dict | None = None
    #: what the outbox forgets once this is delivered (:class:`Forget`); None: kept until the
    #: outbox horizon (``KANAL_OUTBOX_KEEP_DAYS``)
    forget: str | None = None


class SendError(Exception):
    """A send through a channel failed.

    retryable: try again later (after ``retry_after`` seconds when the platform said so).
    Not retryable: final (user blocked the bot, chat not found, message rejected).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class SendResult:
    platform_message_id: str | None = None


def merge_replies(replies: Sequence[Reply]) -> list[Reply]:
    """The replies of one turn to the person who wrote, as few messages as they can be, for
    channels where every message costs (SMS): a plain reply (no choices, no attachment, not to be
    forgotten) is put at the head of the next one of the same purpose ("Terima kasih." + the menu
    = one SMS). Their short texts (``extra[SHORT]``) are joined alike."""
    out: list[Reply] = []
    for reply in replies:
        prev = out[-1] if out else None
        if (
            prev is not None
            and not prev.choices
            and prev.image is None
            and prev.document is None
            and prev.audio is None
            and prev.forget is None
            and prev.to_user_id is None
            and reply.to_user_id is None
            and prev.purpose == reply.purpose
        ):
            head = f"{prev.title}\n{prev.text}" if prev.title else prev.text
            body = f"{reply.title}\n{reply.text}" if reply.title else reply.text
            extra = {**prev.extra, **reply.extra}
            if SHORT in prev.extra or SHORT in reply.extra:
                extra[SHORT] = f"{prev.extra.get(SHORT) or head}\n{reply.extra.get(SHORT) or body}"
            out[-1] = replace(reply, text=f"{head}\n\n{body}".strip(), title=None, extra=extra)
        else:
            out.append(reply)
    return out
