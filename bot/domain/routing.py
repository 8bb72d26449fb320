"""Auto-routing of complaint texts by the region file's keyword lists (pure: no SQL, no I/O).

Precision first: a doubtful text goes to the coordinators' triage, never confidently to a wrong OPD.
Pipeline for a text (and, identically, for every keyword, so both sides meet in the same form):

1. ``tokens``: lower case, accents/emoji dropped, reduplication collapsed ("anak2", "jalan-jalan"),
   letters repeated 3+ times collapsed ("rusakkk"), chat abbreviations and a few regional words
   expanded (``ABBREVIATIONS``: "jln" → "jalan", "gak" → "tidak", Javanese "dalan", Sundanese
   "runtah"…); "smp"/"tk" are *sampai*/*toko* unless a number or a school word around them says
   school (``CONTEXT_ABBREVIATIONS``); numbers dropped; sentences and clauses (commas) kept apart;
   politeness formulas removed ("mohon izin bertanya", "mohon informasinya", greetings: ``_POLITE``).
   A word Capitalised inside a sentence (a name: "Midas"), a day or a month is marked not fuzzy.
2. ``KeywordRouter`` finds keyword occurrences: a text word matches a keyword word when their stems
   (``stem``: a conservative stemmer for simple affixes) are equal — except that a pe(N)-/per-…-an
   keyword word ("perizinan", "penertiban") matches only itself, never its root or verb — or, when
   no word matches so, by a typo: words as written, both of ≥ 6 letters (one typo, two from 10), the
   same first letter, a changed letter counting only from 8 letters ("tanggal" is not "tanggul"),
   never for an everyday word (``_NO_FUZZY``) or a word marked not fuzzy; candidates come from a
   precomputed deletion index. Phrases match in order within a clause, with at most one extra word
   inside ("lampu di jalan"). A keyword ``"topic ~ cond1|cond2"`` matches the topic with one of its
   conditions anywhere in the same sentence, at most ``PAIR_WINDOW`` words apart, either order.
3. Overlapping occurrences are resolved longest first, so a longer phrase of one OPD beats a
   shorter keyword of another ("lampu jalan" DISHUB over "jalan" PUPR, "anak jalanan" DINSOS).
4. Each OPD scores the sum of its distinct matched keywords' weights: 1 for a word, +0.5 per extra
   word of a phrase or pair (max 2.5), ×0.8 for a typo; a single word that also occurs inside another
   group's phrase ("jalan", "bpjs") is ambiguous and weighs half; a repeat adds a quarter (two at
   most). A keyword framed as a place counts ×0.3: always after a place word ("depan polres",
   "di samping jembatan"), and after "di"/"ke"/"dari" when another group has a keyword that is not
   so framed ("di lampu merah … ada pengamen", "wifi di taman kota mati").
5. Outside bodies (region file ``[[outside]]``: PLN, BPN…) score like OPDs from their markers. The
   best OPD gets the complaint when its score is ≥ ``min_score`` (0.8: one plain keyword, even with a
   typo, but not one ambiguous word), it leads the runner-up OPD by ``min_margin`` (relative), and it
   has at least ``OUTSIDE_DOMINANCE`` (2×) the best outside body's evidence. Otherwise, when that body
   scores ≥ ``min_score`` and more than half the best OPD, the result names it (``outside``, no OPD):
   triage, with the body suggested. Anything else: triage.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ABBREVIATIONS",
    "KeywordRouter",
    "Outside",
    "RouteResult",
    "damerau",
    "normalise",
    "router_for_region",
    "stem",
]

# Chat abbreviations, spelling variants and common regional (Javanese/Sundanese/Betawi) words that
# change what a keyword can match. Kept small on purpose: synonyms belong in the region's keywords.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    k: tuple(v.split())
    for k, v in {
        # places and services
        "jln": "jalan",
        "jl": "jalan",
        "jaln": "jalan",
        "jlan": "jalan",
        "dalan": "jalan",
        "dalane": "jalan",
        "ijin": "izin",
        "sklh": "sekolah",
        "sekolh": "sekolah",
        "skolah": "sekolah",
        "sakola": "sekolah",
        "sekolahan": "sekolah",
        "rs": "rumah sakit",
        "rsu": "rumah sakit umum",
        "pkm": "puskesmas",
        "puskes": "puskesmas",
        "akte": "akta",
        "apotik": "apotek",
        "ektp": "e ktp",
        "lalin": "lalu lintas",
        "ortu": "orang tua",
        "db": "dbd",
        "omah": "rumah",
        "imah": "rumah",
        "banyu": "air",
        "cai": "air",
        "runtah": "sampah",
        "uwuh": "sampah",
        "kades": "kepala desa",
        "pemkab": "pemerintah kabupaten",
        "kec": "kecamatan",
        "kel": "kelurahan",
        "kab": "kabupaten",
        "ambulan": "ambulans",
        # negation (needed by phrases such as "air tidak mengalir")
        "gak": "tidak",
        "ga": "tidak",
        "gk": "tidak",
        "nggak": "tidak",
        "ngga": "tidak",
        "enggak": "tidak",
        "engga": "tidak",
        "tdk": "tidak",
        "tak": "tidak",
        "ndak": "tidak",
        "nda": "tidak",
        "kagak": "tidak",
        "kaga": "tidak",
        "ora": "tidak",
        "teu": "tidak",
        "henteu": "tidak",
        # everyday chat
        "yg": "yang",
        "dgn": "dengan",
        "krn": "karena",
        "karna": "karena",
        "tp": "tapi",
        "tpi": "tapi",
        "sy": "saya",
        "sdh": "sudah",
        "udh": "sudah",
        "udah": "sudah",
        "dah": "sudah",
        "blm": "belum",
        "belom": "belum",
        "bgt": "banget",
        "bngt": "banget",
        "skrg": "sekarang",
        "skrng": "sekarang",
        "bbrp": "beberapa",
        "org": "orang",
        "tlg": "tolong",
        "mhn": "mohon",
        "kmrn": "kemarin",
        "trs": "terus",
        "jg": "juga",
        "utk": "untuk",
        "dpt": "dapat",
        "dapet": "dapat",
        "gmn": "bagaimana",
        "gimana": "bagaimana",
        "knp": "kenapa",
        "dll": "dan lain lain",
        "dsb": "dan sebagainya",
        "sm": "sama",
        "pd": "pada",
        "lg": "lagi",
        "bs": "bisa",
        "tgl": "tanggal",
        "brp": "berapa",
        "bln": "bulan",
        "thn": "tahun",
        "mlm": "malam",
        "bnyk": "banyak",
        "byk": "banyak",
        "sgt": "sangat",
        "msh": "masih",
        "jd": "jadi",
        "jdi": "jadi",
        "klo": "kalau",
        "kalo": "kalau",
        "sampe": "sampai",
        "smpe": "sampai",
        "ampe": "sampai",
        "bpk": "bapak",
        "ank": "anak",
        "dg": "dengan",
        "lpju": "lampu penerangan jalan umum",
    }.items()
}
# Chat spellings that are also school levels: "smp" is "sampai" and "tk" is "toko" unless the words
# around them say school (a number or "negeri" after, a school word before: "SMP 2", "guru TK").
CONTEXT_ABBREVIATIONS: dict[str, str] = {"smp": "sampai", "tk": "toko"}
_SCHOOL_AFTER = frozenset(["negeri", "n", "swasta", "islam", "it", "pgri", "muhammadiyah", "kelas", "terpadu"])
_SCHOOL_BEFORE = frozenset(["sekolah", "guru", "siswa", "murid", "kelas", "lulusan", "lulus", "masuk", "daftar"])

# Roots that look affixed but are not; never cut ("jalan" is not jal-an, "bersih" is not ber-sih).
_ROOTS = frozenset(
    [
        "jalan",
        "taman",
        "badan",
        "depan",
        "bulan",
        "makan",
        "teman",
        "tahan",
        "hujan",
        "tangan",
        "pangan",
        "kawan",
        "lawan",
        "korban",
        "saran",
        "pesan",
        "dinas",
        "dingin",
        "diare",
        "berita",
        "bersih",
        "beras",
        "berat",
        "perlu",
        "pernah",
        "tertib",
        "tengah",
        "terang",
        "teras",
        "ikan",
        "bukan",
        "akan",
        "lapan",
        "sedan",
        "kanan",
        "ladang",
        "pasien",
        "kemarin",
        "sekolah",
        "masalah",
        "sebelah",
        "jumlah",
        "langkah",
    ]
)
# Everyday words that must never fuzzy-match a keyword ("sampai" is one letter from "sampah").
_NO_FUZZY = frozenset(
    [
        "sampai",
        "sampe",
        "tidak",
        "sudah",
        "belum",
        "banget",
        "karena",
        "dengan",
        "tolong",
        "mohon",
        "kemarin",
        "sekarang",
        "beberapa",
        "orang",
        "warga",
        "harga",
        "angkat",
        "lampau",
        "banjar",
        "sangat",
        "semua",
        "sekali",
        "selalu",
        "setiap",
        "masih",
        "hanya",
        "bagaimana",
        "kenapa",
        "terima",
        "kasih",
        "bapak",
        "pagi",
        "siang",
        "malam",
        "minggu",
        "tahun",
        "bulan",
        "rumah",
        "murah",
        "tanah",
        "lantai",
        "kantor",
        "petugas",
        "pelayanan",
        "layanan",
        "kepada",
        "untuk",
        "dapat",
        "bisa",
        "tapi",
        "juga",
        "lagi",
        "saja",
        "sama",
        "ketika",
        "kapan",
        "padahal",
        "katanya",
        "kemana",
        "dimana",
        "seperti",
        "mereka",
        "kami",
        "kita",
        "anak",
        "ibu",
        "saya",
        "desa",
        "dusun",
        "kabupaten",
        "kecamatan",
        "kelurahan",
        "bayar",
        "bayaran",
        "harus",
        "hampir",
        "datang",
        "pulang",
        "masuk",
        "keluar",
        "lewat",
        "lebih",
        "kurang",
        "besar",
        "kecil",
        "malah",
        "kabar",
        "kasar",
        "badan",
        "balai",
        "warna",
        "marah",
        "masak",
        "rawan",
        "sawah",
        "daerah",
        "tepat",
        "situ",
        "pake",
        "beda",
        "dina",
        "rapat",
        "macam",
        "meriah",
        "muter",
        "gotong",
        "lapak",
        "terdaftar",
        "penanganan",
        "sumbangan",
        "kamari",
    ]
)
# Days and months (with their short forms) never fuzzy-match a keyword ("Rabu" is not "rambu").
_CALENDAR = frozenset(
    [
        "senin",
        "selasa",
        "rabu",
        "kamis",
        "jumat",
        "sabtu",
        "minggu",
        "ahad",
        "januari",
        "februari",
        "maret",
        "april",
        "mei",
        "juni",
        "juli",
        "agustus",
        "september",
        "oktober",
        "november",
        "desember",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "agu",
        "agt",
        "ags",
        "sep",
        "sept",
        "okt",
        "nov",
        "des",
    ]
)
# Politeness formulas, removed before matching: "mohon izin bertanya" is not a permit, "mohon
# informasinya" not a request for public information. Each is a sequence of word sets (surface
# words after abbreviations); the longest formula at a position is removed.
_ASK = "bertanya|tanya|menyampaikan|sampaikan|melapor|lapor|mengadu|curhat|share|berbagi|info"
_PLEASE_WHAT = "informasinya|infonya|penjelasannya|penjelasan|arahannya|arahan|sarannya|solusinya|bantuannya"
_POLITE: tuple[tuple[frozenset[str], ...], ...] = tuple(
    tuple(frozenset(alts.split("|")) for alts in formula.split())
    for formula in (
        f"mohon|minta|numpang|izin izin|permisi {_ASK}",
        f"izin {_ASK}",
        f"mohon|minta {_PLEASE_WHAT}|maaf|tolong",
        "mohon|minta informasi|info|bantuan",
        "terima|trima kasih|kasi",
        "selamat pagi|siang|sore|malam|datang",
        "permisi",
        "assalamualaikum|asalamualaikum|salam",
        "yth",
    )
)
# Place words: a keyword right after one is a landmark ("sampah di samping jembatan"), not the topic.
_LANDMARK = frozenset(
    [
        "depan",
        "belakang",
        "samping",
        "sebelah",
        "seberang",
        "dekat",
        "sekitar",
        "pinggir",
        "perempatan",
        "pertigaan",
        "simpang",
        "ujung",
        "arah",
        "menuju",
    ]
)
# Prepositions of place: a keyword right after one ("di lampu merah", "ke taman") is where it
# happened; it gives way when another OPD's keyword in the text is not such a place.
_AT = frozenset(["di", "ke", "dari", "dekat"])
_VOWELS = frozenset("aeiou")
_MIN_STEM = 3

_REDUP_TWO = re.compile(r"\b([a-z]{2,})2(nya|an|ku)?\b")
_REPEATS = re.compile(r"([a-z])\1{2,}")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


_RAW_TOKEN = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*|[.!?\n,;:()]")


@dataclass(frozen=True)
class Token:
    """A word of a text as the router reads it."""

    word: str  # lower case, cleaned, abbreviations expanded (one written word may give several)
    fuzzy: bool  # may match a keyword with a typo (not a name, a day or month, a number)
    sentence: int  # which sentence of the text it is in
    clause: int = 0  # which clause (a comma, a semicolon… ends one): a phrase never spans two


def tokens(text: str, *, keyword: bool = False) -> list[Token]:
    """The words of ``text``: lower-cased, repeated letters and reduplication collapsed ("rusakkk",
    "anak2", "jalan-jalan"), chat abbreviations expanded, numbers dropped, politeness formulas
    removed; a word Capitalised inside a sentence (a name: "Midas", "Rabu") is marked not fuzzy.
    A ``keyword`` of the region file is read as written: no politeness or school-context rules."""
    raw = _RAW_TOKEN.findall(_fold(text))
    out: list[Token] = []
    sentence, clause, start = 0, 0, True
    for i, tok in enumerate(raw):
        if tok in ",;:()":
            clause += 1
            continue
        if tok in ".!?\n":
            sentence += 1
            clause += 1
            start = True
            continue
        named = not start and tok[:1].isupper() and not tok.isupper()
        start = False
        low = _REPEATS.sub(r"\1", tok.lower())
        parts = low.split("-")
        if len(parts) == 2 and parts[0] == parts[1]:
            parts = parts[:1]
        for part in parts:
            part = _REDUP_TWO.sub(r"\1\2", part)
            if not part or part.isdigit():
                continue
            nxt = raw[i + 1].lower() if i + 1 < len(raw) else ""
            prev = out[-1].word if out else ""
            if (
                part in CONTEXT_ABBREVIATIONS
                and not keyword
                and not (nxt.isdigit() or nxt in _SCHOOL_AFTER or prev in _SCHOOL_BEFORE)
            ):
                words: tuple[str, ...] = (CONTEXT_ABBREVIATIONS[part],)
            else:
                words = ABBREVIATIONS.get(part, (part,))
            for w in words:
                fuzzy = not named and w.isalpha() and w not in _CALENDAR and w not in _NO_FUZZY
                out.append(Token(w, fuzzy, sentence, clause))
    return out if keyword else _without_politeness(out)


def _without_politeness(toks: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(toks):
        n = next(
            (
                len(f)
                for f in sorted(_POLITE, key=len, reverse=True)
                if i + len(f) <= len(toks) and all(toks[i + j].word in alts for j, alts in enumerate(f))
            ),
            0,
        )
        if n:
            i += n
            continue
        out.append(toks[i])
        i += 1
    return out


def _surface(text: str, *, keyword: bool = False) -> list[str]:
    """Lower-cased, cleaned, abbreviation-expanded words (no stemming); numbers are dropped."""
    return [t.word for t in tokens(text, keyword=keyword)]


def stem(word: str, keep: frozenset[str] | set[str] = frozenset()) -> str:
    """Conservative stem of one lower-case word: strips -lah/-kah, -nya, -kan/-an/-in and one prefix
    (di-, ter-, ber-, per-, meN-/peN- with their sound changes, colloquial ng-/nge-/ny-/n-, and ke-…-an).
    A cut happens only if at least 3 letters remain; a word in ``keep`` (or a known root) is returned
    as it stands at that point, so a keyword is never stemmed past itself."""
    w = word
    if w in keep or w in _ROOTS or len(w) < 5 or not w.isalpha():
        return w
    suffix_an = False
    for suf in ("lah", "kah", "nya"):
        if w.endswith(suf) and len(w) - 3 >= _MIN_STEM:
            w = w[:-3]
            if w in keep or w in _ROOTS:
                return w
            break
    for suf in ("kan", "an", "in"):
        if w.endswith(suf) and len(w) - len(suf) >= _MIN_STEM + (1 if suf == "kan" else 0):
            if suf == "in" and not w.startswith(("di", "ng", "ny", "me", "n")):
                continue
            w = w[: -len(suf)]
            suffix_an = suf in ("an", "kan")
            if w in keep or w in _ROOTS:
                return w
            break
    cut = _strip_prefix(w, suffix_an)
    return cut if cut and len(cut) >= _MIN_STEM else w


def _strip_prefix(w: str, confix: bool) -> str | None:
    n = len(w)
    if n < _MIN_STEM + 2:
        return None
    c2 = w[2] if n > 2 else ""
    c3 = w[3] if n > 3 else ""
    c4 = w[4] if n > 4 else ""
    for pre in ("me", "pe"):
        if not w.startswith(pre):
            continue
        if w.startswith(pre + "ng") and (c4 in _VOWELS or c4 in "ghk"):
            return w[4:]
        if w.startswith(pre + "ny") and c4 in _VOWELS:
            return "s" + w[4:]
        if w.startswith(pre + "m") and c3 in "bfpv":
            return w[3:]
        if w.startswith(pre + "n") and c3 in "cdjzs":
            return w[3:]
        if w.startswith(pre + "n") and c3 in _VOWELS:
            return "t" + w[3:]
        if pre == "pe" and w.startswith("per"):
            return w[3:]
        if c2 in "lrwymn":
            return w[2:]
        return None
    if w.startswith("ber") or w.startswith("ter"):
        return w[3:]
    if w.startswith("di"):
        return w[2:]
    if confix and w.startswith("ke"):
        return w[2:]
    if w.startswith("nge") and c3 not in _VOWELS:
        return w[3:]
    if w.startswith("ng") and c2 in _VOWELS:
        return w[2:]
    if w.startswith("ny") and c2 in _VOWELS:
        return "s" + w[2:]
    if w.startswith("n") and w[1] in _VOWELS and w[2] not in _VOWELS:
        return "t" + w[1:]
    return None


def normalise(text: str, keep: Iterable[str] = ()) -> list[str]:
    """Tokens of ``text``: cleaned, abbreviations expanded, stemmed (words in ``keep`` are not)."""
    keep = keep if isinstance(keep, (set, frozenset)) else frozenset(keep)
    return [stem(t, keep) for t in _surface(text)]


def damerau(a: str, b: str, substitution: int = 1) -> int:
    """Optimal-string-alignment distance (Levenshtein plus adjacent transpositions); a changed letter
    costs ``substitution``."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ai = a[i - 1]
        for j in range(1, lb + 1):
            cost = 0 if ai == b[j - 1] else substitution
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ai == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[lb]


def _max_typos(n: int) -> int:
    """Typos forgiven in a word of ``n`` letters: none below 6 (short words are full of neighbours:
    "rabu"/"rambu", "tk"), one up to 9, two from 10."""
    return 2 if n >= 10 else 1 if n >= 6 else 0


#: below this length a one-letter substitution makes another word more often than a typo
#: ("tanggal"/"tanggul", "Midas"/"miras"): only letters missing, doubled or swapped count there
_MIN_SUBSTITUTION = 8


def _typos(a: str, b: str) -> int:
    """The typo distance: a changed letter counts as one typo only in long words."""
    return damerau(a, b, 1 if min(len(a), len(b)) >= _MIN_SUBSTITUTION else 2)


def _nominal(word: str) -> bool:
    """A pe(N)-/per-…-an noun ("perizinan", "penertiban", "permohonan"): as a keyword it matches
    only itself (with -nya), never its root or verb ("izin", "menertibkan", "mohon")."""
    return len(word) >= 7 and word.startswith("pe") and word.endswith("an") and stem(word) != word


def _deletions(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


@dataclass(frozen=True)
class Outside:
    """An authority outside the Pemda (region file ``[[outside]]``): complaints whose text carries its
    markers belong there, not to an OPD ("listrik padam" → PLN, "sertifikat tanah" → BPN)."""

    code: str  # e.g. "PLN"; 1-20 of A-Z 0-9 -, distinct from the OPD codes
    name: str  # the body as a citizen is told: "PLN (layanan pelanggan 123 / aplikasi PLN Mobile)"
    markers: tuple[str, ...]  # words and phrases, matched like OPD keywords
    lapor: bool = True  # the citizen may also report it through SP4N-LAPOR! (lapor.go.id)


@dataclass(frozen=True)
class RouteResult:
    opd_code: str | None  # None: send to the coordinators' triage queue
    confidence: float  # 0..1: (best − second) / best × min(1, best / FULL_SCORE)
    scores: dict[str, float]  # OPD code → score, only OPDs with a match
    matched: dict[str, list[str]]  # OPD code → its matched keywords as written in the region file
    topic: str | None  # best matched keyword (of the chosen OPD, else of the top scorer)
    outside: str | None = None  # code of the outside authority the text belongs to (opd_code is None then)
    outside_matched: dict[str, list[str]] = field(default_factory=dict)  # outside code → markers hit


@dataclass
class _Keyword:
    opd: str  # an OPD code, or OUTSIDE_PREFIX + an outside body's code
    text: str  # as written in the region file
    words: tuple[int, ...]
    weight: float
    conditions: frozenset[int] = frozenset()  # a topic + condition pair ("jalan ~ rusak|amblas")


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    keywords: list[int] = field(default_factory=list)


OUTSIDE_PREFIX = "@"


class KeywordRouter:
    """Built once from ``[(opd_code, keywords)]`` (e.g. a region's OPDs) and the region's outside
    bodies; ``route`` is pure and fast."""

    FULL_SCORE = 2.0  # evidence at which confidence is no longer damped (two keywords or a long phrase)
    REPEAT_BONUS = 0.25  # per further occurrence of the same keyword (at most two count)
    LANDMARK_FACTOR = 0.3  # "di depan sekolah", "di lampu merah … ada pengamen": where, not what
    PAIR_WINDOW = 8  # a topic and its condition ("jalan … rusak") at most this many words apart
    OUTSIDE_DOMINANCE = 2.0  # an OPD wins over an outside body's words only with twice their evidence

    def __init__(
        self,
        opds: Iterable[tuple[str, Sequence[str]]],
        *,
        outside: Sequence[Outside] = (),
        min_score: float = 0.8,
        min_margin: float = 0.3,
        fuzzy_quality: float = 0.8,
        max_gap: int = 1,
    ) -> None:
        self.min_score = min_score
        self.min_margin = min_margin
        self.fuzzy_quality = fuzzy_quality
        self.max_gap = max_gap
        self.outside = {o.code: o for o in outside}
        opds = [(code, [k for k in kws if k and k.strip()]) for code, kws in opds]
        self.opd_codes = tuple(code for code, _ in opds)
        groups = opds + [(OUTSIDE_PREFIX + o.code, [m for m in o.markers if m and m.strip()]) for o in outside]
        surfaces: dict[str, tuple[list[str], list[str]]] = {}  # keyword → (topic words, condition words)
        for _code, kws in groups:
            for kw in kws:
                topic, _, conds = kw.partition("~")
                surfaces[kw] = (_surface(topic, keyword=True), _surface(conds.replace("|", " "), keyword=True))
        self._keep = frozenset(w for ws, cs in surfaces.values() for w in (*ws, *cs))
        self._word_ids: dict[str, int] = {}
        self._by_key: dict[str, set[int]] = {}  # surface or stem → keyword-word ids
        self._del_index: dict[str, set[int]] = {}  # deletion variant → keyword-word ids (fuzzy)
        self._fuzzy_forms: list[tuple[str, ...]] = []  # word id → forms a typo is measured against
        self.keywords: list[_Keyword] = []
        self._pairs: list[int] = []  # keyword ids of topic + condition pairs
        self._root = _Node()
        self._cache: dict[str, dict[int, float]] = {}

        seen: set[tuple[str, tuple[int, ...], frozenset[int]]] = set()
        phrase_words: dict[int, set[str]] = {}  # word id → OPDs that use it inside a phrase
        for code, kws in groups:
            for kw in kws:
                ws, cs = surfaces[kw]
                if not ws:
                    continue
                ids = tuple(self._word_id(w) for w in ws)
                conds = frozenset(self._word_id(c) for c in cs)
                if (code, ids, conds) in seen:
                    continue
                seen.add((code, ids, conds))
                if len(ids) > 1 or conds:
                    for i in ids:
                        phrase_words.setdefault(i, set()).add(code)
                size = len(ids) + (1 if conds else 0)
                self.keywords.append(_Keyword(code, kw, ids, min(2.5, 1.0 + 0.5 * (size - 1)), conds))
        for kid, k in enumerate(self.keywords):
            if len(k.words) == 1 and not k.conditions and phrase_words.get(k.words[0], set()) - {k.opd}:
                k.weight = 0.5
            if k.conditions:
                self._pairs.append(kid)
                continue
            node = self._root
            for i in k.words:
                node = node.children.setdefault(i, _Node())
            node.keywords.append(kid)

    def _word_id(self, w: str) -> int:
        if w in self._word_ids:
            return self._word_ids[w]
        wid = len(self._word_ids)
        self._word_ids[w] = wid
        # a pe(N)-…-an noun matches only itself; other words also by their stems
        forms = {w} if _nominal(w) else {w, stem(w, self._keep), stem(w)}
        for f in forms:
            self._by_key.setdefault(f, set()).add(wid)
        # typos are measured between words as written, never between stems ("penumpang" → "tumpang"
        # is one letter from "tumbang"): Indonesian stems are short and full of near neighbours
        fuzzy = (w,) if _max_typos(len(w)) and w.isalpha() and w not in _CALENDAR else ()
        self._fuzzy_forms.append(fuzzy)
        for f in fuzzy:
            for d in _deletions(f, _max_typos(len(f))):
                self._del_index.setdefault(d, set()).add(wid)
        return wid

    def _candidates(self, tok: Token) -> dict[int, float]:
        """Keyword-word ids a text word can stand for, with match quality (1 exact/stem, lower fuzzy)."""
        key = tok.word if tok.fuzzy else tok.word + "\0"
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        w = tok.word
        forms = {w, stem(w, self._keep), stem(w)}
        out: dict[int, float] = {}
        for f in forms:
            for wid in self._by_key.get(f, ()):
                out[wid] = 1.0
        if not out and tok.fuzzy and _max_typos(len(w)):
            for d in _deletions(w, _max_typos(len(w))):
                for wid in self._del_index.get(d, ()):
                    if wid in out:
                        continue
                    for kf in self._fuzzy_forms[wid]:
                        limit = min(_max_typos(len(kf)), _max_typos(len(w)))
                        if kf[0] == w[0] and abs(len(kf) - len(w)) <= limit and _typos(w, kf) <= limit:
                            out[wid] = self.fuzzy_quality
                            break
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = out
        return out

    def _occurrences(self, toks: list[Token]) -> list[tuple[tuple[int, ...], int, float]]:
        cands = [self._candidates(t) for t in toks]
        n = len(toks)
        found: list[tuple[tuple[int, ...], int, float]] = []
        for start in range(n):
            if not cands[start]:
                continue
            stack = [
                (self._root.children[w], (start,), q, 0) for w, q in cands[start].items() if w in self._root.children
            ]
            while stack:
                node, pos, q, gaps = stack.pop()
                for kid in node.keywords:
                    found.append((pos, kid, q))
                if not node.children:
                    continue
                last = pos[-1]
                for j in range(last + 1, min(n, last + 2 + self.max_gap - gaps)):
                    if toks[j].clause != toks[last].clause:
                        break
                    for w, wq in cands[j].items():
                        child = node.children.get(w)
                        if child is not None:
                            stack.append((child, pos + (j,), min(q, wq), gaps + (j - last - 1)))
        for kid in self._pairs:
            found.extend(self._pair_occurrences(kid, toks, cands))
        return found

    def _pair_occurrences(self, kid: int, toks: list[Token], cands: list[dict[int, float]]):
        """A topic ("jalan") with one of its conditions ("rusak", "amblas") in the same sentence,
        at most ``PAIR_WINDOW`` words apart, in either order."""
        k = self.keywords[kid]
        size = len(k.words)
        for start in range(len(toks) - size + 1):
            qs = [cands[start + j].get(w, 0.0) for j, w in enumerate(k.words)]
            if not all(qs) or len({toks[start + j].sentence for j in range(size)}) > 1:
                continue
            lo, hi = max(0, start - self.PAIR_WINDOW), min(len(toks), start + size + self.PAIR_WINDOW)
            for j in range(lo, hi):
                if start <= j < start + size or toks[j].sentence != toks[start].sentence:
                    continue
                q = max((cands[j].get(c, 0.0) for c in k.conditions), default=0.0)
                if q:
                    yield (*range(start, start + size), j), kid, min(min(qs), q)
                    break

    def normalise(self, text: str) -> list[str]:
        """``normalise`` with this router's keyword words kept as they are."""
        return normalise(text, self._keep)

    def _place(self, words: list[str], at: int) -> str | None:
        """How the words before position ``at`` frame a keyword: "landmark" after a place word
        ("depan", "di samping"), "at" after a bare preposition of place ("di", "ke"), else None."""
        before = words[at - 1] if at else ""
        if before in _LANDMARK or (before in _AT and at > 1 and words[at - 2] in _LANDMARK):
            return "landmark"
        return "at" if before in _AT else None

    def route(self, text: str) -> RouteResult:
        """Score every OPD and outside body for ``text``; ``opd_code`` is None (triage) when the lead
        is too weak or an outside body's words weigh as much; ``outside`` names that body."""
        toks = tokens(text)
        words = [t.word for t in toks]
        occ = self._occurrences(toks)
        occ.sort(key=lambda o: (-len(o[0]), -o[2], o[0][0]))
        used: set[int] = set()
        best_kw: dict[int, tuple[float, str | None]] = {}
        count: dict[int, int] = {}
        for pos, kid, q in occ:
            if used.intersection(pos):
                continue
            used.update(pos)
            place = self._place(words, min(pos))
            if q > best_kw.get(kid, (0.0, None))[0] or (q == best_kw[kid][0] and place is None):
                best_kw[kid] = (q, place)
            count[kid] = count.get(kid, 0) + 1
        # a keyword framed as a place gives way to another group's keyword that is not
        topical = {self.keywords[kid].opd for kid, (_, place) in best_kw.items() if place is None}
        raw: dict[str, float] = {}
        matched_all: dict[str, list[str]] = {}
        top_kw: dict[str, tuple[float, str]] = {}
        for kid, (q, place) in best_kw.items():
            k = self.keywords[kid]
            if place == "landmark" or (place == "at" and topical - {k.opd}):
                q *= self.LANDMARK_FACTOR
            sc = k.weight * q * (1.0 + self.REPEAT_BONUS * min(2, count[kid] - 1))
            raw[k.opd] = round(raw.get(k.opd, 0.0) + sc, 4)
            matched_all.setdefault(k.opd, []).append(k.text)
            if sc > top_kw.get(k.opd, (0.0, ""))[0]:
                top_kw[k.opd] = (sc, k.text)
        scores = {c: v for c, v in raw.items() if not c.startswith(OUTSIDE_PREFIX)}
        matched = {c: v for c, v in matched_all.items() if not c.startswith(OUTSIDE_PREFIX)}
        out_scores = {c[1:]: v for c, v in raw.items() if c.startswith(OUTSIDE_PREFIX)}
        outside_matched = {c[1:]: v for c, v in matched_all.items() if c.startswith(OUTSIDE_PREFIX)}
        out_code, out_best = max(out_scores.items(), key=lambda kv: (kv[1], kv[0]), default=(None, 0.0))
        if not scores and not out_scores:
            return RouteResult(None, 0.0, {}, {}, None)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        best_code, best = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        margin = (best - second) / best if best else 0.0
        confidence = round(margin * min(1.0, best / self.FULL_SCORE), 4)
        opd_ok = best >= self.min_score and margin >= self.min_margin and best >= self.OUTSIDE_DOMINANCE * out_best
        if best_code is not None and opd_ok:
            return RouteResult(best_code, confidence, scores, matched, top_kw[best_code][1], None, outside_matched)
        if out_code is not None and out_best >= self.min_score and out_best * self.OUTSIDE_DOMINANCE > best:
            out_conf = round(min(1.0, out_best / self.FULL_SCORE) * (1 - best / (out_best + best)), 4)
            topic = top_kw[OUTSIDE_PREFIX + out_code][1]
            return RouteResult(None, out_conf, scores, matched, topic, out_code, outside_matched)
        topic = top_kw[best_code][1] if best_code else None
        return RouteResult(None, confidence, scores, matched, topic, None, outside_matched)


def router_for_region(region, **options) -> KeywordRouter:
    """A router over a ``bot.domain.region.Region``'s OPDs (codes and keyword lists) and outside bodies."""
    return KeywordRouter([(o.code, o.keywords) for o in region.opds], outside=getattr(region, "outside", ()), **options)
