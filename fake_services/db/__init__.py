"""Postgres access shared by core, the webhook and the workers: pool, schema, settings."""

from fake_services.db.connect import connect
from fake_services.db.migrations import apply_migrations, discover
from fake_services.db.pool import Database, DatabaseUnreachableError, open_pool
from fake_services.db.settings import DatabaseSettings

__all__ = [
    "Database",
    "DatabaseSettings",
    "DatabaseUnreachableError",
    "apply_migrations",
    "connect",
    "discover",
    "open_pool",
]
