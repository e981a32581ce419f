"""AI ingestion worker (`ai-ingestion`): indexes an automation version's definition.

Only a digest and a chunk count are stored and logged, never the text: notes may hold
anything a user pasted, secrets included.
"""

from __future__ import annotations

import hashlib
import math

import asyncpg

from fake_services.core import versions
from fake_services.flags import Flag
from fake_services.observability import CollectorRegistry, get_logger
from fake_services.queue import Job, QueueName
from fake_services.queue.payloads import IngestVersion
from fake_services.workers.errors import JobDeferred, PermanentJobError
from fake_services.workers.handler import JobHandler, payload_of
from fake_services.workers.visibility import committed

_log = get_logger(__name__)

TABLE = "ai_documents"
CHUNK_CHARS = 1000


class AiIngestionWorker(JobHandler):
    queue = QueueName.AI_INGESTION

    def __init__(self, _registry: CollectorRegistry) -> None:
        pass

    async def handle(self, job: Job) -> None:
        if not self.ctx.flags.enabled(Flag.AI_INGESTION):
            raise JobDeferred("ai_ingestion is off")
        version_id = payload_of(job, IngestVersion).version_id

        async def read() -> asyncpg.Record | None:
            async with self.ctx.db.query("select", versions.TABLE) as conn:
                return await conn.fetchrow(
                    f"SELECT tenant_id, notes FROM {versions.TABLE} WHERE id = $1", version_id
                )

        row = await committed(read)  # the version may still be committing
        if row is None:
            raise PermanentJobError("the automation version no longer exists")
        text: str = row["notes"]
        digest = hashlib.sha256(text.encode()).hexdigest()
        chunks = max(1, math.ceil(len(text) / CHUNK_CHARS))
        async with self.ctx.db.query("upsert", TABLE) as conn:
            await conn.execute(
                f"INSERT INTO {TABLE} (version_id, tenant_id, content_sha256, chunk_count)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (version_id) DO UPDATE SET"
                " content_sha256 = EXCLUDED.content_sha256, chunk_count = EXCLUDED.chunk_count,"
                " ingested_at = now()",
                version_id,
                row["tenant_id"],
                digest,
                chunks,
            )
        _log.info(
            "version ingested",
            resource_type="automation_version",
            resource_id=str(version_id),
            chunks=chunks,
        )
