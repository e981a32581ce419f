"""The services' connection pool against a real Postgres: reuse, the bounded wait, and no
connection reused after it may have been left mid-protocol."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from opentelemetry import trace

from fake_services.db import Database
from fake_services.db.connections import ConnectionPool, PoolClosedError
from fake_services.observability import DbMetrics
from fake_services.observability.metrics import new_registry

from . import _postgres

Body = Callable[[ConnectionPool], Awaitable[None]]


def run_with_pool(postgres: _postgres.Postgres, body: Body, max_size: int = 2) -> None:
    connect = functools.partial(asyncpg.connect, postgres.admin_url, command_timeout=5)

    async def main() -> None:
        pool = await ConnectionPool.open(connect, min_size=1, max_size=max_size)
        try:
            await body(pool)
        finally:
            await pool.close(2)
        assert pool.get_size() == 0, "close left connections open"

    asyncio.run(main())


async def backend_pid(pool: ConnectionPool, timeout: float | None = 1) -> int:
    async with pool.acquire(timeout) as conn:
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


def test_a_released_connection_is_reused_and_counted(postgres: _postgres.Postgres) -> None:
    async def body(pool: ConnectionPool) -> None:
        first = await backend_pid(pool)
        assert await backend_pid(pool) == first
        async with pool.acquire(1):
            assert (pool.get_size(), pool.get_idle_size()) == (1, 0)
            async with pool.acquire(1):
                assert (pool.get_size(), pool.get_idle_size()) == (2, 0)
        assert (pool.get_size(), pool.get_idle_size()) == (2, 2)

    run_with_pool(postgres, body)


def test_the_in_use_gauge_counts_the_connections_held(postgres: _postgres.Postgres) -> None:
    registry = new_registry()
    metrics = DbMetrics(registry)

    def in_use() -> float | None:
        return registry.get_sample_value("db_connection_pool_in_use")

    async def body(pool: ConnectionPool) -> None:
        db = Database(pool, 1.0, trace.get_tracer(__name__), metrics)
        assert in_use() == 0  # the pool's idle connection is not in use
        async with db.query("select", "t"):
            assert in_use() == 1
            async with db.query("select", "t"):
                assert in_use() == 2
            assert in_use() == 1
        assert in_use() == 0
        assert registry.get_sample_value("db_connection_pool_size") == 2

    run_with_pool(postgres, body)


def test_a_full_pool_waits_in_order_then_times_out(postgres: _postgres.Postgres) -> None:
    async def body(pool: ConnectionPool) -> None:
        served: list[str] = []

        async def wait_turn(name: str) -> None:
            async with pool.acquire(2):
                served.append(name)

        async with pool.acquire(1), pool.acquire(1):
            assert pool.get_size() == 2
            waiting = [asyncio.create_task(wait_turn(n)) for n in ("first", "second")]
            await asyncio.sleep(0.05)
            assert served == []
            with pytest.raises(TimeoutError):
                await backend_pid(pool, timeout=0.1)
        await asyncio.gather(*waiting)
        assert served == ["first", "second"]
        assert pool.get_size() == 2

    run_with_pool(postgres, body)


def test_a_waiter_that_gives_up_passes_its_connection_on(postgres: _postgres.Postgres) -> None:
    async def body(pool: ConnectionPool) -> None:
        lease = pool.acquire(1)
        await lease.__aenter__()
        async with pool.acquire(1):
            quitter = asyncio.create_task(backend_pid(pool, timeout=5))
            patient = asyncio.create_task(backend_pid(pool, timeout=5))
            await asyncio.sleep(0.05)
            # Handed to the first waiter, which is cancelled before it can resume: the
            # connection must go on to the next waiter instead of being lost with it.
            await lease.__aexit__(None, None, None)
            quitter.cancel()
            await asyncio.wait_for(patient, 2)
        with pytest.raises(asyncio.CancelledError):
            await quitter
        assert (pool.get_size(), pool.get_idle_size()) == (2, 2)

    run_with_pool(postgres, body)


def test_a_connection_handed_to_a_waiter_still_counts(postgres: _postgres.Postgres) -> None:
    async def body(pool: ConnectionPool) -> None:
        lease = pool.acquire(1)
        await lease.__aenter__()
        waiter = asyncio.create_task(backend_pid(pool, timeout=5))
        await asyncio.sleep(0.05)  # queued for the only connection
        await lease.__aexit__(None, None, None)  # handed to the waiter, which has not run yet
        assert pool.get_size() == 1
        # An acquire in between waits its turn instead of opening a connection past max_size.
        async with pool.acquire(2):
            assert waiter.done()
            assert (pool.get_size(), pool.get_idle_size()) == (1, 0)

    run_with_pool(postgres, body, max_size=1)


def test_after_a_client_timeout_the_connection_is_not_reused(
    postgres: _postgres.Postgres,
) -> None:
    async def body(pool: ConnectionPool) -> None:
        before = await backend_pid(pool)
        with pytest.raises(TimeoutError):
            async with pool.acquire(1) as conn:
                await conn.execute("SELECT pg_sleep(5)", timeout=0.2)
        after = await backend_pid(pool)
        assert after != before, "a connection with a cancel in flight was handed out again"

    run_with_pool(postgres, body)


def test_after_a_cancellation_the_connection_is_not_reused(
    postgres: _postgres.Postgres,
) -> None:
    async def body(pool: ConnectionPool) -> None:
        before = await backend_pid(pool)

        async def sleeper() -> None:
            async with pool.acquire(1) as conn:
                await conn.execute("SELECT pg_sleep(5)")

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await backend_pid(pool) != before
        assert pool.get_size() == 1

    run_with_pool(postgres, body)


def test_a_server_error_keeps_the_connection_and_an_open_transaction_does_not(
    postgres: _postgres.Postgres,
) -> None:
    async def body(pool: ConnectionPool) -> None:
        before = await backend_pid(pool)
        with pytest.raises(asyncpg.PostgresError):
            async with pool.acquire(1) as conn:
                await conn.execute("SELECT 1/0")
        assert await backend_pid(pool) == before, "a healthy connection was dropped"
        async with pool.acquire(1) as conn:
            await conn.execute("BEGIN")  # left open: the next user must not inherit it
        async with pool.acquire(1) as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT pg_backend_pid()") != before

    run_with_pool(postgres, body)


def test_a_connection_killed_by_the_server_is_replaced(postgres: _postgres.Postgres) -> None:
    async def body(pool: ConnectionPool) -> None:
        victim = await backend_pid(pool)
        async with pool.acquire(1) as other, pool.acquire(1) as conn:
            killer = other if await conn.fetchval("SELECT pg_backend_pid()") == victim else conn
            await killer.execute("SELECT pg_terminate_backend($1)", victim)
        await asyncio.sleep(0.2)
        pids = {await backend_pid(pool) for _ in range(3)}
        assert victim not in pids
        assert pool.get_size() <= 2

    run_with_pool(postgres, body)


def test_a_failed_connect_frees_its_slot(postgres: _postgres.Postgres) -> None:
    attempts = 0

    async def flaky() -> asyncpg.Connection:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            raise ConnectionRefusedError("database down")
        return await asyncpg.connect(postgres.admin_url)

    async def main() -> None:
        pool = await ConnectionPool.open(flaky, min_size=1, max_size=2)
        try:
            async with pool.acquire(1):
                with pytest.raises(ConnectionRefusedError):
                    await backend_pid(pool)
                assert pool.get_size() == 1
                await backend_pid(pool)  # the slot is free again: a new connection
            assert pool.get_size() == 2
        finally:
            await pool.close(2)

    asyncio.run(main())


def test_close_refuses_acquires_and_ends_leased_connections(
    postgres: _postgres.Postgres,
) -> None:
    async def main() -> None:
        connect = functools.partial(asyncpg.connect, postgres.admin_url)
        pool = await ConnectionPool.open(connect, min_size=2, max_size=2)
        leases = [pool.acquire(1), pool.acquire(1)]
        held = [await lease.__aenter__() for lease in leases]
        waiter = asyncio.create_task(backend_pid(pool, timeout=5))
        await asyncio.sleep(0.05)
        # One lease comes back during the grace period, the other never does.
        returned = asyncio.get_running_loop().call_later(
            0.05, lambda: asyncio.ensure_future(leases[0].__aexit__(None, None, None))
        )
        await pool.close(0.3)
        returned.cancel()
        assert all(conn.is_closed() for conn in held)
        with pytest.raises(PoolClosedError):
            await waiter
        with pytest.raises(PoolClosedError):
            await backend_pid(pool)
        await leases[1].__aexit__(None, None, None)
        assert pool.get_size() == 0

    asyncio.run(main())
