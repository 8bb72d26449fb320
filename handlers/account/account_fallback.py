"""Anything outside a flow and a command: the words people type instead of commands ("lapor",
"survei", "status ADU-2026-00012", "halo", "batal"), then the features' offers for a free text,
photo or location (file it as a complaint, add it to an open one: ``Router.free_text_hook``), and
only then the friendly answer saying why it was not understood, with the menu."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.complaint_rules import Role
from bot.domain.i18n import unsupported_name
from bot.domain.messages import Kind
from bot.domain.typed import normalise
from bot.engine.router import Router
from bot.engine.turn import Turn
from handlers.account.account_menu import show_menu
from handlers.account.account_suggest import suggest_command

router = Router("account.fallback")

#: typed words (normalised) → the command they stand for outside a flow
INTENTS: dict[str, str] = {}
for _command, _words in {
    "/lapor": "lapor melapor adu aduan mengadu keluhan komplain pengaduan complaint report|buat laporan|buat pengaduan",
    "/survei": "survei survey skm kuesioner|isi survei|survei kepuasan",
    "/status": "status cek|cek status|cek laporan|status laporan|laporan saya",
    "/menu": "menu home beranda|menu utama|main menu",
    "/bantuan": "bantuan help panduan|cara pakai|apa ini",
    "/forum": "forum fkp|forum warga|forum konsultasi",
    "/bahasa": "bahasa language english|ganti bahasa",
    "/batal": "batal cancel|tidak jadi|gak jadi|nggak jadi",
}.items():
    _single, *_phrases = _words.split("|")
    for _w in [*_single.split(), *_phrases]:
        INTENTS[_w] = _command
#: staff work from memory too: their commands' words (only for staff: a citizen's "antrian" is a word)
STAFF_INTENTS = {w: f"/{w}" for w in ("antrian", "triase", "ringkasan", "ikm", "populasi", "ekspor", "forumbaru")}
STAFF_INTENTS |= {"forum baru": "/forumbaru", "antrean": "/antrian", "rekap": "/ringkasan"}
STAFF_WITH_TEXT = {w: f"/{w}" for w in ("lihat", "balas", "selesai", "teruskan", "kembalikan", "arahkan", "cari")}
#: the first word of "lapor jalan rusak di …", "status ADU-2026-00012": the command with the rest
INTENTS_WITH_TEXT = {"lapor": "/lapor", "adu": "/lapor", "aduan": "/lapor", "keluhan": "/lapor", "status": "/status"}
INTENTS_WITH_TEXT |= {"cek": "/status", "survei": "/survei"}
GREETINGS = frozenset(
    (
        *("halo", "hallo", "helo", "hai", "hi", "hello", "hey", "p", "pagi", "siang", "sore", "malam"),
        *("permisi", "salam", "assalamualaikum"),
        "assalamu alaikum",
        "assalamualaikum wr wb",
        "assalamu alaikum wr wb",
        "selamat pagi",
        "selamat siang",
        "selamat sore",
        "selamat malam",
        "good morning",
    )
)
THANKS = frozenset(("terima kasih", "terimakasih", "makasih", "trims", "thanks", "thank you", "tq", "thx", "nuhun"))


#: words people put before what they want ("saya mau lapor", "ingin cek status", "tolong bantuan")
WISH_WORDS = frozenset(("saya", "aku", "sy", "mau", "ingin", "pengen", "pingin", "mohon", "tolong", "minta", "bisa"))


def without_wish(text: str) -> str:
    """``text`` without the wish words it starts with; unchanged when nothing else would be left."""
    words = text.strip().split()
    i = 0
    while i < len(words) - 1 and normalise(words[i]) in WISH_WORDS:
        i += 1
    return " ".join(words[i:])


def typed_command(text: str, staff: bool = False) -> str | None:
    """The command a typed text outside a flow stands for ("saya mau lapor" too), or None."""
    text = without_wish(text)
    n = normalise(text)
    if n in INTENTS:
        return INTENTS[n]
    if staff and n in STAFF_INTENTS:
        return STAFF_INTENTS[n]
    head, _, rest = text.strip().partition(" ")
    command = INTENTS_WITH_TEXT.get(normalise(head)) or (STAFF_WITH_TEXT.get(normalise(head)) if staff else None)
    if command is not None and rest.strip():
        return f"{command} {rest.strip()}"
    return None


@router.fallback_handler
async def fallback(turn: Turn) -> None:
    t = turn.t
    inbound = turn.inbound
    typed = inbound.kind is Kind.TEXT and inbound.text and inbound.command is None
    if typed and await understood_words(turn, inbound.text):
        return
    if inbound.kind in (Kind.TEXT, Kind.PHOTO, Kind.VOICE, Kind.LOCATION) and inbound.command is None:
        for hook in turn.router.free_text if turn.router else ():
            if await hook(turn):
                return
    if inbound.kind is Kind.UNSUPPORTED:
        text = t(
            "Maaf, pesan jenis ini ({kind}) belum bisa kami baca. Silakan kirim teks atau pilih tombol.",
            kind=unsupported_name(t, inbound.unsupported_type),
        )
    elif inbound.kind is Kind.CHOICE:
        text = t("Tombol itu sudah tidak berlaku. Silakan pilih dari menu terbaru:")
    elif inbound.command is not None:
        if suggest_command(turn):  # "/antrain": "maksud Anda /antrian?"
            return
        text = t("Perintah /{name} tidak dikenal. Ketik /bantuan untuk daftar perintah.", name=inbound.command[0][:32])
    elif inbound.kind is Kind.VOICE:
        text = t("Pesan suara diterima. Untuk melapor dengan pesan suara, mulai dengan /lapor.")
    elif inbound.kind in (Kind.PHOTO, Kind.LOCATION, Kind.CONTACT):
        text = t("Terima kasih. Untuk mengirim foto atau lokasi sebagai bagian dari laporan, mulai dulu dengan /lapor.")
    else:
        text = t(
            "Maaf, saya belum mengerti pesan itu. Ketik misalnya \u201clapor\u201d, \u201csurvei\u201d atau "
            "\u201cstatus\u201d, atau pilih dari menu:"
        )
    show_menu(turn, text)


#: words after a greeting that are still small talk ("halo, apa kabar", "selamat pagi pak")
SMALL_TALK = frozenset(("apa", "kabar", "pak", "bu", "bapak", "ibu", "mas", "mbak", "kak", "min", "admin", "semua"))


def greeting(n: str) -> bool:
    """A greeting, alone or with a few words of small talk (never a complaint that starts with one)."""
    words = [w for w in n.split() if len(w) > 1] or n.split()  # "<b>halo</b>" is "b halo b"
    for size in (3, 2, 1):
        if " ".join(words[:size]) in GREETINGS:
            return all(w in SMALL_TALK for w in words[size:])
    return False


async def understood_words(turn: Turn, typed: str) -> bool:
    """A command typed as a word, a greeting or a thank-you; True when answered."""
    t = turn.t
    command = typed_command(typed, staff=turn.user.role != Role.CITIZEN)
    if command is not None and turn.router is not None:
        turn.inbound = replace(turn.inbound, kind=Kind.TEXT, text=command, choice=None)
        await turn.router.route(turn)
        return True
    n = normalise(typed)
    if greeting(n):
        show_menu(turn, t("Halo {name}! Ada yang bisa kami bantu?", name=turn.user.display_name or t("Bapak/Ibu")))
        return True
    if n in THANKS:
        show_menu(turn, t("Sama-sama. Ada lagi yang bisa kami bantu?"))
        return True
    return False
