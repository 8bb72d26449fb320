"""Translations through gettext catalogs (Babel).

Bahasa Indonesia is the source language: msgids are the Indonesian text, and
``bot/locale/<lang>/LC_MESSAGES/kanal.po`` holds the other languages. The .po files are read
with Babel at start-up (no compile step). Mark strings with ``t("…")`` in flows or ``N_("…")``
for module-level constants; ``pybabel extract -k t -k N_ -o kanal.pot bot handlers`` collects them.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import resources
from pathlib import Path

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)
SOURCE_LANGUAGE = "id"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


def N_(msgid: str) -> str:
    """Mark a string for extraction; translated later, where the language is known."""
    return msgid


def locale_dir() -> Path:
    return Path(str(resources.files("bot") / "locale"))


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == SOURCE_LANGUAGE:
        return {}
    path = locale_dir() / lang / "LC_MESSAGES" / "kanal.po"
    if not path.is_file():
        log.warning("no catalog for language %s", lang)
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {m.id: m.string for m in cat if m.id and m.string and not m.fuzzy and isinstance(m.id, str)}


def gettext(lang: str, msgid: str, /, **values: object) -> str:
    text = catalog(lang).get(msgid, msgid)
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.error("bad placeholders in %s translation of %r", lang, msgid)
            return msgid.format(**values)
    return text


class Translator:
    """``t("…", name=…)`` in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, msgid: str, /, **values: object) -> str:
        return gettext(self.lang, msgid, **values)


# ---- plain words: the catalog's style guide (README "Writing the texts") ---------------------
#: Words no Indonesian text may contain, with the plain words to say instead. The one list:
#: ``tests/domain/test_plain_words.py`` fails on any marked msgid that contains one of them (a
#: command name such as ``/triase`` is not a word of the text and is allowed).
AVOID_WORDS: dict[str, str] = {
    "disposisi": "diteruskan ke (nama OPD)",
    "didisposisikan": "diteruskan ke (nama OPD)",
    "triase": "diperiksa petugas / menunggu diarahkan",
    "verifikasi": "diperiksa",
    "diverifikasi": "diperiksa",
    "ditindaklanjuti": "dikerjakan / ditangani",
    "menindaklanjuti": "menangani",
    "tindak lanjut": "perbaikan / langkah berikutnya",
    "kerahasiaan": "siapa yang boleh tahu nama Anda",
    "karakter": "kata / huruf",
    "konfirmasi": "penilaian / jawaban",
    "eskalasi": "diteruskan ke koordinator",
    "opd tujuan": "diteruskan ke (nama OPD)",
    # English words that leaked into Indonesian texts
    "straight-lining": "jawaban seragam",
    "alpha": "alfa (Cronbach)",
    "voice": "pesan suara",
    "sticker": "stiker",
}


def duration_words(t: Translator, days: int) -> str:
    """A period of ``days`` calendar days said the way people say it: "2 tahun", "6 bulan",
    "3 minggu", "10 hari" (in ``t``'s language); "730 hari" is hard to picture."""
    years, months = round(days / 365), round(days / 30.4375)
    if years >= 1 and abs(days - years * 365) <= 2:
        return t("1 tahun") if years == 1 else t("{n} tahun", n=years)
    if 7 <= days < 60 and days % 7 == 0:
        return t("1 minggu") if days == 7 else t("{n} minggu", n=days // 7)
    if months >= 1 and abs(days - months * 30.4375) <= 3:
        return t("1 bulan") if months == 1 else t("{n} bulan", n=months)
    return t("1 hari") if days == 1 else t("{n} hari", n=days)


def day_count(t: Translator, n: int, *, working: bool) -> str:
    """``n`` days of a deadline: "3 hari kerja" when the region counts working days, else "3 hari"."""
    if working:
        return t("1 hari kerja") if n == 1 else t("{n} hari kerja", n=n)
    return t("1 hari") if n == 1 else t("{n} hari", n=n)


#: what a message a flow cannot read is called (``Inbound.unsupported_type``), for "pesan jenis
#: ini (…) belum bisa kami baca"; an unknown type is "lainnya"
UNSUPPORTED_NAMES: dict[str, str] = {
    "sticker": N_("stiker"),
    "voice": N_("pesan suara"),
    "audio": N_("rekaman suara"),
    "video": N_("video"),
    "video_note": N_("video singkat"),
    "animation": N_("animasi"),
    "document": N_("dokumen"),
    "poll": N_("jajak pendapat"),
    "dice": N_("dadu"),
    "game": N_("permainan"),
    "contacts": N_("kontak"),
    "reaction": N_("reaksi"),
    "edited_message": N_("pesan yang diubah"),
    "group": N_("pesan grup"),
    "interactive": N_("tombol lama"),
}


OTHER_KIND = N_("lainnya")


def unsupported_name(t: Translator, kind: str | None) -> str:
    """``Inbound.unsupported_type`` in the reader's words ("pesan suara", not "voice")."""
    return t(UNSUPPORTED_NAMES.get(kind or "", OTHER_KIND))
