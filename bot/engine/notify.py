"""Render a :class:`~bot.domain.messages.Reply` for its channel and add the outbox rows: one place for the
dispatcher's turns and the scheduled jobs.

The caller owns the transaction: rows are added through the given outbox repository and
go out only when that unit of work commits (then wake the outbox sender). Nothing here sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.i18n import Translator
from bot.domain.messages import Forget, Reply

Renderer = Callable[[Reply], list[dict[str, Any]]]


class Notifier:
    """Outbox rows for replies. ``renderers`` maps a channel name to its pure ``render(reply)``;
    the dict is shared, not copied, so channels enabled after construction are seen."""

    def __init__(self, renderers: dict[str, Renderer] | None = None, *, languages: Iterable[str] = ("id",)) -> None:
        self.renderers: dict[str, Renderer] = renderers if renderers is not None else {}
        #: channels whose turns' replies to the sender are merged (:func:`~bot.domain.messages.merge_replies`)
        self.merging: set[str] = set()
        self.languages = tuple(languages) or ("id",)

    def enqueue(
        self,
        outbox,
        *,
        channel: str,
        address: str,
        user_id: int | None,
        reply: Reply,
        now: datetime,
        not_before: datetime | None = None,
    ) -> int:
        """Render ``reply`` for ``channel`` and add its outbox rows; the number of rows. A channel
        that is not enabled gets one row marked undeliverable (the sender records it as failed)."""
        render = self.renderers.get(channel)
        payloads = render(reply) if render is not None else [{"undeliverable": f"channel {channel} is not enabled"}]
        forget = reply.forget or (Forget.PAYLOAD if _carries_bytes(reply) else None)
        for payload in payloads:
            outbox.enqueue(
                channel=channel,
                address=address,
                payload=payload,
                now=now,
                user_id=user_id,
                purpose=reply.purpose,
                not_before=not_before,
                on_failure=reply.on_failure,
                forget=forget,
            )
        return len(payloads)

    def to_user(self, outbox, user: Any, reply: Reply, now: datetime, *, not_before: datetime | None = None) -> int:
        """A notification to a stored user (``storage.models.User``); nothing for an erased one."""
        if user is None or getattr(user, "erased_at", None) is not None:
            return 0
        if reply.purpose == "reply":
            reply = replace(reply, purpose="notification")
        if "lang" not in reply.extra:
            reply = replace(reply, extra={**reply.extra, "lang": self.language_for(user)})
        return self.enqueue(
            outbox,
            channel=user.channel,
            address=user.external_id,
            user_id=user.id,
            reply=reply,
            now=now,
            not_before=not_before,
        )

    async def delivery_failed(self, uow, report: dict[str, Any], now: datetime) -> int:
        """Tell the staff member named in an outbox row's ``on_failure`` that the message their
        action sent to a citizen could not be delivered (blocked bot, closed account, rejected
        template): otherwise they believe the citizen has their answer. Names no one: the citizen
        may be anonymous."""
        user_id = report.get("user_id") if isinstance(report, dict) else None
        user = await uow.users.get_user(user_id) if isinstance(user_id, int) else None
        if user is None:
            return 0
        t = self.translator_for(user)
        about = str(report.get("about") or "?")[:40]
        text = t(
            "⚠️ Pesan Anda tentang laporan {number} tidak sampai ke pelapor: kanal pelapor menolaknya "
            "(misalnya pelapor memblokir bot atau nomornya tidak aktif). Laporan tetap tercatat, "
            "dan pelapor tetap bisa melihatnya lewat /status {number}.",
            number=about,
        )
        return self.to_user(uow.outbox, user, Reply(text=text, purpose="notification"), now)

    def language_for(self, user: Any) -> str:
        lang = getattr(user, "language", None)
        return lang if lang in self.languages else self.languages[0]

    def translator_for(self, user: Any) -> Translator:
        return Translator(self.language_for(user))


def _carries_bytes(reply: Reply) -> bool:
    """An attachment sent as bytes (an export workbook, a chart, a PDF) is not kept after delivery."""
    return any(att is not None and att.data is not None for att in (reply.image, reply.document))
