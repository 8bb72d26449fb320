"""/hapusdata: a person erases their identifiers. Every feature's erase hook anonymises its own
rows first; reports and survey answers stay, without the person, for the statistics."""

from __future__ import annotations

from enum import StrEnum

from bot.domain.i18n import N_
from bot.domain.messages import Choice, Forget
from bot.domain.typed import Means
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu

router = Router("account.erase")

ERASE_FLOW = "erase"


class EraseStep(StrEnum):
    CONFIRM = "confirm"


ERASE_YES = "erase:yes"
ERASE_NO = "erase:no"


def erase_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [Choice(t("🗑️ Ya, hapus data saya"), ERASE_YES, Means.YES), Choice(t("Tidak, kembali"), ERASE_NO, Means.NO)]


@router.command("hapusdata", "deletedata", description=N_("hapus data pribadi saya"), needs_consent=False)
async def delete_data(turn: Turn, args: str) -> None:
    t = turn.t
    turn.set_state(ERASE_FLOW, EraseStep.CONFIRM, {})
    turn.reply(
        t(
            "Anda akan menghapus data pribadi Anda: nama, akun chat, nomor telepon, "
            "dan riwayat percakapan dengan bot ini. "
            "Laporan dan jawaban survei tetap tersimpan tanpa identitas Anda untuk keperluan statistik, "
            "dan Anda tidak akan menerima kabar lanjutan atas laporan Anda. "
            "Tindakan ini tidak bisa dibatalkan. Lanjutkan?"
        ),
        erase_choices(turn),
        title=t("Hapus data pribadi"),
    )


@router.flow(ERASE_FLOW, needs_consent=False)
async def erase_step(turn: Turn) -> None:
    t = turn.t
    if turn.inbound.choice == ERASE_YES:
        turn.audit("user_erased", subject_type="user", subject_id=str(turn.user.id))
        for hook in turn.router.on_erase:
            await hook(turn)
        # storage.erasure: everything the person left, in every table, outbox included
        await turn.uow.personal.erase([turn.user], turn.now)
        # the goodbye is written after the erasure, to the address they wrote from, and the row
        # is deleted once it went out (a web chat reload shows nothing)
        turn.reply(
            t(
                "Data pribadi Anda sudah dihapus. Terima kasih telah berpartisipasi. "
                "Ketik /start jika ingin memakai layanan ini lagi."
            ),
            forget=Forget.ROW,
        )
    elif turn.inbound.choice == ERASE_NO:
        turn.clear_state()
        show_menu(turn, t("Baik, data Anda tidak dihapus."))
    else:
        turn.reply(t("Mohon pilih salah satu tombol: hapus atau kembali."), erase_choices(turn))
