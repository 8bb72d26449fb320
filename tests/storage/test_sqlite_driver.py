"""storage/sqlite_driver.py: aiosqlite with one trip to its thread per statement. The rows, their
order and the errors must be exactly sqlite3's; only the number of trips changes."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import sqlite_driver
from storage.db import create_engine

N = 3 * sqlite_driver.PREFETCH + 7  # more rows than one trip brings


@pytest.fixture
async def conn(tmp_path):
    c = await sqlite_driver.connect(str(tmp_path / "d.sqlite3"), isolation_level=None)
    try:
        async with c.cursor() as cur:
            await cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            await cur.executemany("INSERT INTO t (id, v) VALUES (?, ?)", [(i, f"v{i}") for i in range(N)])
            assert cur.rowcount == N
        yield c
    finally:
        await c.close()


def count_trips(conn) -> list[int]:
    trips = [0]
    real = conn._execute

    async def counted(fn, *args, **kwargs):
        trips[0] += 1
        return await real(fn, *args, **kwargs)

    conn._execute = counted
    return trips


async def test_a_small_statement_is_one_trip(conn):
    trips = count_trips(conn)
    async with conn.cursor() as cur:
        await cur.execute("SELECT id, v FROM t WHERE id < ? ORDER BY id", (3,))
        assert [d[0] for d in cur.description] == ["id", "v"]
        assert await cur.fetchall() == [(0, "v0"), (1, "v1"), (2, "v2")]
        assert await cur.fetchall() == [] and await cur.fetchone() is None
    async with conn.cursor() as cur:
        await cur.execute("UPDATE t SET v = ? WHERE id = ?", ("x", 1))
        assert cur.rowcount == 1 and cur.description is None
        await cur.execute("INSERT INTO t (id, v) VALUES (?, ?)", (N, "new"))
        assert cur.lastrowid == N
    assert trips[0] == 3  # aiosqlite's own cursor: 4 trips for each of the three


async def test_every_row_once_and_in_order_however_it_is_fetched(conn):
    async with conn.cursor() as cur:
        await cur.execute("SELECT id FROM t ORDER BY id")
        got = [await cur.fetchone(), await cur.fetchone()]
        got += await cur.fetchmany(5)
        while chunk := await cur.fetchmany(100):  # crosses the prefetched block
            got += chunk
            if len(got) > N // 2:
                break
        got += await cur.fetchall()
    assert [r[0] for r in got] == list(range(N))


async def test_a_result_not_read_to_the_end_is_closed_and_the_connection_goes_on(conn):
    await conn.execute("BEGIN IMMEDIATE")
    async with conn.cursor() as cur:
        await cur.execute("SELECT id FROM t ORDER BY id")
        assert (await cur.fetchone()) == (0,)
    async with conn.cursor() as cur:
        await cur.execute("DELETE FROM t WHERE id >= 10")
        assert cur.rowcount == N - 10
    await conn.commit()
    async with conn.cursor() as cur:
        await cur.execute("SELECT count(*) FROM t")
        assert await cur.fetchall() == [(10,)]


async def test_errors_are_sqlite3_errors(conn):
    async with conn.cursor() as cur:
        with pytest.raises(sqlite3.IntegrityError):
            await cur.execute("INSERT INTO t (id, v) VALUES (?, ?)", (1, "dup"))
        with pytest.raises(sqlite3.OperationalError):
            await cur.execute("SELECT nope FROM t")
        await cur.execute("SELECT v FROM t WHERE id = 1")  # the cursor is still usable
        assert await cur.fetchall() == [("v1",)]


async def test_through_sqlalchemy_results_streams_and_errors(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.sqlite3'}")
    try:
        async with engine.begin() as c:
            await c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
            await c.execute(text("INSERT INTO t (id, v) VALUES (:i, :v)"), [{"i": i, "v": f"v{i}"} for i in range(N)])
            assert (await c.execute(text("SELECT v FROM t WHERE id = :i"), {"i": 5})).scalar_one() == "v5"
            assert len((await c.execute(text("SELECT id FROM t"))).all()) == N
            streamed = []
            result = await c.stream(text("SELECT id FROM t ORDER BY id").execution_options(yield_per=100))
            async for part in result.partitions():
                streamed += [r[0] for r in part]
            assert streamed == list(range(N))
        with pytest.raises(IntegrityError):
            async with engine.begin() as c:
                await c.execute(text("INSERT INTO t (id, v) VALUES (1, 'dup')"))
        async with engine.connect() as c:  # the failed transaction left nothing behind
            assert (await c.execute(text("SELECT count(*) FROM t"))).scalar_one() == N
    finally:
        await engine.dispose()
