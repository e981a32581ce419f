"""Read-only queries against the system's database, for SLIs measured end to end there.

Async SLOs (builds within 5 minutes of enqueue, events stored within 30 s of reception) are
measured from the timestamps the services record per item, so the query is the SLI.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from harness.errors import ObserveError

QUERY_TIMEOUT_S = 10.0


def fetch_latencies(database_url: str, sql: str, since: float, until: float) -> list[float | None]:
    """Run an SLO query bound to items started in [since, until); its `latency_s` column."""
    try:
        return asyncio.run(_fetch(database_url, sql, _ts(since), _ts(until)))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ObserveError(f"database query failed: {exc}; query: {' '.join(sql.split())}") from exc


async def _fetch(url: str, sql: str, since: datetime, until: datetime) -> list[float | None]:
    conn = await asyncpg.connect(url, timeout=QUERY_TIMEOUT_S)
    try:
        async with conn.transaction(readonly=True):
            rows = await conn.fetch(sql, since, until, timeout=QUERY_TIMEOUT_S)
    finally:
        await conn.close()
    return [None if r["latency_s"] is None else float(r["latency_s"]) for r in rows]


def _ts(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
