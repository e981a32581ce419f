"""Startup of a database-backed service: pool (retrying until a deadline), then migrations."""

from __future__ import annotations

from fake_services.db.migrations import apply_migrations, discover
from fake_services.db.pool import Database, open_pool
from fake_services.db.settings import DatabaseSettings
from fake_services.observability import DbMetrics, Tracer


async def connect(settings: DatabaseSettings, tracer: Tracer, metrics: DbMetrics) -> Database:
    pool = await open_pool(
        settings.url, settings.timeout_s, settings.connect_deadline_s, settings.address
    )
    db = Database(pool, settings.timeout_s, tracer, metrics)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, discover())
    except BaseException:
        await db.close()
        raise
    return db
