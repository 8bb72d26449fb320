"""What SMS cost this month: the segments sent since the first of the month (region time) times the
configured price per segment (``KANAL_SMS_SEGMENT_PRICE``), for coordinators in ``/kinerja`` and
the daily digest. An estimate: the operator or aggregator bills what it bills (a failed SMS may
or may not be charged); the counts are what the gateway accepted (``sms_usage``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal

from bot.domain.i18n import N_, Translator
from bot.engine.region_context import RegionContext
from storage import UnitOfWork

COST_LINE = N_("📱 SMS sejak {first}: {messages} pesan, {segments} segmen, perkiraan biaya Rp {rupiah}.")


@dataclass(frozen=True)
class SmsMonth:
    first_day: str  # YYYY-MM-DD
    messages: int
    segments: int
    price: float  # rupiah per segment

    @property
    def rupiah(self) -> float:
        return self.segments * self.price


async def sms_month(uow: UnitOfWork, ctx: RegionContext, now: datetime, price: float) -> SmsMonth:
    today = now.astimezone(ctx.tz).date()
    first = today.replace(day=1).isoformat()
    messages, segments = await uow.sms.usage(first, today.isoformat())
    return SmsMonth(first, messages, segments, price)


def cost_line(t: Translator, month: SmsMonth) -> str:
    """One line in the reader's language: "📱 SMS sejak 1 Des 2026: 1.204 pesan, 1.877 segmen, …"."""
    lang = t.lang
    return t(
        COST_LINE,
        first=format_date(date.fromisoformat(month.first_day), "d MMM yyyy", locale=lang),
        messages=format_decimal(month.messages, locale=lang),
        segments=format_decimal(month.segments, locale=lang),
        rupiah=format_decimal(round(month.rupiah), locale=lang),
    )
