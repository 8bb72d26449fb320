"""The SKM questionnaire (PermenPANRB No. 14/2017): the nine elements (unsur) with their
questions and official answer labels, and the optional respondent profile fields. Texts are
Indonesian msgids, shown with ``t(...)``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.i18n import N_


@dataclass(frozen=True, slots=True)
class Element:
    """One SKM element. ``labels`` are the official answers for the values 1, 2, 3, 4 (in that
    order). Texts are Indonesian msgids: show them with ``t(...)``."""

    code: str  # "U1".."U9": the identity, stored as column u1..u9 whatever the asking order
    name: str
    question: str
    labels: tuple[str, str, str, str]

    @property
    def column(self) -> str:
        return self.code.lower()

    def label(self, value: int) -> str:
        return self.labels[value - 1]


ELEMENTS: tuple[Element, ...] = (
    Element(
        "U1",
        N_("Persyaratan"),
        N_("Bagaimana pendapat Anda tentang kesesuaian persyaratan pelayanan dengan jenis pelayanannya?"),
        (N_("Tidak sesuai"), N_("Kurang sesuai"), N_("Sesuai"), N_("Sangat sesuai")),
    ),
    Element(
        "U2",
        N_("Sistem, Mekanisme, dan Prosedur"),
        N_("Bagaimana pendapat Anda tentang kemudahan prosedur pelayanan?"),
        (N_("Tidak mudah"), N_("Kurang mudah"), N_("Mudah"), N_("Sangat mudah")),
    ),
    Element(
        "U3",
        N_("Waktu Penyelesaian"),
        N_("Bagaimana pendapat Anda tentang kecepatan waktu pelayanan?"),
        (N_("Tidak cepat"), N_("Kurang cepat"), N_("Cepat"), N_("Sangat cepat")),
    ),
    Element(
        "U4",
        N_("Biaya/Tarif"),
        N_("Bagaimana pendapat Anda tentang kewajaran biaya/tarif dalam pelayanan?"),
        (N_("Sangat mahal"), N_("Cukup mahal"), N_("Murah"), N_("Gratis")),
    ),
    Element(
        "U5",
        N_("Produk Spesifikasi Jenis Pelayanan"),
        N_("Bagaimana pendapat Anda tentang kesesuaian produk pelayanan dengan standar pelayanan?"),
        (N_("Tidak sesuai"), N_("Kurang sesuai"), N_("Sesuai"), N_("Sangat sesuai")),
    ),
    Element(
        "U6",
        N_("Kompetensi Pelaksana"),
        N_("Bagaimana pendapat Anda tentang kompetensi/kemampuan petugas dalam pelayanan?"),
        (N_("Tidak kompeten"), N_("Kurang kompeten"), N_("Kompeten"), N_("Sangat kompeten")),
    ),
    Element(
        "U7",
        N_("Perilaku Pelaksana"),
        N_("Bagaimana pendapat Anda tentang kesopanan dan keramahan petugas dalam memberikan pelayanan?"),
        (
            N_("Tidak sopan dan ramah"),
            N_("Kurang sopan dan ramah"),
            N_("Sopan dan ramah"),
            N_("Sangat sopan dan ramah"),
        ),
    ),
    Element(
        "U8",
        N_("Sarana dan Prasarana"),
        N_("Bagaimana pendapat Anda tentang kualitas sarana dan prasarana?"),
        (N_("Buruk"), N_("Cukup"), N_("Baik"), N_("Sangat baik")),
    ),
    Element(
        "U9",
        N_("Penanganan Pengaduan, Saran dan Masukan"),
        N_("Bagaimana pendapat Anda tentang penanganan pengaduan pengguna layanan?"),
        (
            N_("Tidak ada"),
            N_("Ada tetapi tidak berfungsi"),
            N_("Berfungsi kurang maksimal"),
            N_("Dikelola dengan baik"),
        ),
    ),
)
ELEMENT_BY_CODE: dict[str, Element] = {e.code: e for e in ELEMENTS}
ELEMENT_CODES: tuple[str, ...] = tuple(e.code for e in ELEMENTS)

# ---------------------------------------------------------------------------------------------
# Respondent profile (every answer optional; stored as the short code)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileOption:
    code: str  # stored value, ≤ 20 characters
    label: str  # msgid


@dataclass(frozen=True, slots=True)
class ProfileField:
    key: str  # "umur" | "jenis_kelamin" | "pendidikan" | "pekerjaan"
    name: str  # msgid
    question: str  # msgid
    options: tuple[ProfileOption, ...]

    def label(self, code: str | None) -> str | None:
        for o in self.options:
            if o.code == code:
                return o.label
        return None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)


def age_band(years: int) -> str | None:
    """The "umur" option an age typed in years falls in ("35" → "30-39"); None when no age."""
    if not 10 <= years <= 120:
        return None
    if years < 20:
        return "<20"
    if years >= 60:
        return "60+"
    low = years // 10 * 10
    return f"{low}-{low + 9}"


PROFILE_FIELDS: dict[str, ProfileField] = {
    f.key: f
    for f in (
        ProfileField(
            "umur",
            N_("Umur"),
            N_("Berapa umur Anda?"),
            (
                ProfileOption("<20", N_("< 20 tahun")),
                ProfileOption("20-29", N_("20–29 tahun")),
                ProfileOption("30-39", N_("30–39 tahun")),
                ProfileOption("40-49", N_("40–49 tahun")),
                ProfileOption("50-59", N_("50–59 tahun")),
                ProfileOption("60+", N_("≥ 60 tahun")),
            ),
        ),
        ProfileField(
            "jenis_kelamin",
            N_("Jenis kelamin"),
            N_("Apa jenis kelamin Anda?"),
            (
                ProfileOption("L", N_("Laki-laki")),
                ProfileOption("P", N_("Perempuan")),
            ),
        ),
        ProfileField(
            "pendidikan",
            N_("Pendidikan"),
            N_("Apa pendidikan terakhir Anda?"),
            (
                ProfileOption("SD", N_("SD")),
                ProfileOption("SMP", N_("SMP")),
                ProfileOption("SMA", N_("SMA")),
                ProfileOption("D1-D3", N_("D1–D3")),
                ProfileOption("D4/S1", N_("D4/S1")),
                ProfileOption("S2", N_("S2")),
                ProfileOption("S3", N_("S3")),
            ),
        ),
        ProfileField(
            "pekerjaan",
            N_("Pekerjaan"),
            N_("Apa pekerjaan Anda?"),
            (
                ProfileOption("PNS", N_("PNS")),
                ProfileOption("TNI", N_("TNI")),
                ProfileOption("POLRI", N_("POLRI")),
                ProfileOption("SWASTA", N_("Swasta")),
                ProfileOption("WIRAUSAHA", N_("Wirausaha")),
                ProfileOption("PELAJAR", N_("Pelajar/Mahasiswa")),
                ProfileOption("LAINNYA", N_("Lainnya")),
            ),
        ),
    )
}
