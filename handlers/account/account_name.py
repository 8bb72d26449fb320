"""The name staff see, asked where the platform gives none: a web chat person who chooses to be
named (a complaint's "Biasa", a forum's "Dengan nama", registering for a forum) is asked for it —
optional ("Lewati"), editable ("Pakai nama ini / Ganti nama / Lewati" once one is stored).
Telegram and WhatsApp give the name with every message: nothing is asked there.

A flow that asks puts itself at a step of its own, calls :func:`ask_name`, and hands every answer
at that step to :func:`take_name`, going on once it returns True. The name is ``users.display_name``
(erased by /hapusdata with everything else).
"""

from __future__ import annotations

from bot.domain.i18n import Translator
from bot.domain.messages import Choice, Kind
from bot.domain.person_name import MAX_NAME, clean_name, name_problem
from bot.domain.typed import Means
from bot.engine.turn import Turn

#: the channel whose people have no name from their platform
NAMELESS_CHANNELS = frozenset({"web"})

KEEP = "nama:pakai"
CHANGE = "nama:ganti"
SKIP = "nama:lewati"


def asks_name(turn: Turn) -> bool:
    """Whether this person's channel gives no name (the web chat: its messages carry none), so
    that choosing to be named asks for one."""
    return turn.inbound.channel in NAMELESS_CHANNELS and not turn.inbound.display_name


def skip_choice(t: Translator) -> Choice:
    return Choice(t("⏭ Lewati"), SKIP, Means.SKIP)


def ask_name(turn: Turn, cancel: Choice) -> None:
    """The question: the stored name to keep, change or drop; or a name to type, or Lewati."""
    t = turn.t
    name = turn.user.display_name
    if name:
        turn.reply(
            t(
                "Petugas akan melihat nama Anda: {name}\nPakai nama ini, ganti, atau lewati (tanpa nama)?",
                name=name,
            ),
            [
                Choice(t("✅ Pakai nama ini"), KEEP, Means.YES),
                Choice(t("✏️ Ganti nama"), CHANGE),
                skip_choice(t),
                cancel,
            ],
        )
        return
    turn.reply(
        t(
            "Siapa nama Anda? Nama ini dilihat petugas. Tulis nama Anda, "
            "atau tekan Lewati jika tidak ingin memberi nama."
        ),
        [skip_choice(t), cancel],
    )


def take_name(turn: Turn, cancel: Choice) -> bool:
    """An answer at the name step. True: done (the name kept, stored or dropped), the flow goes on;
    False: the person was asked again (a bad name gets why), the flow stays at its step."""
    t = turn.t
    inbound = turn.inbound
    picked = inbound.choice if inbound.kind is Kind.CHOICE else None
    if picked == KEEP and turn.user.display_name:
        return True
    if picked == SKIP:
        if turn.user.display_name:
            turn.user.display_name = None
            turn.reply(t("Baik, tanpa nama. Petugas tidak melihat nama Anda."))
        return True
    if picked == CHANGE:
        turn.reply(t("Tulis nama yang boleh dilihat petugas:"), [skip_choice(t), cancel])
        return False
    typed = (inbound.text or "") if inbound.kind is Kind.TEXT and inbound.command is None else ""
    if not typed.strip():
        ask_name(turn, cancel)
        return False
    problem = name_problem(typed)
    if problem:
        turn.reply(t(problem, n=len(clean_name(typed)), max=MAX_NAME), [skip_choice(t), cancel])
        return False
    turn.user.display_name = clean_name(typed)
    turn.reply(t("Terima kasih, {name}. Nama ini yang dilihat petugas.", name=turn.user.display_name))
    return True
