"""A throwaway Postgres cluster for the fakes' tests (initdb + postgres, stopped by PID).

The cluster dies with the test process: the session fixture stops it in its teardown, and if
the test process is killed outright (SIGKILL, OOM, a CI timeout) the kernel kills the
postmaster too (PR_SET_PDEATHSIG, the harness's own hook); its backends follow it. Only the
scratch directory of a killed run stays behind, until a later run sweeps it
(harness/stack/folder_lock.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from fake_services.db import apply_migrations, discover
from harness.stack.process import die_with_parent_hook

from ._processes import free_port, scratch_folder

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "postgres").exists()


def _as_postgres() -> dict[str, Any]:
    # Postgres refuses to run as root; as root we drop to the postgres user for these children.
    return {"user": PG_USER, "group": PG_USER} if os.geteuid() == 0 else {}


@dataclass
class Postgres:
    root: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def admin_url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"wrk_{uuid.uuid4().hex[:12]}"

        async def create() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return self.url(name)

    def create_migrated_database(self) -> str:
        """A database with every migration applied; returns its URL."""
        url = self.create_database()

        async def migrate() -> None:
            conn = await asyncpg.connect(url)
            try:
                await apply_migrations(conn, discover())
            finally:
                await conn.close()

        asyncio.run(migrate())
        return url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: disconnects clients
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    # Not under pytest's tmp dir: that one is private to root and postgres could not enter it.
    root = scratch_folder("pg")
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER, PG_USER)
    subprocess.run(
        [PG_BIN / "initdb", "-D", data, "--auth=trust", "-U", PG_USER],
        check=True,
        capture_output=True,
        preexec_fn=die_with_parent_hook(),
        **_as_postgres(),
    )
    port = free_port()
    log = (root / "postgres.log").open("wb")
    proc = subprocess.Popen(
        [
            *(PG_BIN / "postgres", "-D", data, "-p", str(port), "-k", root),
            *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        # The hook only calls prctl; it runs after the switch to the postgres user, which
        # would otherwise clear the death signal again.
        preexec_fn=die_with_parent_hook(),  # noqa: PLW1509
        **_as_postgres(),
    )
    log.close()
    pg = Postgres(root, port, proc)
    try:
        _wait_ready(pg)
    except BaseException:
        pg.stop()
        raise
    return pg


def _wait_ready(pg: Postgres, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s

    async def ping() -> None:
        conn = await asyncpg.connect(pg.admin_url, timeout=1)
        await conn.close()

    while True:
        if pg.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {(pg.root / 'postgres.log').read_text()}")
        try:
            asyncio.run(ping())
            return
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def truncate_all(url: str) -> None:
    """Empty every table but the migration record: ~50 ms, against ~300 ms for a new database."""

    async def truncate() -> None:
        conn = await asyncpg.connect(url)
        try:
            tables = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'schema_migrations'"
                )
            ]
            await conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        finally:
            await conn.close()

    asyncio.run(truncate())
