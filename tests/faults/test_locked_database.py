"""A database that does not answer, and two bots on one SQLite file.

``/healthz`` answers within 2 s (503 "timeout") while another process holds the database: a
SQLite file locked by a writer elsewhere, a PostgreSQL table locked by another session. A second
``kanal run`` on the SQLite file a running bot uses stops at once with one line, and the first
keeps running.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import KanalApp
from storage import Database, StorageError
from storage.file_claim import claim_database_file
from tests.conftest import PG_URL
from tests.faults.test_secrets import bot_env, start_bot, stop_bot, wait_http


async def get_health(port: int) -> tuple[int, dict, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
        return resp.status, await resp.json(), time.monotonic() - started


async def test_healthz_answers_within_two_seconds_while_the_database_is_locked(settings):
    app = KanalApp(settings)
    await app.start()
    try:
        status, body, _ = await get_health(app.port)
        assert status == 200 and body["database"] == "ok"
        if app.db.dialect == "sqlite":
            other = sqlite3.connect(make_url(settings.database_url).database, isolation_level=None, timeout=0)
            other.execute("BEGIN EXCLUSIVE")  # a writer in another process/connection holds the file
            release = other.close
        else:
            other_db = Database(settings.database_url)
            conn = await other_db.engine.connect()
            await conn.execute(text("BEGIN"))
            await conn.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))

            def release() -> None:
                pass

        try:
            for _ in range(3):  # again and again, as a monitor polls: each within the limit
                status, body, took = await get_health(app.port)
                assert status == 503 and body == {"ok": False, "database": "timeout"}
                assert took < 2.0, took
        finally:
            if app.db.dialect == "sqlite":
                release()
            else:
                await conn.rollback()
                await conn.close()
                await other_db.dispose()
        for _ in range(40):  # the database answers again: so does /healthz
            status, body, _ = await get_health(app.port)
            if status == 200:
                break
            await asyncio.sleep(0.25)
        assert status == 200 and body["database"] == "ok"
    finally:
        await app.stop()


def test_the_sqlite_file_claim_is_exclusive_and_goes_with_its_holder(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'kanal.sqlite3'}"
    with claim_database_file(url):
        with pytest.raises(StorageError) as err, claim_database_file(url):
            pass
        assert "another `kanal run`" in str(err.value) and str(tmp_path) in str(err.value)
    with claim_database_file(url):  # released: claimed again
        pass
    with claim_database_file("sqlite+aiosqlite:///:memory:"), claim_database_file("sqlite+aiosqlite:///:memory:"):
        pass
    assert (tmp_path / "kanal.sqlite3").stat().st_mode & 0o077 == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite only: PostgreSQL instances share the work by leader election")
async def test_a_second_bot_on_the_same_sqlite_file_refuses_to_start(db_url, tmp_path: Path):
    env = bot_env(db_url, log_level="INFO")
    first = await start_bot(env, tmp_path, tmp_path / "first.log")
    try:
        await wait_http(int(env["KANAL_HTTP_PORT"]))
        second_env = {**env, "KANAL_HTTP_PORT": str(int(env["KANAL_HTTP_PORT"]) + 1)}
        second = await start_bot(second_env, tmp_path, tmp_path / "second.log")
        assert await asyncio.wait_for(second.wait(), timeout=60) == 1
        said = (tmp_path / "second.log").read_text().strip().splitlines()
        assert len(said) == 1 and said[0].startswith("kanal: another `kanal run` is already using the SQLite"), said
        assert first.returncode is None  # the first goes on
        status, body, _ = await get_health(int(env["KANAL_HTTP_PORT"]))
        assert status == 200
    finally:
        await stop_bot(first)
