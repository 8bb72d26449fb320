"""Sending budgets shared by the instances on one PostgreSQL (table ``rate_budgets``).

A platform's global limit (Telegram ≈ 30 messages/s per bot, WhatsApp per number) holds for the
whole deployment, not per process. Each budget is a token bucket in one row, refilled by the
database server's own clock (``clock_timestamp()``), so instances on machines whose clocks differ
still agree. :func:`lease` takes up to ``want`` tokens in one statement under the row's lock; it
is its own short transaction on a pooled connection, outside any unit of work.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_CREATE = text(
    "INSERT INTO rate_budgets (name, tokens, updated_at)"
    " VALUES (:name, CAST(:burst AS double precision), clock_timestamp()) ON CONFLICT (name) DO NOTHING"
)
# refill by the time since the last lease (never above the burst), grant what is there (up to
# ``want``), keep the rest; ``avail`` tells how long to wait when nothing was granted
_LEASE = text(
    """
    WITH cur AS (
        SELECT name,
               LEAST(CAST(:burst AS double precision),
                     tokens + CAST(EXTRACT(EPOCH FROM clock_timestamp() - updated_at) AS double precision)
                           * CAST(:rate AS double precision)) AS avail
        FROM rate_budgets WHERE name = :name FOR UPDATE
    )
    UPDATE rate_budgets AS r
       SET tokens = cur.avail - LEAST(CAST(:want AS integer), FLOOR(cur.avail)), updated_at = clock_timestamp()
      FROM cur
     WHERE r.name = cur.name
    RETURNING CAST(LEAST(CAST(:want AS integer), FLOOR(cur.avail)) AS integer) AS granted, cur.avail AS avail
    """
)


async def lease(engine: AsyncEngine, name: str, rate: float, burst: int, want: int) -> tuple[int, float]:
    """Take up to ``want`` tokens of budget ``name`` (``rate`` per second, at most ``burst`` saved
    up): (tokens granted, seconds until one is there when none was)."""
    params = {"name": name, "rate": rate, "burst": float(burst), "want": want}
    async with engine.begin() as conn:
        row = (await conn.execute(_LEASE, params)).first()
        if row is None:  # the first lease of this budget
            await conn.execute(_CREATE, params)
            row = (await conn.execute(_LEASE, params)).first()
    granted, avail = int(row.granted), float(row.avail)
    return granted, 0.0 if granted else max(0.0, (1.0 - avail) / rate)
