"""/bahasa: choose the language; the flow that was interrupted continues afterwards.

Before consent, the consent notice is shown again in the chosen language.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.i18n import LANGUAGE_NAMES, N_
from bot.domain.messages import Choice
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu
from handlers.account.account_start import ask_consent

router = Router("account.language")

LANGUAGE_FLOW = "language"


class LanguageStep(StrEnum):
    CHOOSE = "choose"


LANG_PREFIX = "lang:"


def language_choices(turn: Turn) -> list[Choice]:
    return [Choice(LANGUAGE_NAMES[code], f"{LANG_PREFIX}{code}") for code in turn.settings.languages]


def chosen_code(value: str) -> str:
    """The language code a button value (``lang:en``) or a typed word (``en``) names."""
    return value.removeprefix(LANG_PREFIX)[:2]


@router.command(
    "bahasa", "language", description=N_("ganti bahasa / change language"), needs_consent=False, usage="[id|en]"
)
async def language(turn: Turn, args: str) -> None:
    wanted = args.strip().lower()[:2]
    if wanted in turn.settings.languages:
        await _set_language(turn, wanted)
        return
    previous = (
        {"flow": turn.flow, "step": turn.step, "data": turn.data}
        if turn.flow not in (None, LANGUAGE_FLOW)
        else turn.data.get("previous")
    )
    turn.set_state(LANGUAGE_FLOW, LanguageStep.CHOOSE, {"previous": previous})
    t = turn.t
    text = t("Pilih bahasa / Choose language:")
    if wanted:
        text = t('Bahasa "{code}" belum tersedia.', code=args.strip()[:10]) + "\n" + text
    turn.reply(text, language_choices(turn))


@router.flow(LANGUAGE_FLOW, needs_consent=False)
async def language_step(turn: Turn) -> None:
    code = chosen_code(turn.inbound.choice or (turn.inbound.text or "").strip().lower())
    if code in turn.settings.languages:
        await _set_language(turn, code)
    else:
        turn.reply(turn.t("Pilih bahasa / Choose language:"), language_choices(turn))


async def _set_language(turn: Turn, code: str) -> None:
    previous = turn.data.get("previous") if turn.flow == LANGUAGE_FLOW else None
    turn.user.language = code
    turn.user.language_explicit = True
    turn.lang = code
    turn.audit("language_set", subject_type="user", subject_id=str(turn.user.id), language=code)
    t = turn.t
    if turn.user.consent_at is None:  # the notice again, now in the chosen language
        kept = (previous or {}).get("data") or {}
        await ask_consent(turn, kept.get("start", ""), kept.get("pending"))
    elif previous and previous.get("flow"):
        turn.set_state(previous["flow"], previous["step"], previous.get("data") or {})
        turn.reply(
            t("Bahasa diganti ke Bahasa Indonesia. Silakan lanjutkan.")
            if code == "id"
            else t("Bahasa diganti ke English. Silakan lanjutkan.")
        )
    else:
        turn.clear_state()
        show_menu(turn, t("Bahasa diganti ke Bahasa Indonesia.") if code == "id" else t("Bahasa diganti ke English."))
