""" "Maksud Anda /antrian?": a mistyped command (``/antrain``, ``/statsu``, ``/lpor``) answered with
the closest command the person's role may use, as a button.

The match is ``rapidfuzz``'s optimal string alignment (Levenshtein with transpositions, so
``antrain`` is one edit from ``antrian``), normalised by length: about one mistake per three letters
is a near miss, more is a different word. A typed start of a command (``/antr``, ``/stat``) is a
near miss too. Only commands of the person's role are candidates, so a citizen is never offered a
staff command.
"""

from __future__ import annotations

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.domain.messages import Choice
from bot.engine.router import Router
from bot.engine.turn import Turn

#: the lowest normalised similarity that is a near miss (1 − edits / length of the longer word)
MIN_SIMILARITY = 0.66
#: a typed start of a command must be at least this long to stand for it
MIN_PREFIX = 3
#: Telegram's limit for a button's value, in bytes
MAX_VALUE = 64


def closest_command(router: Router, role: str, typed: str) -> str | None:
    """The name (or alias) of the command of ``role`` that ``typed`` most likely meant; None when
    nothing is close, or when ``typed`` is a command already."""
    word = typed.strip().lstrip("/").lower()[:32]
    names = [name for command in router.commands_for(role) for name in command.names]
    if not word or word in names:
        return None
    if len(word) >= MIN_PREFIX:
        started = [name for name in names if name.startswith(word)]
        if started:
            return started[0]
    best = process.extractOne(word, names, scorer=OSA.normalized_similarity, score_cutoff=MIN_SIMILARITY)
    return best[0] if best else None


def suggest_command(turn: Turn) -> bool:
    """Answer an unknown command with "maksud Anda /…?" and a button that runs it (with what was
    typed after it); False when no command of the person's role is close."""
    if turn.inbound.command is None or turn.router is None:
        return False
    typed, args = turn.inbound.command
    name = closest_command(turn.router, turn.user.role, typed)
    if name is None:
        return False
    t = turn.t
    value = f"/{name} {args.strip()}".strip()
    if len(value.encode()) > MAX_VALUE:
        value = f"/{name}"
    turn.reply(
        t("Perintah /{typed} tidak dikenal. Maksud Anda /{name}?", typed=typed[:32], name=name),
        [Choice(f"/{name}", value), Choice(t("❓ Bantuan"), "/bantuan")],
    )
    return True
