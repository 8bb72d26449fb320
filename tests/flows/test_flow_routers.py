"""The account and complaint features are module-level routers composed by ``build_router()``."""

from __future__ import annotations

from handlers import account, build_router, complaints
from handlers.complaints.complaint_buttons import command, rate_choices
from handlers.complaints.complaint_filing import FilingStep, edit_value, edited_step, picked_privacy, privacy_value

ACCOUNT = ["start", "menu", "bantuan", "batal", "lanjutkan", "bahasa", "datasaya", "hapusdata", "gabung", "cabut"]
ACCOUNT += ["stopsms", "mulaisms"]
COMPLAINTS = ["lapor", "status", "nilai", "berhenti_ikuti", "beres", "tambah", "antrian", "lihat", "balas"]
COMPLAINTS += ["selesai", "teruskan", "kembalikan", "templat", "triase", "arahkan", "undang", "cari", "luar", "kinerja"]


def test_feature_routers_keep_the_command_order():
    assert [c.names[0] for c in account.router.ordered] == ACCOUNT
    assert [c.names[0] for c in complaints.router.ordered] == COMPLAINTS
    names = [c.names[0] for c in build_router().ordered]
    assert names[: len(ACCOUNT)] == ACCOUNT
    start = names.index("lapor")
    assert names[start : start + len(COMPLAINTS)] == COMPLAINTS


def test_build_router_twice_leaves_the_feature_routers_alone():
    first, second = build_router(), build_router()
    assert first.commands.keys() == second.commands.keys()
    assert first.fallback is second.fallback is account.router.fallback
    assert {"consent", "language", "erase", "lapor", "nilai", "petugas", "beres"} <= first.flows.keys()


def test_button_values_are_built_and_read_in_one_place():
    assert command("lihat", "ADU-2026-00012") == "/lihat ADU-2026-00012"
    assert [c.value for c in rate_choices(lambda s, **kw: s, "ADU-2026-00012")] == [
        "/nilai ADU-2026-00012 puas",
        "/nilai ADU-2026-00012 tidak",
    ]
    assert picked_privacy(privacy_value("anonim"), "") == "anonim"
    assert picked_privacy(None, "2") == "rahasia"
    assert edited_step(edit_value(FilingStep.LOCATION)) == FilingStep.LOCATION
    assert edited_step("lapor:send") is None
