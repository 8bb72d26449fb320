"""/start and the consent notice every person must accept before anything is stored about them.

The consent gate answers every command or flow that needs consent; ``/start <prefix>_<arg>`` deep
links (declared by other features) run once consent is given.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.i18n import N_
from bot.domain.messages import Choice, Kind
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu

router = Router("account.start")

CONSENT_FLOW = "consent"


class ConsentStep(StrEnum):
    ASK = "ask"


#: button values of the consent notice
CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
YES_WORDS = (CONSENT_YES, "setuju", "ya", "yes", "agree")
NO_WORDS = (CONSENT_NO, "tidak", "no")


def consent_text(turn: Turn) -> str:
    t = turn.t
    return t(
        "Sebelum mulai, kami perlu persetujuan Anda (UU No. 27/2022 tentang Pelindungan Data Pribadi).\n\n"
        "• Yang kami simpan: nama dan akun chat Anda, pesan, laporan, foto dan lokasi yang Anda kirim, "
        "serta jawaban survei.\n"
        "• Untuk apa: menangani pengaduan Anda, menghitung indeks kepuasan layanan, "
        "dan mengabari Anda soal forum warga.\n"
        "• Berapa lama: selama laporan Anda ditangani; {days} hari setelah laporan ditutup, "
        "identitas Anda dihapus dan hanya angka statistik yang tersisa.\n"
        "• Siapa yang melihat: petugas OPD yang menangani laporan Anda dan koordinator pengaduan Pemda. "
        "Jika Anda memilih anonim, identitas Anda tidak pernah ditampilkan kepada petugas.\n"
        "• Hak Anda: melihat, memperbaiki, dan menghapus data Anda kapan saja dengan /hapusdata.",
        days=turn.settings.retention_days,
    )


def consent_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [Choice(t("✅ Saya setuju"), CONSENT_YES), Choice(t("❌ Tidak setuju"), CONSENT_NO)]


async def ask_consent(turn: Turn, payload: str = "") -> None:
    """The consent notice; ``payload`` is a deep link to follow once the person agrees."""
    t = turn.t
    data = {"start": payload} if payload else {}
    turn.set_state(CONSENT_FLOW, ConsentStep.ASK, data)
    turn.reply(
        consent_text(turn),
        [*consent_choices(turn), Choice(t("🌐 Bahasa / Language"), "/bahasa")],
        title=t("Selamat datang di Kanal Partisipasi"),
    )


async def follow_deep_link(turn: Turn, payload: str) -> bool:
    """Run the deep link ``payload`` (``<prefix>_<arg>``) names; False when there is none."""
    deep = turn.router.deep_links.get(payload.split("_", 1)[0]) if payload else None
    if deep is None:
        return False
    await deep(turn, payload)
    return True


@router.consent_gate_handler
async def consent_gate(turn: Turn) -> None:
    await ask_consent(turn)


@router.command("start", description=N_("mulai dan tampilkan menu"), needs_consent=False, usage="")
async def start(turn: Turn, args: str) -> None:
    turn.clear_state()
    if turn.user.consent_at is None:
        await ask_consent(turn, args)
        return
    if await follow_deep_link(turn, args):
        return
    show_menu(
        turn, turn.t("Halo {name}! Ada yang bisa kami bantu?", name=turn.user.display_name or turn.t("Bapak/Ibu"))
    )


@router.flow(CONSENT_FLOW, needs_consent=False)
async def consent_step(turn: Turn) -> None:
    t = turn.t
    choice = turn.inbound.choice if turn.inbound.kind is Kind.CHOICE else (turn.inbound.text or "").strip().lower()
    if choice in YES_WORDS:
        payload = turn.data.get("start", "")
        turn.user.consent_at = turn.now
        turn.audit("consent_given", subject_type="user", subject_id=str(turn.user.id))
        turn.clear_state()
        turn.reply(t("Terima kasih. Persetujuan Anda kami catat."))
        if not await follow_deep_link(turn, payload):
            show_menu(turn)
    elif choice in NO_WORDS:
        turn.clear_state()
        turn.reply(t("Baik, tidak ada data yang kami proses. Jika berubah pikiran, ketik /start kapan saja."))
    else:
        turn.reply(t('Mohon pilih "Saya setuju" atau "Tidak setuju" pada tombol di atas.'), consent_choices(turn))
