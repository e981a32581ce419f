"""A small pool of asyncpg connections.

asyncpg's own pool spends more CPU on an acquire and release than a short query costs (a
connection proxy per acquire, a shielded task per release: about 60 µs against the query's 50 on
these machines). The services need less from a pool: at most `max_size` live connections, the
most recently used one first, a bounded wait when all are busy (first come, first served), and a
connection that may be mid-protocol never reused: after a driver failure, a client-side timeout
or a cancellation it is terminated, and a later acquire opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]

# Failures after which the connection's protocol state is unknown (a cancel request may be in
# flight, a reply half read): such a connection is terminated, never handed out again. Errors
# the server reports (constraint violations, statement_timeout) leave it idle and usable.
_UNSAFE_AFTER = (
    TimeoutError,
    asyncio.CancelledError,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
)


class PoolClosedError(ConnectionError):
    """An acquire on a pool that is closing or closed."""


class ConnectionPool:
    def __init__(self, connect: Connect, max_size: int) -> None:
        self._connect = connect
        self._max_size = max_size
        self._idle: deque[asyncpg.Connection] = deque()
        self._leased: set[asyncpg.Connection] = set()
        self._opening = 0
        # Each waiter is handed a connection, or None: "a slot is free, open one yourself".
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False
        self._drained = asyncio.Event()  # set by close when the last leased one is back

    @classmethod
    async def open(cls, connect: Connect, *, min_size: int, max_size: int) -> ConnectionPool:
        """A pool with `min_size` connections open: the database is reachable when it returns."""
        pool = cls(connect, max_size)
        try:
            for _ in range(min_size):
                pool._idle.append(await pool._open())
        except BaseException:
            await pool.close(0)
            raise
        return pool

    def get_size(self) -> int:
        return len(self._idle) + len(self._leased) + self._opening

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_max_size(self) -> int:
        return self._max_size

    def acquire(self, timeout: float | None = None) -> Lease:
        """`async with pool.acquire(timeout) as conn:`; the wait for a busy pool (and for a new
        connection) is bounded by `timeout` (TimeoutError)."""
        return Lease(self, timeout)

    async def take(self, timeout: float | None) -> asyncpg.Connection:
        conn = self._take_idle()
        if conn is None:
            async with asyncio.timeout(timeout):
                conn = await self._take_waiting()
        self._leased.add(conn)
        return conn

    def give_back(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        self._leased.discard(conn)
        if self._closed and not self._leased:
            self._drained.set()
        if reusable and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            self._hand_over(conn)
            return
        conn.terminate()
        self._hand_over(None)  # its slot is free

    async def close(self, timeout_s: float) -> None:
        """Refuse new acquires, close idle connections, give leased ones `timeout_s` to come back,
        then terminate what is left."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosedError("the connection pool is closed"))
        idle = list(self._idle)
        self._idle.clear()
        await asyncio.gather(*(c.close(timeout=timeout_s) for c in idle), return_exceptions=True)
        for conn in idle:
            conn.terminate()  # a no-op when closed; ends one that did not close in time
        if self._leased:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), timeout_s)
        for conn in list(self._leased):
            conn.terminate()

    def _take_idle(self) -> asyncpg.Connection | None:
        if self._closed:
            raise PoolClosedError("the connection pool is closed")
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn  # a dead one (server gone) just frees its slot
        return None

    async def _take_waiting(self) -> asyncpg.Connection:
        while True:
            conn = self._take_idle()
            if conn is not None:
                return conn
            if self.get_size() < self._max_size:
                return await self._open()
            waiter: asyncio.Future[asyncpg.Connection | None] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                self._forward(waiter)
                raise
            if handed is not None:
                return handed

    def _forward(self, waiter: asyncio.Future[asyncpg.Connection | None]) -> None:
        """A waiter that gave up (timeout, cancellation) may have been handed something just
        before: pass it on, so no connection or slot is lost."""
        if not waiter.done():
            waiter.cancel()
            return
        if not waiter.cancelled() and waiter.exception() is None:
            handed = waiter.result()
            if handed is None:
                self._hand_over(None)
            else:
                self.give_back(handed, reusable=True)  # leased to it at the hand-over

    async def _open(self) -> asyncpg.Connection:
        self._opening += 1
        try:
            return await self._connect()
        except BaseException:
            self._hand_over(None)  # the slot it held: a waiter may try again
            raise
        finally:
            self._opening -= 1

    def _hand_over(self, conn: asyncpg.Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                if conn is not None:
                    # Leased from now: until the waiter runs, the connection is in neither
                    # list, and an acquire in between would open one past max_size.
                    self._leased.add(conn)
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)


class Lease:
    """One acquire: the connection for the block, returned (or terminated) after it."""

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: ConnectionPool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._pool.take(self._timeout)
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            reusable = exc_type is None or not issubclass(exc_type, _UNSAFE_AFTER)
            self._pool.give_back(self._conn, reusable=reusable)
            self._conn = None
