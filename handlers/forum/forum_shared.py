"""What the forum's citizen and staff modules share: the page size, the staff roles and scope,
a forum rendered as a card, paging buttons and the "not found" answer."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain import forum_rules as rules
from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.messages import Choice
from bot.engine.region_context import RegionContext
from bot.engine.turn import Turn
from handlers.forum.forum_buttons import forum_link
from storage.models import Forum

PAGE = 5
STAFF = (Role.OFFICER, Role.COORDINATOR)


def is_staff(turn: Turn) -> bool:
    return turn.user.role in STAFF


def officer_scope(turn: Turn) -> str | None:
    """An officer's OPD (they see only its forums); None for everyone else."""
    return turn.user.opd_code if turn.user.role == Role.OFFICER else None


async def staff_forum(turn: Turn, forum_id: int, *, lock: bool = False) -> Forum | None:
    """The forum if it is in the staff member's scope."""
    return await turn.uow.forum.get(forum_id, lock=lock, opd_code=officer_scope(turn))


def when_text(turn: Turn, ctx: RegionContext, f: Forum) -> str:
    return rules.fmt_when(f.starts_at, ctx.tz, turn.lang)


def forum_card(ctx: RegionContext, f: Forum, t: Translator, *, registered: int | None = None, full: bool = True) -> str:
    """The forum in ``t``'s language (the reader's, also for notifications to others)."""
    return rules.render_card(
        f,
        opd_name=ctx.opd_names.get(f.opd_code, f.opd_code),
        tz=ctx.tz,
        t=t,
        lang=t.lang,
        registered=registered,
        full=full,
    )


def page_choices(t: Translator, got, page: int, link: Callable[[int], str]) -> list[Choice]:
    """A button per forum on the page, then Sebelumnya / Berikutnya (``link(page)``)."""
    choices = [Choice(t("#{id} {title}", id=f.id, title=f.title[:40]), forum_link(f.id)) for f in got.rows]
    if page > 0:
        choices.append(Choice(t("◀️ Sebelumnya"), link(page - 1)))
    if (page + 1) * PAGE < got.total:
        choices.append(Choice(t("Berikutnya ▶️"), link(page + 1)))
    return choices


def not_found(turn: Turn, forum_id: int | str | None) -> None:
    turn.reply(
        turn.t("Forum {id} tidak ditemukan. Ketik /forum untuk daftar forum.", id=f"#{forum_id}" if forum_id else "")
    )


def cancel_choice(t: Translator) -> Choice:
    return Choice(t("❌ Batal"), "/batal")
