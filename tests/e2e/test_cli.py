"""The `kanal` command as an operator uses it: real processes, real database."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.channels.web.web_channel import render as web_render
from bot.domain.region import load_region_file
from bot.engine.dispatch import Dispatcher
from bot.services.regions import store_region
from handlers import build_router
from storage import Database, Repo
from testkit.helpers import choice, text


def kanal(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("KANAL_")}, **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=full, cwd=str(cwd), capture_output=True, text=True, timeout=120
    )


def test_help_everywhere(tmp_path):
    for args in ([], ["run"], ["db"], ["db", "upgrade"], ["region"], ["region", "load"], ["invite"], ["config"]):
        out = kanal(*args, "--help", env={}, cwd=tmp_path)
        assert out.returncode == 0 and "usage: kanal" in out.stdout, (args, out.stderr)


def test_bad_setting_is_one_clear_line(tmp_path):
    out = kanal("config", env={"KANAL_HTTP_PORT": "delapan"}, cwd=tmp_path)
    assert out.returncode == 2
    assert (
        out.stderr.strip()
        == "kanal: configuration error: KANAL_HTTP_PORT: expected a port number 1-65535, got 'delapan'"
    )


def test_unmigrated_database_is_refused_with_the_command_to_run(tmp_path):
    env = {"KANAL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3", "KANAL_HTTP_PORT": "18080"}
    out = kanal("run", "--no-migrate", env=env, cwd=tmp_path)
    assert out.returncode == 1 and "kanal db upgrade" in out.stderr and "Traceback" not in out.stderr
    out = kanal("invite", "--role", "coordinator", env=env, cwd=tmp_path)
    assert out.returncode == 1 and "kanal db upgrade" in out.stderr
    assert kanal("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    out = kanal("db", "current", env=env, cwd=tmp_path)
    from storage.migrate import head_revision

    assert f"current: {head_revision()}" in out.stdout


def test_unreachable_database_is_one_clear_line_without_the_password(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"KANAL_DATABASE_URL": f"postgresql+asyncpg://kanal:rahasia-sekali@127.0.0.1:{port}/kanal"}
    for args in (["db", "current"], ["db", "upgrade"], ["region", "show"]):
        out = kanal(*args, env=env, cwd=tmp_path)
        assert out.returncode == 1, (args, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "kanal: cannot reach the database postgresql+asyncpg://kanal:***@127.0.0.1"
        ), (args, out.stderr)
        assert "rahasia-sekali" not in out.stderr + out.stdout


def test_region_load_reports_every_problem(tmp_path):
    env = {"KANAL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/r.sqlite3"}
    kanal("db", "upgrade", env=env, cwd=tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[region]\ncode = "x y"\nname = "Kab"\n[[opd]]\ncode = "PUPR"\nname = "PU"\n[[opd.unit]]\ncode = "pupr bm"\nname = "BM"\n'
    )
    out = kanal("region", "load", str(bad), env=env, cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "region.code" in out.stderr and "opd[0].unit[0].code" in out.stderr
    out = kanal("region", "show", env=env, cwd=tmp_path)
    assert "no region loaded" in out.stdout
    assert (
        kanal("region", "load", str(tmp_path / "missing.toml"), env=env, cwd=tmp_path)
        .stderr.strip()
        .endswith("file not found")
    )


async def test_invite_prints_a_code_that_works_once(db_url, tmp_path, settings):
    env = {"KANAL_DATABASE_URL": db_url}
    db = Database(db_url)
    try:
        from bot.domain.clock import SystemClock

        await store_region(db, load_region_file(), SystemClock().now())
        out = kanal("invite", "--role", "officer", "--opd", "DLH", env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        code = out.stdout.strip().splitlines()[-1]
        assert len(code) == 14 and code.count("-") == 2
        assert kanal("invite", "--role", "officer", env=env, cwd=tmp_path).returncode == 2  # --opd missing
        bad = kanal("invite", "--role", "officer", "--opd", "NOPE", env=env, cwd=tmp_path)
        assert bad.returncode == 2 and "unknown OPD" in bad.stderr and "PUPR" in bad.stderr

        dispatcher = Dispatcher(db, build_router(), settings, renderers={"web": web_render})
        await dispatcher.handle(text("officer", "/start"))
        await dispatcher.handle(choice("officer", "consent:yes"))
        await dispatcher.handle(text("officer", f"/gabung {code}"))
        async with db.unit_of_work() as uow:
            user = await Repo(uow.session).get_or_create_user("web", "officer", SystemClock().now())
            assert (user.role, user.opd_code) == ("officer", "DLH")
            actions = [e.action for e in await Repo(uow.session).audit_events()]
        assert {"invite_created", "role_granted"} <= set(actions)
    finally:
        await db.dispose()


def test_python_dash_m_bot_is_kanal(tmp_path):
    a = kanal("--version", env={}, cwd=tmp_path)
    b = subprocess.run(["kanal", "--version"], capture_output=True, text=True) if _has_script() else a
    assert a.stdout == b.stdout and a.stdout.startswith("kanal ")


def _has_script() -> bool:
    from shutil import which

    return which("kanal") is not None and os.path.dirname(which("kanal")) == os.path.dirname(sys.executable)
