"""The first flows: /start with consent, the main menu, /bantuan, /batal, /bahasa, /hapusdata,
/gabung, and the friendly fallback for anything unexpected.

Later flows (SKM, pengaduan, forum) register their own commands on the same router; the menu
entries below point at their commands, and until a flow exists a placeholder answers.
"""

from __future__ import annotations

import secrets
import string
from datetime import timedelta

from bot.domain.i18n import LANGUAGE_NAMES, N_, Translator
from bot.domain.messages import Choice, Kind
from bot.engine.router import Router
from bot.engine.turn import Turn

INVITE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
INVITE_VALID_FOR = timedelta(days=7)
ROLE_NAMES = {"citizen": N_("warga"), "officer": N_("petugas OPD"), "coordinator": N_("koordinator")}

# Menu entries: (label msgid, command the button sends). A button value that is a command is
# routed exactly as if the person had typed it.
MENU = (
    (N_("📝 Survei Kepuasan"), "/survei"),
    (N_("📣 Buat Pengaduan"), "/lapor"),
    (N_("🔎 Cek Status"), "/status"),
    (N_("🤝 Forum Konsultasi"), "/forum"),
    (N_("🌐 Bahasa / Language"), "/bahasa"),
    (N_("❓ Bantuan"), "/bantuan"),
)


def new_invite_code() -> str:
    return "-".join("".join(secrets.choice(INVITE_ALPHABET) for _ in range(4)) for _ in range(3))


def menu_choices(t: Translator) -> list[Choice]:
    return [Choice(t(label), value) for label, value in MENU]


def show_menu(turn: Turn, intro: str | None = None) -> None:
    t = turn.t
    turn.reply(intro or t("Silakan pilih layanan:"), menu_choices(t), title=t("Menu utama"))


def consent_text(turn: Turn) -> str:
    t = turn.t
    return t(
        "Sebelum mulai, kami perlu persetujuan Anda (UU No. 27/2022 tentang Pelindungan Data Pribadi).\n\n"
        "• Yang kami simpan: nama dan akun chat Anda, pesan, laporan, foto dan lokasi yang Anda kirim, serta jawaban survei.\n"
        "• Untuk apa: menangani pengaduan Anda, menghitung indeks kepuasan layanan, dan mengabari Anda soal forum warga.\n"
        "• Berapa lama: selama laporan Anda ditangani; {days} hari setelah laporan ditutup, identitas Anda dihapus dan hanya angka statistik yang tersisa.\n"
        "• Siapa yang melihat: petugas OPD yang menangani laporan Anda dan koordinator pengaduan Pemda. Jika Anda memilih anonim, identitas Anda tidak pernah ditampilkan kepada petugas.\n"
        "• Hak Anda: melihat, memperbaiki, dan menghapus data Anda kapan saja dengan /hapusdata.",
        days=turn.settings.retention_days,
    )


def register(router: Router) -> None:
    async def consent_gate(turn: Turn) -> None:
        await ask_consent(turn)

    async def ask_consent(turn: Turn, payload: str = "") -> None:
        t = turn.t
        data = {"start": payload} if payload else {}
        turn.set_state("consent", "ask", data)
        turn.reply(
            consent_text(turn),
            [
                Choice(t("✅ Saya setuju"), "consent:yes"),
                Choice(t("❌ Tidak setuju"), "consent:no"),
                Choice(t("🌐 Bahasa / Language"), "/bahasa"),
            ],
            title=t("Selamat datang di Kanal Partisipasi"),
        )

    router.consent_gate = consent_gate

    async def forbidden(turn: Turn, command) -> None:
        t = turn.t
        turn.reply(
            t(
                "Perintah /{name} hanya untuk {roles}. Ketik /bantuan untuk melihat perintah yang bisa Anda pakai.",
                name=command.names[0],
                roles=", ".join(t(ROLE_NAMES[r]) for r in command.roles),
            )
        )

    router.forbidden = forbidden

    @router.command("start", description=N_("mulai dan tampilkan menu"), needs_consent=False, usage="")
    async def start(turn: Turn, args: str) -> None:
        turn.clear_state()
        if turn.user.consent_at is None:
            await ask_consent(turn, args)
            return
        deep = router.deep_links.get(args.split("_", 1)[0]) if args else None
        if deep is not None:
            await deep(turn, args)
            return
        show_menu(
            turn, turn.t("Halo {name}! Ada yang bisa kami bantu?", name=turn.user.display_name or turn.t("Bapak/Ibu"))
        )

    @router.flow("consent", needs_consent=False)
    async def consent_step(turn: Turn) -> None:
        t = turn.t
        choice = turn.inbound.choice if turn.inbound.kind is Kind.CHOICE else (turn.inbound.text or "").strip().lower()
        if choice in ("consent:yes", "setuju", "ya", "yes", "agree"):
            payload = turn.data.get("start", "")
            turn.user.consent_at = turn.now
            turn.audit("consent_given", subject_type="user", subject_id=str(turn.user.id))
            turn.clear_state()
            deep = router.deep_links.get(payload.split("_", 1)[0]) if payload else None
            turn.reply(t("Terima kasih. Persetujuan Anda kami catat."))
            if deep is not None:
                await deep(turn, payload)
            else:
                show_menu(turn)
        elif choice in ("consent:no", "tidak", "no"):
            turn.clear_state()
            turn.reply(t("Baik, tidak ada data yang kami proses. Jika berubah pikiran, ketik /start kapan saja."))
        else:
            turn.reply(
                t('Mohon pilih "Saya setuju" atau "Tidak setuju" pada tombol di atas.'),
                [Choice(t("✅ Saya setuju"), "consent:yes"), Choice(t("❌ Tidak setuju"), "consent:no")],
            )

    @router.command("menu", description=N_("tampilkan menu utama"))
    async def menu(turn: Turn, args: str) -> None:
        turn.clear_state()
        show_menu(turn)

    @router.command("bantuan", "help", description=N_("daftar perintah"), needs_consent=False)
    async def help_(turn: Turn, args: str) -> None:
        t = turn.t
        lines = [t("Perintah yang bisa Anda pakai ({role}):", role=t(ROLE_NAMES.get(turn.user.role, "warga")))]
        for cmd in router.commands_for(turn.user.role):
            names = " ".join(f"/{n}" for n in cmd.names)
            usage = f" {cmd.usage}" if cmd.usage else ""
            lines.append(f"• {names}{usage} — {t(cmd.description)}")
        lines.append("")
        lines.append(t("Anda juga bisa memakai tombol menu. Ketik /batal untuk keluar dari proses apa pun."))
        turn.reply("\n".join(lines), title=t("Bantuan"))

    @router.command("batal", "cancel", description=N_("keluar dari proses yang sedang berjalan"), needs_consent=False)
    async def cancel(turn: Turn, args: str) -> None:
        t = turn.t
        was = turn.flow
        leaving = router.on_cancel.get(was) if was else None
        if leaving is not None:
            await leaving(turn)
        turn.clear_state()
        if turn.user.consent_at is None:
            turn.reply(t("Dibatalkan. Ketik /start untuk memulai."))
        elif was:
            show_menu(turn, t("Dibatalkan. Tidak ada yang dikirim."))
        else:
            show_menu(turn, t("Tidak ada proses yang sedang berjalan."))

    @router.command(
        "bahasa", "language", description=N_("ganti bahasa / change language"), needs_consent=False, usage="[id|en]"
    )
    async def language(turn: Turn, args: str) -> None:
        wanted = args.strip().lower()[:2]
        offered = turn.settings.languages
        if wanted in offered:
            await _set_language(turn, wanted)
            return
        previous = (
            {"flow": turn.flow, "step": turn.step, "data": turn.data}
            if turn.flow not in (None, "language")
            else turn.data.get("previous")
        )
        turn.set_state("language", "choose", {"previous": previous})
        t = turn.t
        text = t("Pilih bahasa / Choose language:")
        if wanted:
            text = t('Bahasa "{code}" belum tersedia.', code=args.strip()[:10]) + "\n" + text
        turn.reply(text, [Choice(LANGUAGE_NAMES[code], f"lang:{code}") for code in offered])

    @router.flow("language", needs_consent=False)
    async def language_step(turn: Turn) -> None:
        value = turn.inbound.choice or (turn.inbound.text or "").strip().lower()
        code = value.removeprefix("lang:")[:2]
        if code in turn.settings.languages:
            await _set_language(turn, code)
        else:
            turn.reply(
                turn.t("Pilih bahasa / Choose language:"),
                [Choice(LANGUAGE_NAMES[c], f"lang:{c}") for c in turn.settings.languages],
            )

    async def _set_language(turn: Turn, code: str) -> None:
        previous = turn.data.get("previous") if turn.flow == "language" else None
        turn.user.language = code
        turn.user.language_explicit = True
        turn.lang = code
        turn.audit("language_set", subject_type="user", subject_id=str(turn.user.id), language=code)
        t = turn.t
        if turn.user.consent_at is None:  # the notice again, now in the chosen language
            await ask_consent(turn, ((previous or {}).get("data") or {}).get("start", ""))
        elif previous and previous.get("flow"):
            turn.set_state(previous["flow"], previous["step"], previous.get("data") or {})
            turn.reply(
                t("Bahasa diganti ke Bahasa Indonesia. Silakan lanjutkan.")
                if code == "id"
                else t("Bahasa diganti ke English. Silakan lanjutkan.")
            )
        else:
            turn.clear_state()
            show_menu(
                turn, t("Bahasa diganti ke Bahasa Indonesia.") if code == "id" else t("Bahasa diganti ke English.")
            )

    @router.command("hapusdata", "deletedata", description=N_("hapus data pribadi saya"), needs_consent=False)
    async def delete_data(turn: Turn, args: str) -> None:
        t = turn.t
        turn.set_state("erase", "confirm", {})
        turn.reply(
            t(
                "Anda akan menghapus data pribadi Anda: nama, akun chat, nomor telepon, dan riwayat percakapan dengan bot ini. "
                "Laporan dan jawaban survei tetap tersimpan tanpa identitas Anda untuk keperluan statistik, dan Anda tidak akan menerima kabar lanjutan atas laporan Anda. "
                "Tindakan ini tidak bisa dibatalkan. Lanjutkan?"
            ),
            [Choice(t("🗑️ Ya, hapus data saya"), "erase:yes"), Choice(t("Tidak, kembali"), "erase:no")],
            title=t("Hapus data pribadi"),
        )

    @router.flow("erase", needs_consent=False)
    async def erase_step(turn: Turn) -> None:
        t = turn.t
        if turn.inbound.choice == "erase:yes":
            turn.audit("user_erased", subject_type="user", subject_id=str(turn.user.id))
            # the goodbye goes out to the address before the identifiers are removed
            turn.reply(
                t(
                    "Data pribadi Anda sudah dihapus. Terima kasih telah berpartisipasi. Ketik /start jika ingin memakai layanan ini lagi."
                )
            )
            for hook in router.on_erase:
                await hook(turn)
            await turn.repo.erase_user(turn.user, turn.now)
        elif turn.inbound.choice == "erase:no":
            turn.clear_state()
            show_menu(turn, t("Baik, data Anda tidak dihapus."))
        else:
            turn.reply(
                t("Mohon pilih salah satu tombol: hapus atau kembali."),
                [Choice(t("🗑️ Ya, hapus data saya"), "erase:yes"), Choice(t("Tidak, kembali"), "erase:no")],
            )

    @router.command(
        "gabung", "join", description=N_("ambil peran petugas/koordinator dengan kode undangan"), usage=N_("KODE")
    )
    async def join(turn: Turn, args: str) -> None:
        t = turn.t
        code = args.strip().upper()
        if not code:
            turn.reply(t("Ketik /gabung diikuti kode undangan, misalnya: /gabung ABCD-EFGH-JKLM"))
            return
        invite = await turn.repo.redeem_invite(code, turn.user.id, turn.now) if len(code) <= 40 else None
        if invite is None:
            turn.audit("invite_rejected")
            turn.reply(
                t(
                    "Kode undangan tidak dikenal, sudah dipakai, atau sudah kedaluwarsa. Mintalah kode baru kepada koordinator."
                )
            )
            return
        turn.user.role = invite.role
        turn.user.opd_code = invite.opd_code
        turn.audit(
            "role_granted", subject_type="user", subject_id=str(turn.user.id), role=invite.role, opd=invite.opd_code
        )
        if invite.role == "officer":
            opd = await turn.repo.get_opd(invite.opd_code or "")
            turn.reply(
                t(
                    "Selamat, Anda terdaftar sebagai petugas {opd}. Ketik /bantuan untuk melihat perintah petugas.",
                    opd=opd.name if opd else invite.opd_code,
                )
            )
        else:
            turn.reply(
                t("Selamat, Anda terdaftar sebagai koordinator. Ketik /bantuan untuk melihat perintah koordinator.")
            )

    @router.fallback_handler
    async def fallback(turn: Turn) -> None:
        t = turn.t
        inbound = turn.inbound
        if inbound.kind is Kind.UNSUPPORTED:
            text = t(
                "Maaf, pesan jenis ini ({kind}) belum bisa kami baca. Silakan kirim teks atau pilih tombol.",
                kind=inbound.unsupported_type or t("lainnya"),
            )
        elif inbound.kind is Kind.CHOICE:
            text = t("Tombol itu sudah tidak berlaku. Silakan pilih dari menu terbaru:")
        elif inbound.command is not None:
            text = t(
                "Perintah /{name} tidak dikenal. Ketik /bantuan untuk daftar perintah.", name=inbound.command[0][:32]
            )
        elif inbound.kind in (Kind.PHOTO, Kind.LOCATION, Kind.CONTACT):
            text = t(
                "Terima kasih. Untuk mengirim foto atau lokasi sebagai bagian dari laporan, mulai dulu dengan /lapor."
            )
        else:
            text = t("Maaf, saya belum mengerti pesan itu. Silakan pilih layanan dari menu:")
        show_menu(turn, text)
