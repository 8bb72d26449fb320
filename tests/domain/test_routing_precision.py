"""The keyword router's precision rules, each with the false positives it must not produce and the
true positives it must keep (issue 20). General rules, written from failure classes seen on real
complaints, not from these sentences."""

from __future__ import annotations

import pytest

from bot.domain.region import load_region_file
from bot.domain.routing import KeywordRouter, Outside, router_for_region, tokens


@pytest.fixture(scope="module")
def demo() -> KeywordRouter:
    return router_for_region(load_region_file())


def words(text: str) -> list[str]:
    return [t.word for t in tokens(text)]


# --- politeness formulas -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Mohon izin bertanya, bagaimana cara mengurus surat keterangan?",
        "mohon ijin bertanya pak",
        "Permisi, mohon informasinya ya",
        "izin bertanya min, ini kapan dibuka?",
        "Assalamualaikum, selamat pagi, mohon maaf mengganggu",
    ],
)
def test_politeness_formulas_are_not_topics(demo, text):
    r = demo.route(text)
    assert "DPMPTSP" not in r.scores and "KOMINFO" not in r.scores, r


def test_politeness_removed_but_the_complaint_kept(demo):
    assert words("Mohon izin bertanya, jalan rusak") == ["jalan", "rusak"]
    assert demo.route("mohon izin bertanya, jalan di desa kami rusak parah").opd_code == "PUPR"
    assert demo.route("mohon info izin usaha saya kok belum keluar").opd_code == "DPMPTSP"  # a real permit
    assert demo.route("saya mau ajukan permohonan informasi anggaran desa ke ppid").opd_code == "KOMINFO"


# --- pe-/per-…-an keywords ------------------------------------------------------------------------
def test_a_nominal_keyword_matches_only_itself():
    router = KeywordRouter([("DPMPTSP", ["perizinan"]), ("SATPOLPP", ["penertiban"]), ("KOMINFO", ["permohonan data"])])
    for text in ("saya minta izin lewat", "tolong menertibkan anak saya", "mohon data dikirim", "ditertibkan"):
        assert router.route(text).scores == {}, text
    assert router.route("perizinannya lama sekali").opd_code == "DPMPTSP"
    assert router.route("penertiban pkl kemarin kasar").opd_code == "SATPOLPP"
    assert router.route("perizinan").opd_code == "DPMPTSP"


# --- typos: only long words, never names, days, months, numbers -----------------------------------
@pytest.mark.parametrize(
    ("text", "not_hit"),
    [
        ("Tanggal 12 saya datang ke kantor kecamatan", "tanggul"),
        ("hari Rabu kemarin saya antre lama", "rambu"),
        ("Saya kerja di PT Midas sudah 3 tahun", "miras"),
    ],
)
def test_no_typo_match_for_everyday_words_names_and_days(demo, text, not_hit):
    r = demo.route(text)
    assert not any(not_hit in kw for kws in r.matched.values() for kw in kws), r


def test_typos_still_forgiven_in_long_words(demo):
    assert demo.route("puskesmsa tutup terus padahal jam buka").opd_code == "DINKES"  # letters swapped
    assert demo.route("jembtan desa putus kena banjir").opd_code == "PUPR"  # a letter missing
    r = KeywordRouter([("PUPR", ["selokan"])]).route("selokon depan rumah")
    assert r.scores == {}  # a substituted letter in a 7-letter word: another word as often as a typo
    r = KeywordRouter([("DINKES", ["perawatan"])]).route("pelayanan perawatab lama")
    assert r.opd_code == "DINKES"  # from 8 letters a substitution is a typo


def test_a_capitalised_word_at_the_start_of_a_sentence_is_no_name(demo):
    assert demo.route("Puskesmsa tutup. Jembtan putus juga.").scores.keys() >= {"DINKES", "PUPR"}


# --- chat spellings that are also school levels ---------------------------------------------------
def test_smp_and_tk_read_by_their_context(demo):
    assert words("saya tunggu smp sore") == ["saya", "tunggu", "sampai", "sore"]
    assert words("beli di tk sebelah") == ["beli", "di", "toko", "sebelah"]
    assert demo.route("saya tunggu smp sore di kantor tidak dilayani").opd_code is None
    assert demo.route("anak saya di smp 2 dimintai uang gedung").opd_code == "DISDIK"
    assert demo.route("guru tk anak saya sering tidak masuk").opd_code == "DISDIK"
    assert demo.route("smp negeri 3 minta sumbangan").opd_code == "DISDIK"


# --- topic + condition within a window ------------------------------------------------------------
def test_a_topic_with_its_condition_anywhere_in_the_sentence(demo):
    r = demo.route("jalan di karangturi depan balai desa rusak banget")
    assert r.opd_code == "PUPR" and "jalan ~" in r.topic
    assert demo.route("rusak parah jalan menuju dusun kami").opd_code == "PUPR"  # either order
    # the cause is the topic: the water main, not the road it damaged
    assert demo.route("pipa PDAM bocor dari kemarin sampai jalan jadi rusak").opd_code == "PDAM"
    # another sentence is another matter
    assert demo.route("jalan ke kantor desa jauh. Motor saya rusak.").opd_code is None


def test_a_pair_needs_both_and_a_window():
    router = KeywordRouter([("PUPR", ["jalan ~ rusak|amblas"])])
    assert router.route("jalan desa licin").scores == {}
    far = "jalan " + " ".join(["kata"] * 9) + " rusak"
    assert router.route(far).scores == {}
    assert router.route("jalan " + " ".join(["kata"] * 7) + " amblas").opd_code == "PUPR"


# --- a place is not the topic --------------------------------------------------------------------
def test_a_place_gives_way_to_the_topic(demo):
    r = demo.route("di lampu merah depan polres ada pengamen yang memaksa minta uang")
    assert r.opd_code == "DINSOS" and r.scores["DISHUB"] < r.scores["DINSOS"]
    assert demo.route("wifi di taman kota mati sudah seminggu").opd_code == "KOMINFO"
    assert demo.route("sampah menumpuk di depan sekolah").opd_code == "DLH"
    # a place that is the only matter is still the matter
    assert demo.route("pelayanan di puskesmas lama sekali").opd_code == "DINKES"
    assert demo.route("lampu merah di perempatan pasar mati").opd_code == "DISHUB"


# --- outside bodies ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("Listrik di dusun kami padam sudah tiga hari, token listrik juga tidak bisa diisi.", "PLN"),
        ("sertifikat tanah PTSL saya belum jadi dua tahun", "BPN"),
        ("THR dari pabrik tempat saya kerja belum dibayar", "NAKER"),
        ("saya di PHK tanpa pesangon", "NAKER"),
        ("pajak motor saya kok naik terus di samsat", "SAMSAT"),
        ("gaji guru honorer di sekolah kami belum dibayar 3 bulan", "ASN"),
        ("pengumuman seleksi pppk kapan keluar", "ASN"),
        ("kades kami korupsi dana desa", "DESA"),
    ],
)
def test_outside_bodies_send_the_complaint_to_triage_with_the_body(demo, text, body):
    r = demo.route(text)
    assert (r.opd_code, r.outside) == (None, body), r
    assert r.outside_matched[body]


def test_an_opd_wins_over_outside_words_only_with_clearly_more_evidence(demo):
    # street lighting is the Pemda's, even with "listrik" in it
    assert (
        demo.route("lampu penerangan jalan umum di gang mawar mati total, padahal listrik rumah warga nyala").opd_code
        == "DISHUB"
    )
    r = demo.route("tiang listrik miring di pinggir jalan rusak")
    assert r.opd_code is None  # PLN's pole on a damaged road: the coordinators decide


def test_outside_needs_its_region_file():
    router = KeywordRouter([("PUPR", ["jalan"])], outside=[Outside("PLN", "PLN", ("listrik",))])
    assert router.route("listrik padam").outside == "PLN"
    assert KeywordRouter([("PUPR", ["jalan"])]).route("listrik padam").outside is None
