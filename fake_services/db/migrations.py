"""Numbered SQL migrations (`core/sql/NNNN_name.sql`), applied at startup in one transaction.

Every service that uses the database (core, webhook, workers) applies them when it starts, so
start order does not matter. An advisory lock serialises concurrent starters, and
`schema_migrations` records what was applied, so a restart applies only what is new. The files
live in `fake_services/core/sql` because that is the package data the project ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from fake_services.observability import get_logger

_log = get_logger(__name__)

_FILE_NAME = re.compile(r"(?P<number>\d{4})_[a-z0-9_]+\.sql")
# Any constant unique to this schema; pg_advisory_xact_lock releases it at commit.
_LOCK_KEY = 0x57524B
_SQL_PACKAGE = "fake_services.core"


@dataclass(frozen=True)
class Migration:
    number: int
    version: str
    sql: str


def discover() -> list[Migration]:
    found = []
    for entry in (resources.files(_SQL_PACKAGE) / "sql").iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is not None:
            version = entry.name.removesuffix(".sql")
            found.append(Migration(int(match["number"]), version, entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.number)


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply the pending migrations; returns the versions applied now."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
            )
            applied.append(migration.version)
    _log.info("migrations applied", applied=applied, already_applied=len(done))
    return applied
