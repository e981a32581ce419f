"""Read-only queries against the system's database, for SLIs measured end to end there.

Async SLOs (builds within 5 minutes of enqueue, events stored within 30 s of reception) are
measured from the timestamps the services record per item, so the query is the SLI. A query
may also name each item's tenant (`tenant_id`) and why it does not count (`problem`), so a
verdict can say which tenant misses what a user would see.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from harness.errors import ObserveError

QUERY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class AsyncItem:
    """One row of an async SLO query."""

    latency_s: float | None  # None: never finished, or finished without what a user sees
    tenant_id: str | None = None  # None: the query does not say
    problem: str | None = None  # why the item does not count, when the query says


def fetch_items(database_url: str, sql: str, since: float, until: float) -> list[AsyncItem]:
    """Run an SLO query bound to items started in [since, until); one item per row."""
    try:
        return asyncio.run(_fetch(database_url, sql, _ts(since), _ts(until)))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ObserveError(f"database query failed: {exc}; query: {' '.join(sql.split())}") from exc


async def _fetch(url: str, sql: str, since: datetime, until: datetime) -> list[AsyncItem]:
    conn = await asyncpg.connect(url, timeout=QUERY_TIMEOUT_S)
    try:
        # One read-only snapshot: counts compared within a row see the same moment.
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            rows = await conn.fetch(sql, since, until, timeout=QUERY_TIMEOUT_S)
    finally:
        await conn.close()
    return [_item(row) for row in rows]


def _item(row: asyncpg.Record) -> AsyncItem:
    latency, columns = row["latency_s"], set(row.keys())
    tenant = row["tenant_id"] if "tenant_id" in columns else None
    problem = row["problem"] if "problem" in columns else None
    return AsyncItem(
        None if latency is None else float(latency),
        None if tenant is None else str(tenant),
        None if problem is None else str(problem),
    )


def _ts(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
