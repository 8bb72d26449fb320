"""The buttons of the complaint features, built in one place.

A button's value is the command it stands for ("/lihat ADU-2026-00012"): the router parses it
exactly as if it had been typed. The rating verdicts are the words /nilai accepts.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.complaint_rules import Role
from bot.domain.i18n import Translator
from bot.domain.messages import Choice

#: /nilai <nomor> puas|tidak
RATE_GOOD = "puas"
RATE_BAD = "tidak"
GOOD_WORDS = (RATE_GOOD, "good", "ya")
BAD_WORDS = (RATE_BAD, "tidak_puas", "bad", "no")


def command(name: str, *args: object) -> str:
    """The value of a button that runs ``/name args...``."""
    return " ".join([f"/{name}", *(str(a) for a in args)])


def view_choice(t: Translator, number: str, label: str | None = None) -> Choice:
    return Choice(label or t("👁 Lihat"), command("lihat", number))


def answer_choice(t: Translator, number: str) -> Choice:
    return Choice(t("💬 Balas"), command("balas", number))


def resolve_choice(t: Translator, number: str) -> Choice:
    return Choice(t("✅ Selesai"), command("selesai", number))


def officer_buttons(t: Translator, number: str) -> list[Choice]:
    """What an officer can do with a complaint of their OPD."""
    return [
        view_choice(t, number),
        answer_choice(t, number),
        resolve_choice(t, number),
        Choice(t("↩️ Kembalikan"), command("kembalikan", number)),
    ]


def route_choice(t: Translator, number: str, opd_code: str) -> Choice:
    return Choice(t("➡️ Arahkan ke {opd}", opd=opd_code), command("arahkan", number, opd_code))


def pick_opd_choice(t: Translator, number: str, label: str | None = None) -> Choice:
    """ "➡️ Arahkan": the OPDs as buttons, the suggested one first (``/arahkan <nomor>``)."""
    return Choice(label or t("➡️ Arahkan"), command("arahkan", number))


def opd_choices(
    t: Translator, opd_codes: list[str], value: Callable[[str], str], suggested: str | None = None
) -> list[Choice]:
    """A button per OPD (its code), the suggested one first and marked."""
    first = [Choice(t("➡️ {opd} (usulan)", opd=suggested), value(suggested))] if suggested in opd_codes else []
    return first + [Choice(code, value(code)) for code in opd_codes if code != suggested]


def refer_choice(t: Translator, number: str, code: str) -> Choice:
    """ "🏛️ Teruskan ke PLN": close as not the Pemda's business, to that outside body (``/luar``)."""
    return Choice(t("🏛️ Teruskan ke {body}", body=code), command("luar", number, code))


def other_body_choice(t: Translator, number: str) -> Choice:
    """ "🏛️ Instansi lain (bukan Pemda)": the outside bodies as buttons (``/luar <nomor>``)."""
    return Choice(t("🏛️ Instansi lain (bukan Pemda)"), command("luar", number))


def after_action_choices(t: Translator, role: str) -> list[Choice]:
    """Under a staff action's confirmation: back to the work list (officers their queue,
    coordinators the triage) and the menu; short enough to read on a phone."""
    if role == Role.COORDINATOR:
        return [Choice(t("🗂 Belum diarahkan"), command("triase")), menu_choice(t)]
    return [Choice(t("📋 Antrian"), command("antrian")), menu_choice(t)]


def rate_choices(t: Translator, number: str) -> tuple[Choice, Choice]:
    return (
        Choice(t("👍 Puas"), command("nilai", number, RATE_GOOD)),
        Choice(t("👎 Tidak puas"), command("nilai", number, RATE_BAD)),
    )


def status_choice(number: str, label: str | None = None) -> Choice:
    return Choice(label or number, command("status", number))


def cancel_choice(t: Translator) -> Choice:
    return Choice(t("❌ Batal"), command("batal"))


def menu_choice(t: Translator) -> Choice:
    return Choice(t("🏠 Menu"), command("menu"))
