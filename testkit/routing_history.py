"""A generated routing history of the demo region, for tests and benchmarks (never for the figures
that are reported as real): complaints written the way citizens write them — an opener, a topic of
one OPD (or of a body outside the Pemda: ``NONE``) with its trouble, a place, a closer — with random
places, chat spellings, missing capitals and typos. Deterministic for a seed.

Each label has topics of its own plus some shared words, so a model has something to learn that the
keyword lists do not already say; ``write_csv`` writes the ``text,opd`` file ``kanal routing`` reads.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

#: label → (subjects, troubles): "<subject> <trouble>" is the core of a complaint
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "PUPR": (
        ["jalan", "jalan desa", "jembatan", "gorong-gorong", "saluran air", "talud", "aspal", "jalan kabupaten"],
        ["rusak parah", "berlubang besar", "amblas", "putus", "retak-retak", "ambrol kena hujan", "licin dan becek"],
    ),
    "DLH": (
        ["sampah", "tumpukan sampah", "truk sampah", "limbah pabrik", "bau dari TPS", "asap pembakaran sampah"],
        ["tidak diangkut seminggu", "menumpuk di pinggir jalan", "bau busuk sekali", "mencemari sungai"],
    ),
    "DISDUKCAPIL": (
        ["ktp elektronik", "kartu keluarga", "akta kelahiran anak", "blanko ktp", "data nik", "surat pindah"],
        ["belum jadi sebulan", "salah tulis nama", "tidak bisa dicetak", "katanya blanko habis", "ditolak terus"],
    ),
    "DINKES": (
        ["puskesmas", "bidan desa", "posyandu", "obat di puskesmas", "imunisasi anak", "pustu"],
        ["tutup di jam layanan", "petugasnya judes", "obatnya habis", "antrenya lama sekali", "tidak ada dokter"],
    ),
    "RSUD": (
        ["rsud", "igd rumah sakit", "poli rsud", "kamar rawat inap", "ambulans rumah sakit", "kasir rumah sakit"],
        ["pasien ditolak", "antre dari subuh", "perawatnya kasar", "katanya kamar penuh", "biayanya tidak jelas"],
    ),
    "DISDIK": (
        ["sekolah anak saya", "smp negeri 2", "guru kelas", "ppdb zonasi", "dana bos", "kepala sekolah"],
        ["minta uang gedung", "menjual seragam mahal", "jarang masuk kelas", "pendaftaran ditolak", "ada pungutan"],
    ),
    "DPMPTSP": (
        ["izin usaha", "nib di oss", "pbg rumah", "izin reklame", "izin praktik", "perizinan toko"],
        ["prosesnya berbulan-bulan", "ditolak tanpa alasan", "diminta biaya tambahan", "sistemnya error"],
    ),
    "DISHUB": (
        ["lampu jalan", "lampu merah perempatan", "parkir liar", "angkot", "rambu lalu lintas", "juru parkir"],
        ["mati sudah dua minggu", "tarifnya menaikkan sendiri", "ngetem sembarangan", "roboh ketabrak"],
    ),
    "DINSOS": (
        ["bansos", "pkh ibu saya", "bantuan sembako", "data dtks", "orang gangguan jiwa", "pengemis"],
        ["tidak dapat padahal miskin", "salah sasaran ke orang mampu", "dipotong oknum", "berkeliaran di pasar"],
    ),
    "SATPOLPP": (
        ["pedagang kaki lima", "tempat karaoke", "balap liar", "penjual miras", "bangunan liar", "sarang tawon"],
        ["mengganggu warga tiap malam", "berjualan di trotoar", "buka sampai subuh", "meresahkan warga"],
    ),
    "KOMINFO": (
        ["wifi publik", "website pemkab", "sinyal hp", "aplikasi layanan", "berita hoaks", "cctv kota"],
        ["mati terus", "tidak bisa dibuka", "hilang sejak ada tower baru", "error waktu login", "beredar di grup"],
    ),
    "PDAM": (
        ["air pdam", "pipa pdam", "meteran air", "tagihan pdam", "air bersih", "sambungan pdam"],
        ["mati tiga hari", "keruh dan berbau", "bocor di depan rumah", "tagihannya melonjak", "kecil sekali"],
    ),
    "NONE": (
        [
            "listrik",
            "token listrik",
            "sertifikat tanah",
            "ptsl",
            "gaji di pabrik",
            "thr karyawan",
            "pajak motor",
            "stnk",
            "seleksi pppk",
            "tenaga honorer",
            "dana desa",
            "kepala desa",
        ],
        [
            "padam terus",
            "belum jadi dua tahun",
            "belum dibayar",
            "dipotong perusahaan",
            "mahal sekali",
            "tidak transparan",
            "tidak diangkat",
            "dipakai pribadi",
        ],
    ),
}
OPENERS = ["", "", "selamat pagi, ", "mohon izin bertanya, ", "tolong pak, ", "min, ", "lapor, ", "assalamualaikum, "]
PLACES = [
    "di desa sukamaju",
    "di dusun krajan",
    "di kecamatan cijambu",
    "di rt 03",
    "depan pasar",
    "dekat balai desa",
    "di gang mawar",
    "di karangturi",
    "",
    "",
]
CLOSERS = [
    "",
    "",
    "mohon ditindaklanjuti",
    "tolong segera",
    "sudah lapor tapi tidak ada tanggapan",
    "terima kasih",
    "warga resah",
    "kapan diperbaiki?",
]
CHAT = {"tidak": "gak", "sudah": "udh", "yang": "yg", "dengan": "dgn", "sekali": "bgt", "tolong": "tlg"}


def _typo(word: str, rnd: random.Random) -> str:
    if len(word) < 6 or not word.isalpha():
        return word
    i = rnd.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :] if rnd.random() < 0.5 else word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def complaint(label: str, rnd: random.Random) -> str:
    subjects, troubles = TOPICS[label]
    core = f"{rnd.choice(subjects)} {rnd.choice(PLACES)} {rnd.choice(troubles)}"
    text = " ".join(f"{rnd.choice(OPENERS)}{core}, {rnd.choice(CLOSERS)}".split()).strip(" ,")
    words = []
    for w in text.split():
        w = CHAT.get(w, w) if rnd.random() < 0.5 else w
        words.append(_typo(w, rnd) if rnd.random() < 0.08 else w)
    text = " ".join(words)
    return text[:1].upper() + text[1:] if rnd.random() < 0.5 else text


def history(n: int, seed: int = 1) -> list[tuple[str, str]]:
    """``n`` (text, label) rows, labels in proportion (NONE a little more often, as in real portals)."""
    rnd = random.Random(seed)
    labels = [*TOPICS, "NONE"]
    return [(complaint(label, rnd), label) for label in (rnd.choice(labels) for _ in range(n))]


def write_csv(path: str | Path, n: int, seed: int = 1) -> Path:
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "opd"])
        w.writerows(history(n, seed))
    return path
