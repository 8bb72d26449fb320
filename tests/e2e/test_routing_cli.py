"""`kanal routing train | evaluate | explain` as a Pemda's operator uses them: real processes on the
test database (SQLite, or PostgreSQL with KANAL_TEST_DATABASE_URL), a generated region history."""

from __future__ import annotations

import csv
from collections import Counter

from bot.domain.region import demo_region_path
from testkit.routing_history import history, write_csv
from tests.e2e.test_cli import kanal


def setup(db_url: str, tmp_path) -> dict[str, str]:
    env = {"KANAL_DATABASE_URL": db_url}
    out = kanal("region", "load", str(demo_region_path()), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return env


def test_train_evaluate_explain_round_trip(db_url, tmp_path):
    env = setup(db_url, tmp_path)
    train_csv = write_csv(tmp_path / "history.csv", 600, seed=1)
    test_csv = write_csv(tmp_path / "later.csv", 200, seed=2)

    # before any history: the keyword router alone
    out = kanal("routing", "explain", "Listrik di dusun kami padam sudah tiga hari", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "triage, not the Pemda's: PLN" in out.stdout and "model: none yet" in out.stdout

    out = kanal("routing", "train", str(train_csv), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "600 examples read" in out.stdout and "examples per OPD:" in out.stdout
    counts = Counter(label for _, label in history(600, 1))
    assert f"  {'PUPR':14} {counts['PUPR']:6}  Dinas Pekerjaan Umum" in out.stdout
    assert "model 1 trained" in out.stdout and "wrong-confident" in out.stdout

    preds = tmp_path / "predictions.csv"
    out = kanal("routing", "evaluate", str(test_csv), "-o", str(preds), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "200 texts routed with keywords and model" in out.stdout
    with preds.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["text", "opd", "predicted", "confidence", "reason"] and len(rows) == 200
    routed = [r for r in rows if r["predicted"]]
    right = sum(r["predicted"] == r["opd"] for r in routed)
    assert len(routed) >= 0.7 * len(rows) and right / len(routed) >= 0.95  # what the command printed is what it wrote
    assert f"({right}/{len(routed)})" in out.stdout
    assert all(r["predicted"] == "" for r in rows if r["opd"] == "NONE" and r["reason"].startswith("outside"))

    out = kanal("routing", "explain", "jalan di karangturi depan balai desa rusak banget", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "decision: PUPR" in out.stdout and "model probabilities: PUPR" in out.stdout
    assert "jalan ~ rusak" in out.stdout

    # a text a spreadsheet would run as a formula is written as text
    formula = tmp_path / "formula.csv"
    formula.write_text('text,opd\n"=HYPERLINK(""http://x"") jalan rusak parah",PUPR\n', encoding="utf-8")
    out = kanal("routing", "evaluate", str(formula), "-o", str(preds), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert preds.read_text(encoding="utf-8").splitlines()[1].startswith("\"'=HYPERLINK")

    # evaluate stored nothing: a second train reports only the file's rows added
    out = kanal("routing", "train", str(train_csv), env=env, cwd=tmp_path)
    assert "training on 1200 examples" in out.stdout


def test_a_bad_file_loads_nothing_and_says_why(db_url, tmp_path):
    env = setup(db_url, tmp_path)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("text,opd\njalan rusak parah,PUPR\nlistrik padam,PLN\nsampah numpuk,DKP\n", encoding="utf-8")
    out = kanal("routing", "train", str(unknown), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "nothing loaded" in out.stderr
    assert "line 3: unknown OPD code 'PLN'" in out.stderr and "line 4: unknown OPD code 'DKP'" in out.stderr
    assert "NONE" in out.stderr  # the way to say "not ours"

    latin = tmp_path / "latin1.csv"
    latin.write_bytes(
        b'text,opd\njalan rusak,PUPR\n"sampah di pinggir jalan, bau sekali",DLH\n'
        + '"air pdam keruh sekali, kayak kopi café",PDAM\n'.encode("latin-1")
    )
    out = kanal("routing", "train", str(latin), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "line 4: not UTF-8" in out.stderr and "CSV UTF-8" in out.stderr

    header = tmp_path / "header.csv"
    header.write_text("isi,dinas\njalan rusak,PUPR\n", encoding="utf-8")
    out = kanal("routing", "train", str(header), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "header must name the columns text,opd" in out.stderr

    out = kanal("routing", "explain", "Listrik padam", env=env, cwd=tmp_path)
    assert "model: none yet" in out.stdout  # none of the refused rows was stored or trained on


def test_help_of_the_routing_commands(tmp_path):
    for args in (["routing"], ["routing", "train"], ["routing", "evaluate"], ["routing", "explain"]):
        out = kanal(*args, "--help", env={}, cwd=tmp_path)
        assert out.returncode == 0 and "usage: kanal routing" in out.stdout, (args, out.stderr)
