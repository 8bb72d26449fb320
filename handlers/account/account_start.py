"""/start and the consent notice every person must accept before anything is stored about them.

The consent gate answers every command or flow that needs consent. What the person sent (a
command such as ``/gabung KODE``, a menu button, a whole complaint typed as the first message) is
kept in the consent state as the *pending* message and, once they agree, routed again exactly as
if just sent; ``/start <prefix>_<arg>`` deep links (declared by other features) run the same way.
A refusal keeps nothing: the next message shows the notice again.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

from bot.domain.i18n import N_, duration_words
from bot.domain.messages import SHORT, Choice, Kind
from bot.domain.typed import Means
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_cancel import leave_flow
from handlers.account.account_menu import show_menu
from handlers.account.account_resume import FRESH, interrupts, offer_resume

router = Router("account.start")

CONSENT_FLOW = "consent"


class ConsentStep(StrEnum):
    ASK = "ask"


#: button values of the consent notice
CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
CONSENT_MORE = "consent:more"
YES_WORDS = (CONSENT_YES, "setuju", "saya setuju", "ya", "iya", "yes", "agree", "ok", "oke", "boleh")
NO_WORDS = (CONSENT_NO, "tidak", "tidak setuju", "no", "nggak", "gak")
MORE_WORDS = (CONSENT_MORE, "selengkapnya", "baca selengkapnya", "more", "read more")
#: the longest pending message kept (a complaint is at most 4,000 characters)
MAX_PENDING = 4096


def consent_text(turn: Turn) -> str:
    """The short notice: what, why, and the rights the bot offers; the rest is one button away."""
    return turn.t(
        "Sebelum mulai, kami perlu persetujuan Anda (UU No. 27/2022 tentang Pelindungan Data Pribadi).\n"
        "Kami menyimpan nama, akun chat, dan apa yang Anda kirim untuk menangani laporan dan survei Anda.\n"
        "Lihat data Anda dengan /datasaya, hapus dengan /hapusdata, kapan saja."
    )


def consent_details(turn: Turn) -> str:
    """The whole notice: what is stored, why, how long, who sees it, the person's rights."""
    t = turn.t
    return t(
        "• Yang kami simpan: nama dan akun chat Anda, pesan, laporan, foto dan lokasi yang Anda kirim, "
        "serta jawaban survei.\n"
        "• Untuk apa: menangani pengaduan Anda, menghitung indeks kepuasan layanan, "
        "dan mengabari Anda soal forum warga.\n"
        "• Berapa lama: selama laporan Anda ditangani. {period} setelah laporan ditutup, "
        "identitas Anda dihapus dan hanya angka statistik yang tersisa.\n"
        "• Siapa yang melihat: petugas OPD yang menangani laporan Anda dan koordinator pengaduan Pemda. "
        "Jika Anda memilih anonim, nama Anda tidak pernah ditampilkan kepada petugas.\n"
        "• Hak Anda: melihat data Anda (/datasaya), menghapusnya (/hapusdata), "
        "dan memilih bahasa (/bahasa), kapan saja.",
        period=duration_words(t, turn.settings.retention_days),
    )


def consent_choices(turn: Turn) -> list[Choice]:
    t = turn.t
    return [Choice(t("✅ Saya setuju"), CONSENT_YES, Means.YES), Choice(t("❌ Tidak setuju"), CONSENT_NO, Means.NO)]


def pending_message(turn: Turn) -> str | None:
    """What the person sent that the notice interrupted, to route once they agree: a typed text or
    command, or a button standing for a command (a menu entry). Nothing for photos or old buttons."""
    inbound = turn.inbound
    raw = inbound.choice if inbound.kind is Kind.CHOICE else inbound.text if inbound.kind is Kind.TEXT else None
    raw = (raw or "").strip()
    if not raw or (inbound.kind is Kind.CHOICE and not raw.startswith("/")):
        return None
    command = inbound.command
    if command is not None and command[0] == "start":  # /start itself is no errand; its deep link is kept apart
        return None
    return raw[:MAX_PENDING]


async def ask_consent(turn: Turn, payload: str = "", pending: str | None = None) -> None:
    """The consent notice; ``payload`` is a deep link and ``pending`` a message to follow once the
    person agrees."""
    t = turn.t
    data: dict[str, str] = {}
    if payload:
        data["start"] = payload
    if pending:
        data["pending"] = pending
    turn.set_state(CONSENT_FLOW, ConsentStep.ASK, data)
    turn.reply(
        consent_text(turn),
        # three buttons: WhatsApp shows at most three as buttons (more become a list); the
        # language button is on the full text
        [*consent_choices(turn), Choice(t("📄 Baca selengkapnya"), CONSENT_MORE)],
        title=t("Selamat datang di Kanal Partisipasi"),
        extra={SHORT: consent_short(turn)},
    )


def consent_short(turn: Turn) -> str:
    """The notice where a message is short (SMS: two segments with its choices)."""
    return turn.t(
        "Kami perlu persetujuan Anda: kami menyimpan nomor dan pesan Anda untuk laporan dan survei "
        "(UU 27/2022). Lihat data: ketik DATASAYA. Hapus: HAPUSDATA."
    )


def deep_link_of(turn: Turn, payload: str):
    """The handler of the deep link ``payload`` (``<prefix>_<arg>``), or None."""
    return turn.router.deep_links.get(payload.split("_", 1)[0]) if payload else None


async def follow_deep_link(turn: Turn, payload: str) -> bool:
    """Run the deep link ``payload`` (``<prefix>_<arg>``) names; False when there is none."""
    deep = deep_link_of(turn, payload)
    if deep is None:
        return False
    await deep(turn, payload)
    return True


async def follow_pending(turn: Turn, pending: str) -> None:
    """Route the message the notice interrupted exactly as if the person had just sent it."""
    turn.inbound = replace(turn.inbound, kind=Kind.TEXT, text=pending, choice=None)
    await turn.router.route(turn)


@router.consent_gate_handler
async def consent_gate(turn: Turn) -> None:
    kept = turn.data if turn.flow == CONSENT_FLOW else {}
    await ask_consent(turn, kept.get("start", ""), pending_message(turn) or kept.get("pending"))


@router.command("start", description=N_("mulai dan tampilkan menu"), needs_consent=False, usage="")
async def start(turn: Turn, args: str) -> None:
    if turn.user.consent_at is None:
        turn.clear_state()
        await ask_consent(turn, args)
        return
    if interrupts(turn, args) and deep_link_of(turn, args) is not None:
        offer_resume(turn, args)  # a QR code scanned again, a page reconnecting: nothing is lost
        return
    if args.startswith(FRESH):  # "start over" pressed: leave the flow as /batal would
        args = args.removeprefix(FRESH)
        await leave_flow(turn)
    turn.clear_state()
    if await follow_deep_link(turn, args):
        return
    show_menu(
        turn, turn.t("Halo {name}! Ada yang bisa kami bantu?", name=turn.user.display_name or turn.t("Bapak/Ibu"))
    )


def typed_answer(turn: Turn) -> str:
    if turn.inbound.kind is Kind.CHOICE:
        return turn.inbound.choice or ""
    return " ".join((turn.inbound.text or "").strip().lower().strip(".!").split())


@router.flow(CONSENT_FLOW, needs_consent=False)
async def consent_step(turn: Turn) -> None:
    t = turn.t
    answer = typed_answer(turn)
    if answer in YES_WORDS:
        payload, pending = turn.data.get("start", ""), turn.data.get("pending")
        turn.user.consent_at = turn.now
        turn.audit("consent_given", subject_type="user", subject_id=str(turn.user.id))
        turn.clear_state()  # before the pending message: it starts from no flow
        turn.reply(t("Terima kasih. Persetujuan Anda kami catat."))
        if await follow_deep_link(turn, payload):
            return
        if pending:
            await follow_pending(turn, pending)
        else:
            show_menu(turn)
    elif answer in NO_WORDS:
        turn.clear_state()  # the pending message too: nothing is kept without consent
        turn.reply(
            t(
                "Baik, tidak ada data yang kami proses. Jika berubah pikiran, kirim pesan apa saja: "
                'pemberitahuan ini muncul lagi dengan tombol "Saya setuju".'
            )
        )
    elif answer in MORE_WORDS:
        turn.reply(
            consent_details(turn),
            [*consent_choices(turn), Choice(t("🌐 Bahasa / Language"), "/bahasa")],
            title=t("Data pribadi Anda"),
        )
    else:
        pending = kept_with(turn.data.get("pending"), pending_message(turn))
        if pending != turn.data.get("pending"):
            turn.set_state(CONSENT_FLOW, ConsentStep.ASK, {**turn.data, "pending": pending})
        ask = t('Mohon pilih "Saya setuju" atau "Tidak setuju" pada tombol di bawah.')
        if pending:
            ask = t("Pesan Anda sudah kami terima dan kami lanjutkan setelah Anda setuju.") + " " + ask
        turn.reply(ask, [*consent_choices(turn), Choice(t("📄 Baca selengkapnya"), CONSENT_MORE)])


def kept_with(kept: str | None, new: str | None) -> str | None:
    """The pending message with one more typed before the person answered the notice: a story
    told in two messages is kept whole; a command is kept alone (the first one wins)."""
    if not kept or not new:
        return kept or new
    if kept.startswith("/") or new.startswith("/"):
        return kept
    return f"{kept}\n{new}"[:MAX_PENDING]
