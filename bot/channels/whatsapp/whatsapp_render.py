"""WhatsApp rendering: a :class:`~bot.domain.messages.Reply` → Cloud API message bodies (pure).

The bodies are stored in the outbox and posted by the channel. Choices become reply buttons (≤ 3,
titles ≤ 20), a list message (≤ 10 rows, titles ≤ 24, truncated with "…" and the full label as the
row description) or, beyond that, numbered text. The choice values of a numbered menu or a list are
stored in its outbox row (``_numbered``), so a typed number can be resolved against the newest
message sent to that person without the channel keeping any state. Notifications
(``Reply.purpose != "reply"``) are marked ``_notify``, and their first part carries the text of the
template message that stands for it outside the 24-hour window (``_template``). Images and
documents carry their bytes (``_upload``) or a media id; audio (a citizen's voice note, sent on to
an officer) only a media id, and never a caption (Meta allows none on audio). Lengths are counted
in UTF-16 units, as Meta counts them. Private keys start with ``_`` and are never sent to Meta.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

from bot.domain.i18n import N_, gettext
from bot.domain.messages import Attachment, Choice, Reply

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
#: the renderer's own small texts, translated through the catalog in the language named by
#: ``Reply.extra["lang"]`` (Indonesian when the reply does not say)
LIST_BUTTON = N_("Pilih")
NUMBERED_HINT = N_("Balas dengan angka 1–{n}.")
CHOOSE = N_("Silakan pilih:")


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
    elif att.file_ref and att.file_ref.startswith(("https://", "http://")):
        media["link"] = att.file_ref  # a signed link to a photo held elsewhere: WhatsApp fetches it
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
        _media(kind, att)
        for kind, att in (("image", reply.image), ("document", reply.document), ("audio", reply.audio))
        if att is not None
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
        if style is None and len(media) == 1 and media[0]["type"] != "audio" and full and wlen(full) <= MAX_BODY:
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
