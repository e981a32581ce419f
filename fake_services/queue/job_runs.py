"""`job_runs`: enqueue, start and finish time of every job, with its request id (async SLIs).

A producer writes a job's row, `queued`, in the transaction that enqueues it (`Producer.submit`
with `conn`), so a job no worker ever starts still counts, as a miss, in the async SLOs
measured from this table (scenarios/catalog/slos.yaml); a rolled-back write leaves no row.
Workers then record each start and the outcome. Where a job comes without its row (a producer
outside a transaction whose row write failed) the first start writes it.

`attempts` counts deliveries to a worker, including one cut short by a crash, so it can exceed
the retry count kept in the job envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from fake_services.db import Database
from fake_services.queue.jobs import Job

TABLE = "job_runs"


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


async def queued(conn: asyncpg.Connection, jobs: Sequence[Job]) -> None:
    """The rows of jobs just enqueued, in the caller's transaction. A worker may have started
    one already (Redis hands jobs over before the producer commits): its row stands."""
    await conn.execute(
        f"INSERT INTO {TABLE} (queue, job_id, kind, request_id, tenant_id, enqueued_at, status,"
        " attempts) SELECT q, j, k, r, t, e, 'queued', 0"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::timestamptz[]) AS u(q, j, k, r, t, e)"
        " ON CONFLICT (queue, job_id) DO NOTHING",
        [job.queue for job in jobs],
        [job.id for job in jobs],
        [job.kind for job in jobs],
        [job.request_id for job in jobs],
        [job.tenant_id for job in jobs],
        [_utc(job.enqueued_at) for job in jobs],
    )


class JobRuns:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def started(self, job: Job) -> None:
        async with self._db.query("upsert", TABLE) as conn:
            await conn.execute(
                f"INSERT INTO {TABLE} (queue, job_id, kind, request_id, tenant_id, enqueued_at,"
                " started_at, status, attempts)"
                " VALUES ($1, $2, $3, $4, $5, $6, now(), 'running', 1)"
                " ON CONFLICT (queue, job_id) DO UPDATE SET started_at = now(),"
                f" status = 'running', attempts = {TABLE}.attempts + 1",
                job.queue,
                job.id,
                job.kind,
                job.request_id,
                job.tenant_id,
                _utc(job.enqueued_at),
            )

    async def finished(self, job: Job, status: str, error_code: str | None = None) -> None:
        """`finished_at` is set for final outcomes only (succeeded, dead_lettered)."""
        final = status in ("succeeded", "dead_lettered")
        async with self._db.query("update", TABLE) as conn:
            await conn.execute(
                f"UPDATE {TABLE} SET status = $3, last_error_code = $4,"
                " finished_at = CASE WHEN $5 THEN now() ELSE finished_at END"
                " WHERE queue = $1 AND job_id = $2",
                job.queue,
                job.id,
                status,
                error_code,
                final,
            )
