"""The friendly answer to anything outside a flow and a command: why it was not understood, and
the main menu."""

from __future__ import annotations

from bot.domain.i18n import unsupported_name
from bot.domain.messages import Kind
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu

router = Router("account.fallback")


@router.fallback_handler
async def fallback(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    if inbound.kind is Kind.UNSUPPORTED:
        text = t(
            "Maaf, pesan jenis ini ({kind}) belum bisa kami baca. Silakan kirim teks atau pilih tombol.",
            kind=unsupported_name(t, inbound.unsupported_type),
        )
    elif inbound.kind is Kind.CHOICE:
        text = t("Tombol itu sudah tidak berlaku. Silakan pilih dari menu terbaru:")
    elif inbound.command is not None:
        text = t("Perintah /{name} tidak dikenal. Ketik /bantuan untuk daftar perintah.", name=inbound.command[0][:32])
    elif inbound.kind in (Kind.PHOTO, Kind.LOCATION, Kind.CONTACT):
        text = t("Terima kasih. Untuk mengirim foto atau lokasi sebagai bagian dari laporan, mulai dulu dengan /lapor.")
    else:
        text = t("Maaf, saya belum mengerti pesan itu. Silakan pilih layanan dari menu:")
    show_menu(turn, text)
