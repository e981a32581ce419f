"""The Postgres pool (asyncpg's), and the one place where driver failures become error codes.

Every query goes through `Database.query(operation, table)`, which times it (metric + span) and
maps connection failures to `db_unavailable` (503) and timeouts to `db_timeout` (504). Row locks
taken before a status change go through `Database.lock_row`, which measures the lock wait.

The pool gauges are read from the pool at scrape time: size = `get_max_size()`, in use = the
slots taken (`slots_in_use`).
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any

import asyncpg

from fake_services.observability import (
    DbMetrics,
    ErrorCode,
    ServiceError,
    SpanKind,
    Tracer,
    get_current_span,
    get_logger,
)

# Opened at start (the database is reachable once the pool exists); more as load needs them.
POOL_INIT_SIZE = 2
POOL_MAX_SIZE = 10
_RETRY_PAUSE_S = 0.5

# QueryCanceledError covers statement_timeout and lock_timeout.
_TIMEOUTS = (TimeoutError, asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError)
# TimeoutError is an OSError: _TIMEOUTS must be tested first.
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # The driver lost track of the connection's state: seen when the server ends a backend
    # while a statement's timeout is cancelling it (the next statement then fails with it).
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_CONNECT_FAILURES = (*_UNAVAILABLE, asyncpg.PostgresError)

_log = get_logger(__name__)


class DatabaseUnreachableError(Exception):
    """The database could not be reached within the startup deadline."""


async def _no_session_state(_: asyncpg.Connection) -> None:
    """The pool's reset on release. The services leave no session state (no SET, LISTEN, cursor
    or advisory lock), so asyncpg's default reset query, a round trip per release, would undo
    nothing; the pool still rolls back a transaction left open before calling this."""


async def open_pool(
    dsn: str, timeout_s: float, deadline_s: float, address: str, max_size: int = POOL_MAX_SIZE
) -> asyncpg.Pool:
    """Connect, retrying until `deadline_s`: the database may start after us."""
    deadline = time.monotonic() + deadline_s
    attempt = 0
    while True:
        attempt += 1
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                dsn,
                init_size=min(POOL_INIT_SIZE, max_size),
                # No floor: asyncpg would re-open it in the background during an outage, and
                # log each failure; a connection is opened when a query needs one instead.
                min_size=0,
                max_size=max_size,
                reset=_no_session_state,
                timeout=timeout_s,  # connection establishment
                command_timeout=timeout_s,  # each statement
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
        else:
            return pool


def slots_in_use(pool: asyncpg.Pool) -> int:
    """Slots of the pool that are taken: acquired and not yet back, their connection open or
    being opened. The pool's own queue holds the free ones. The public `get_size() -
    get_idle_size()` counts open connections only, so a slot whose connection is being opened
    (through a slow network, for seconds) reads as free: under 1.2 s of database latency core
    read 9 of 10 with all ten taken, below the alert's 90 %. (asyncpg has no public count of
    free slots; test_connection_pool holds this one to the pool's behaviour.)"""
    free: int = pool._queue.qsize()
    return int(pool.get_max_size()) - free


class Database:
    def __init__(
        self, pool: asyncpg.Pool, timeout_s: float, tracer: Tracer, metrics: DbMetrics
    ) -> None:
        self.pool = pool
        self.timeout_s = timeout_s
        self.tracer = tracer
        self.metrics = metrics
        self.metrics.track_pool(lambda: slots_in_use(pool), pool.get_max_size())

    async def close(self) -> None:
        """Wait for leased connections to come back (`2 * timeout_s` at most), then close them
        all; what is still out then is terminated."""
        try:
            await asyncio.wait_for(self.pool.close(), self.timeout_s * 2)
        except TimeoutError:
            self.pool.terminate()

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
    """`Database.query`'s context manager: the span, the pool's acquire and release, the
    timing, and the mapping of driver failures."""

    __slots__ = ("_acquired", "_db", "_operation", "_span", "_started", "_table")

    def __init__(self, db: Database, operation: str, table: str) -> None:
        self._db = db
        self._operation = operation
        self._table = table
        self._acquired: Any = None  # asyncpg's acquire context, once it holds a connection

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
        acquiring = db.pool.acquire(timeout=db.timeout_s)
        try:
            conn = await acquiring.__aenter__()
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)  # raises it mapped, if so
            raise
        self._acquired = acquiring
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._release()
        finally:
            elapsed = time.perf_counter() - self._started
            self._db.metrics.observe_query(self._operation, self._table, elapsed)
            # The span records the driver's own exception (an event), the status ERROR.
            self._span.__exit__(exc_type, exc, tb)
        mapped = _mapped(exc)
        if mapped is not None:
            raise mapped from exc

    async def _release(self) -> None:
        acquired, self._acquired = self._acquired, None
        if acquired is None:
            return
        try:
            await acquired.__aexit__(None, None, None)
        except Exception as exc:
            # The pool could not make the connection ready for reuse (its reset or a pending
            # cancellation failed) and terminated it: the query's own outcome stands.
            _log.warning("database connection dropped on release", error_type=type(exc).__name__)


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
