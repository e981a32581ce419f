"""The Postgres pool, and the one place where driver failures become error codes.

Every query goes through `Database.query(operation, table)`, which times it (metric + span) and
maps connection failures to `db_unavailable` (503) and timeouts to `db_timeout` (504). Row locks
taken before a status change go through `Database.lock_row`, which measures the lock wait.
"""

from __future__ import annotations

import asyncio
import functools
import time
from types import TracebackType
from typing import Any

import asyncpg

from fake_services.db.connections import ConnectionPool
from fake_services.observability import (
    DbMetrics,
    ErrorCode,
    ServiceError,
    SpanKind,
    Tracer,
    get_current_span,
    get_logger,
)

POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 10
_RETRY_PAUSE_S = 0.5

# QueryCanceledError covers statement_timeout and lock_timeout.
_TIMEOUTS = (TimeoutError, asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError)
# TimeoutError is an OSError: _TIMEOUTS must be tested first.
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_CONNECT_FAILURES = (*_UNAVAILABLE, asyncpg.PostgresError)

_log = get_logger(__name__)


class DatabaseUnreachableError(Exception):
    """The database could not be reached within the startup deadline."""


async def open_pool(dsn: str, timeout_s: float, deadline_s: float, address: str) -> ConnectionPool:
    """Connect, retrying until `deadline_s`: the database may start after us."""
    deadline = time.monotonic() + deadline_s
    # The services keep no session state (no SET, LISTEN or session-level advisory lock), so a
    # connection needs no reset between uses.
    connect = functools.partial(
        asyncpg.connect,
        dsn,
        timeout=timeout_s,  # connection establishment
        command_timeout=timeout_s,  # each statement
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            return await ConnectionPool.open(
                connect, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE
            )
        except _CONNECT_FAILURES as exc:
            if time.monotonic() >= deadline:
                _log.error(
                    f"database unreachable after {deadline_s:g} s at {address}; giving up",
                    error_code=ErrorCode.DB_UNAVAILABLE,
                    error_type=type(exc).__name__,
                    attempts=attempt,
                )
                raise DatabaseUnreachableError(address) from exc
            _log.warning(
                "database not reachable yet; retrying",
                error_type=type(exc).__name__,
                attempt=attempt,
                database=address,
            )
            await asyncio.sleep(min(_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))


class Database:
    def __init__(
        self, pool: ConnectionPool, timeout_s: float, tracer: Tracer, metrics: DbMetrics
    ) -> None:
        self.pool = pool
        self.timeout_s = timeout_s
        self.tracer = tracer
        self.metrics = metrics
        self.metrics.track_pool(lambda: pool.get_size() - pool.get_idle_size(), pool.get_max_size())

    async def close(self) -> None:
        await self.pool.close(self.timeout_s * 2)

    def query(self, operation: str, table: str) -> Query:
        """`async with db.query(op, table) as conn:` a pooled connection for one logical query,
        timed and traced, driver failures raised as db_timeout / db_unavailable."""
        return Query(self, operation, table)

    async def lock_row(
        self, conn: asyncpg.Connection, table: str, sql: str, *args: Any
    ) -> asyncpg.Record | None:
        """Run a `SELECT ... FOR UPDATE` inside the caller's transaction, timing the wait (the
        metric has no labels; the locked table goes on the enclosing query's span)."""
        get_current_span().set_attribute("db.lock_table", table)
        started = time.perf_counter()
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            self.metrics.observe_lock_wait(time.perf_counter() - started)


class Query:
    """`Database.query`'s context manager, as a class: every query of every service passes
    here, and a generator-based manager costs about twice as much per use."""

    __slots__ = ("_db", "_lease", "_operation", "_span", "_started", "_table")

    def __init__(self, db: Database, operation: str, table: str) -> None:
        self._db = db
        self._operation = operation
        self._table = table

    async def __aenter__(self) -> asyncpg.Connection:
        db = self._db
        self._started = time.perf_counter()
        self._span = db.tracer.start_as_current_span(
            f"db {self._operation} {self._table}",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": "postgresql",
                "db.operation": self._operation,
                "db.table": self._table,
            },
        )
        self._span.__enter__()
        self._lease = db.pool.acquire(db.timeout_s)
        try:
            return await self._lease.__aenter__()
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)  # raises it mapped, if so
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._lease.__aexit__(exc_type, exc, tb)
        finally:
            elapsed = time.perf_counter() - self._started
            self._db.metrics.observe_query(self._operation, self._table, elapsed)
        mapped = _mapped(exc)
        failure = mapped or exc
        self._span.__exit__(type(failure) if failure else None, failure, None)
        if mapped is not None:
            raise mapped from exc


def _mapped(exc: BaseException | None) -> ServiceError | None:
    """The error code of a driver failure (logged here), or None for anything else."""
    if isinstance(exc, _TIMEOUTS):
        return _failure(ErrorCode.DB_TIMEOUT, "database timed out", exc)
    if isinstance(exc, _UNAVAILABLE):
        return _failure(ErrorCode.DB_UNAVAILABLE, "database unavailable", exc)
    return None


def _failure(code: ErrorCode, message: str, exc: BaseException) -> ServiceError:
    _log.error(message, error_code=code, error_type=type(exc).__name__, detail=str(exc))
    return ServiceError(code, message)
