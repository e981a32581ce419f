"""The services' database pool (asyncpg's, behind `Database`) against a real Postgres: the pool
gauges, the bounded wait, reuse after failures, and a concurrency probe under timeouts,
cancellations and failed connects in which in-use never exceeds the size."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import pytest
import uvloop
from opentelemetry import trace

from fake_services.db import Database, open_pool
from fake_services.observability import DbMetrics, ErrorCode, ServiceError
from fake_services.observability.metrics import new_registry

from . import _postgres, _toxiproxy

Body = Callable[[Database], Awaitable[None]]
TRACER = trace.get_tracer(__name__)


def in_use(db: Database) -> float:
    value = db.metrics.pool_in_use.collect()[0].samples[0].value
    return float(value)


def run_with_db(url: str, body: Body, *, max_size: int = 2, timeout_s: float = 1.0) -> None:
    async def main() -> None:
        pool = await open_pool(url, timeout_s, 5.0, "test", max_size=max_size)
        db = Database(pool, timeout_s, TRACER, DbMetrics(new_registry()))
        try:
            await body(db)
        finally:
            await db.close()
        assert pool.get_size() == 0, "close left connections open"

    asyncio.run(main())


async def backend_pid(db: Database) -> int:
    async with db.query("select", "pid") as conn:
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


def test_the_gauges_count_the_connections_held(postgres: _postgres.Postgres) -> None:
    async def body(db: Database) -> None:
        assert db.metrics.pool_size.collect()[0].samples[0].value == 2
        assert in_use(db) == 0  # the connections opened at start are idle
        async with db.query("select", "t"):
            assert in_use(db) == 1
            async with db.query("select", "t"):
                assert in_use(db) == 2
            assert in_use(db) == 1
        assert in_use(db) == 0
        assert (db.pool.get_size(), db.pool.get_idle_size()) == (2, 2)

    run_with_db(postgres.admin_url, body)


def test_a_slot_whose_connection_is_being_opened_counts_as_in_use(
    postgres: _postgres.Postgres, toxiproxy: _toxiproxy.Toxiproxy
) -> None:
    """Through a slow network a new connection takes seconds to open: its slot is taken all
    that time (the next query waits), and the gauge says so."""
    port = toxiproxy.create_proxy("slow", postgres.port)
    url = f"postgresql://{_postgres.PG_USER}@127.0.0.1:{port}/postgres"

    async def body(db: Database) -> None:
        assert (db.pool.get_size(), in_use(db)) == (2, 0)  # two opened at start, of three
        await asyncio.to_thread(toxiproxy.add_latency, "slow", 400)
        queries = [asyncio.create_task(backend_pid(db)) for _ in range(3)]
        await asyncio.sleep(0.2)
        assert db.pool.get_size() == 2  # the third connection is still being opened
        assert in_use(db) == 3
        await asyncio.gather(*queries)
        assert in_use(db) == 0

    run_with_db(url, body, max_size=3, timeout_s=5.0)


def test_a_full_pool_makes_a_waiter_time_out_as_db_timeout(postgres: _postgres.Postgres) -> None:
    async def body(db: Database) -> None:
        async with db.query("select", "t"), db.query("select", "t"):
            started = time.monotonic()
            with pytest.raises(ServiceError) as raised:
                await backend_pid(db)
            assert raised.value.code is ErrorCode.DB_TIMEOUT
            assert 0.25 < time.monotonic() - started < 1.0
        assert await backend_pid(db)  # served again once a connection is back

    run_with_db(postgres.admin_url, body, timeout_s=0.3)


def test_a_transaction_left_open_is_not_inherited(postgres: _postgres.Postgres) -> None:
    async def body(db: Database) -> None:
        async with db.query("update", "t") as conn:
            await conn.execute("BEGIN")
        async with db.query("select", "t") as conn, db.query("select", "t") as other:
            assert not conn.is_in_transaction()
            assert not other.is_in_transaction()

    run_with_db(postgres.admin_url, body)


def test_after_a_timeout_or_a_cancellation_the_pool_serves_on(
    postgres: _postgres.Postgres,
) -> None:
    async def sleeper(db: Database) -> None:
        async with db.query("select", "t") as conn:
            await conn.execute("SELECT pg_sleep(5)")

    async def body(db: Database) -> None:
        with pytest.raises(ServiceError) as raised:
            await sleeper(db)  # over the statement timeout
        assert raised.value.code is ErrorCode.DB_TIMEOUT
        task = asyncio.create_task(sleeper(db))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert in_use(db) == 0
        for _ in range(3):  # each connection answers at once: no statement left running on it
            async with db.query("select", "t") as conn:
                assert await conn.fetchval("SELECT 1", timeout=0.1) == 1

    run_with_db(postgres.admin_url, body, timeout_s=0.3)


def test_a_connection_killed_by_the_server_is_replaced(postgres: _postgres.Postgres) -> None:
    async def body(db: Database) -> None:
        victim = await backend_pid(db)
        async with db.query("select", "t") as other, db.query("select", "t") as conn:
            killer = other if await conn.fetchval("SELECT pg_backend_pid()") == victim else conn
            await killer.execute("SELECT pg_terminate_backend($1)", victim)
        await asyncio.sleep(0.2)
        pids = {await backend_pid(db) for _ in range(3)}
        assert victim not in pids
        assert db.pool.get_size() <= 2

    run_with_db(postgres.admin_url, body)


def test_close_waits_for_leased_connections_then_ends_them(postgres: _postgres.Postgres) -> None:
    async def main() -> None:
        pool = await open_pool(postgres.admin_url, 0.2, 5.0, "test", max_size=2)
        db = Database(pool, 0.2, TRACER, DbMetrics(new_registry()))
        leased = asyncio.Event()

        async def holder() -> None:  # never gives its connection back of its own accord
            async with db.query("select", "t"):
                leased.set()
                await asyncio.sleep(10)

        task = asyncio.create_task(holder())
        await leased.wait()
        started = time.monotonic()
        await db.close()  # waits 2 x 0.2 s for the lease, then terminates it
        assert 0.3 < time.monotonic() - started < 2
        assert pool.get_size() == 0
        with pytest.raises(ServiceError) as raised:
            await backend_pid(db)
        assert raised.value.code is ErrorCode.DB_UNAVAILABLE
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


# The concurrency probe -------------------------------------------------------------------------

PROBE_SIZE = 4
PROBE_S = 4.0
CLIENTS = 24
PROBE_TIMEOUT_S = 0.3
OUTCOMES = ("ok", "db_timeout", "db_unavailable", "cancelled")
ADMIN_APP = "probe-admin"  # the test's own connections, not counted as the pool's


@dataclass
class Probe:
    """What the sampler saw, and how the clients' queries ended."""

    max_in_use: float = 0
    max_backends: int = 0
    samples: int = 0
    undercounts: list[str] = field(default_factory=list)
    held: set[asyncpg.Connection] = field(default_factory=set)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))


async def _client(db: Database, probe: Probe, seed: int, deadline: float) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        sleep_s = rng.choice((0.0, 0.0, 0.02, 0.05, 0.5))  # 0.5: over the statement timeout
        give_up_s = rng.choice((None, None, None, rng.uniform(0.005, 0.2)))
        try:
            await asyncio.wait_for(_query(db, probe, sleep_s), give_up_s)
            probe.outcomes["ok"] += 1
        except ServiceError as exc:
            probe.outcomes[exc.code.value] += 1
        except TimeoutError:  # wait_for cancelled the query: waiting, connecting or running
            probe.outcomes["cancelled"] += 1


async def _query(db: Database, probe: Probe, sleep_s: float) -> None:
    async with db.query("select", "probe") as conn:
        probe.held.add(conn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_sleep($1)", sleep_s)
        finally:
            probe.held.discard(conn)


async def _sample(db: Database, probe: Probe, admin: asyncpg.Connection, database: str) -> None:
    """The gauge as a scrape reads it, every millisecond: never above the size, never below the
    live connections the clients hold; and the database's backends, never above the size."""
    size = db.pool.get_max_size()
    while True:
        for _ in range(20):
            gauge = in_use(db)
            live = sum(not c.is_closed() for c in probe.held)
            if not live <= gauge <= size:
                probe.undercounts.append(f"gauge {gauge}, live held {live}, size {size}")
            probe.max_in_use = max(probe.max_in_use, gauge)
            probe.samples += 1
            await asyncio.sleep(0.001)
        backends = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name <> $2",
            database,
            ADMIN_APP,
        )
        probe.max_backends = max(probe.max_backends, backends)


async def _chaos(proxy: _toxiproxy.Toxiproxy, name: str, killer: asyncpg.Connection) -> None:
    """Two outages (connections cut, connects refused), every backend killed in between."""

    async def outage(at_s: float, for_s: float) -> None:
        await asyncio.sleep(at_s)
        await asyncio.to_thread(proxy.set_enabled, name, False)
        await asyncio.sleep(for_s)
        await asyncio.to_thread(proxy.set_enabled, name, True)

    await outage(1.0, 0.4)
    await asyncio.sleep(0.6)
    await killer.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name <> $1",
        ADMIN_APP,
    )
    await outage(0.6, 0.3)


LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.mark.parametrize("loop", LOOPS)
def test_in_use_never_exceeds_the_size_under_timeouts_cancellations_and_failed_connects(
    postgres: _postgres.Postgres, toxiproxy: _toxiproxy.Toxiproxy, loop: str
) -> None:
    direct = postgres.create_database()
    database = direct.rsplit("/", 1)[1]
    port = toxiproxy.create_proxy("probe", postgres.port)
    through_proxy = f"postgresql://{_postgres.PG_USER}@127.0.0.1:{port}/{database}"
    probe = Probe()

    async def main() -> None:
        pool = await open_pool(through_proxy, PROBE_TIMEOUT_S, 5.0, "probe", max_size=PROBE_SIZE)
        db = Database(pool, PROBE_TIMEOUT_S, TRACER, DbMetrics(new_registry()))
        # Straight to Postgres, past the proxy: one connection each, for counting and killing.
        admin = {"server_settings": {"application_name": ADMIN_APP}}
        counter = await asyncpg.connect(direct, **admin)
        killer = await asyncpg.connect(direct, **admin)
        sampler = asyncio.create_task(_sample(db, probe, counter, database))
        try:
            deadline = time.monotonic() + PROBE_S
            chaos = asyncio.create_task(_chaos(toxiproxy, "probe", killer))
            await asyncio.gather(*(_client(db, probe, i, deadline) for i in range(CLIENTS)))
            await chaos
            await asyncio.sleep(0.05)  # releases still waiting for a cancellation to land
            assert in_use(db) == 0, "a connection was never given back"
            assert await backend_pid(db)  # the pool recovered from the outages
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            await counter.close()
            await killer.close()
            await db.close()

    event_loop = LOOPS[loop]()
    try:
        event_loop.run_until_complete(main())
    finally:
        event_loop.close()
    assert probe.undercounts == [], probe.undercounts[:5]
    assert probe.max_in_use == PROBE_SIZE, "the probe never filled the pool: it proved nothing"
    # The server's count trails the pool's: a backend whose connection was cut or whose connect
    # was cancelled mid-handshake stays in pg_stat_activity until Postgres notices. Never more
    # than the pool's size plus those that were just let go.
    assert probe.max_backends <= 2 * PROBE_SIZE, probe.max_backends
    assert probe.samples > 100  # the sampler kept up; a starved machine gives fewer than 1/ms
    # Every kind of trouble the probe is about happened, more than once.
    assert all(count > 1 for count in probe.outcomes.values()), probe.outcomes
