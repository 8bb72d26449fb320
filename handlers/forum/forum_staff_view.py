"""A forum as staff see it (``/forum <id>`` for officers of its OPD and coordinators): the card,
who registered, the written input (anonymous input without its sender), and whether the berita
acara is published."""

from __future__ import annotations

from bot.domain.i18n import Translator
from bot.domain.messages import Choice
from bot.domain.person_name import NO_NAME, channel_name
from bot.engine.region_context import region_context
from bot.engine.turn import Turn
from handlers.forum.forum_buttons import result_link
from handlers.forum.forum_shared import forum_card, not_found, staff_forum

#: registrations listed by name; the rest are counted
MAX_ATTENDEES = 50
MAX_INPUTS = 30


def named(t: Translator, name: str | None, channel: str | None, *, with_channel: bool = False) -> str:
    """A person as staff see them: their name (with its channel), "tanpa nama (web chat)" when they
    gave none, "(data dihapus)" only when they erased their data (``name`` None)."""
    if name is None:
        return t("(data dihapus)")
    if not name:
        return t(NO_NAME, channel=channel_name(channel))
    return f"{name} ({channel or '-'})" if with_channel else name


async def staff_view(turn: Turn, forum_id: int) -> None:
    t = turn.t
    f = await staff_forum(turn, forum_id)
    if f is None:
        not_found(turn, forum_id)
        return
    ctx = await region_context(turn.uow.region)
    repo = turn.uow.forum
    people = await repo.attendees(f.id)
    inputs = await repo.inputs(f.id, limit=MAX_INPUTS)
    lines = [forum_card(ctx, f, t, registered=len(people), full=False), "", t("Pendaftar ({n}):", n=len(people))]
    lines += [f"• {named(t, p.name, p.channel, with_channel=True)}" for p in people[:MAX_ATTENDEES]] or [
        t("(belum ada)")
    ]
    if len(people) > MAX_ATTENDEES:
        lines.append(t("… dan {n} lainnya.", n=len(people) - MAX_ATTENDEES))
    lines += ["", t("Masukan tertulis ({n}):", n=await repo.input_count(f.id))]
    for row in inputs:
        who = t("anonim") if row.anonymous else named(t, None if row.erased else row.name, row.channel)
        lines.append(f"• {who}: {row.text[:300]}")
    if not inputs:
        lines.append(t("(belum ada)"))
    if f.result_published_at:
        lines += ["", t("📄 Berita acara terbit, dikirim ke {n} orang.", n=f.result_recipients or 0)]
    choices = [] if f.result_published_at else [Choice(t("📄 Terbitkan hasil"), result_link(f.id))]
    turn.reply("\n".join(lines), choices)
    turn.audit("forum_viewed", subject_type="forum", subject_id=str(f.id))
