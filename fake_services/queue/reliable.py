"""Reliable delivery on one queue for one worker process.

A job moves atomically from the ready list to this worker's processing list (BLMOVE), so a
worker that dies mid-job leaves it there; every worker periodically reaps the processing lists
of workers whose heartbeat key expired, putting their jobs back. Acknowledgement, retry and
dead-lettering each remove the job from the processing list in the same MULTI transaction that
puts it elsewhere, so a job is always in exactly one place.

Delivery is at-least-once: a worker that finishes a job and dies before acknowledging it gets
the job re-run elsewhere. Handlers are idempotent for that reason (see fake_services.workers).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import redis.asyncio as redis

from fake_services.queue import names, scripts
from fake_services.queue.jobs import Job

PROMOTE_BATCH = 100


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay_s(self, attempts: int) -> float:
        """Exponential backoff with full jitter on the upper half, so retries do not align."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class QueueDepth:
    waiting: int
    in_flight: int
    dead: int


class ReliableQueue:
    """Jobs travel as the bytes they were pushed as (the client does not decode answers);
    redis-py annotates list values as str, hence the ignores where the bytes go back."""

    def __init__(self, client: redis.Redis, queue: str, worker_id: str, lease_s: float) -> None:
        self._redis = client
        self.queue = queue
        self.worker_id = worker_id
        self.lease_s = lease_s
        self._processing = names.processing_key(queue, worker_id)
        self._promote = client.register_script(scripts.PROMOTE_DUE)
        self._reap = client.register_script(scripts.REAP_WORKER)
        self._release = client.register_script(scripts.RELEASE)

    async def register(self) -> None:
        await self.heartbeat()
        await self._redis.sadd(names.workers_key(self.queue), self.worker_id)

    async def heartbeat(self) -> None:
        await self._redis.set(
            names.heartbeat_key(self.queue, self.worker_id), "1", px=int(self.lease_s * 1000)
        )

    async def fetch(self, block_s: float) -> bytes | None:
        """The next job's raw bytes, now held in this worker's processing list."""
        raw = await self._redis.blmove(
            names.ready_key(self.queue),
            self._processing,
            block_s,  # type: ignore[arg-type]  # typed int; Redis >= 6 takes decimal seconds
            "RIGHT",
            "LEFT",
        )
        if raw is None:
            return None
        return raw if isinstance(raw, bytes) else str(raw).encode()

    async def ack(self, raw: bytes) -> bool:
        """False when the job was no longer ours (reaped after a lease expiry)."""
        removed = await self._redis.lrem(self._processing, 1, raw)  # type: ignore[arg-type]
        return bool(removed)

    async def schedule(self, raw: bytes, job: Job, delay_s: float) -> None:
        """Replace the held job by `job` (an updated copy) in the delayed set, due in `delay_s`."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(names.delayed_key(self.queue), {job.encode(): time.time() + delay_s})
            pipe.lrem(self._processing, 1, raw)  # type: ignore[arg-type]
            await pipe.execute()

    async def dead_letter(self, raw: bytes, dead: bytes) -> None:
        """Replace the held job by `dead` (the job with its failure noted) in `<queue>:dead`."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(names.dead_key(self.queue), dead)
            pipe.lrem(self._processing, 1, raw)  # type: ignore[arg-type]
            await pipe.execute()

    async def held(self) -> list[bytes]:
        held = await self._redis.lrange(self._processing, 0, -1)
        return [raw if isinstance(raw, bytes) else raw.encode() for raw in held]

    async def release(self, raw: bytes) -> bool:
        """Hand a held job back to the front of the ready list (nobody is working on it)."""
        moved = await self._release(
            keys=[self._processing, names.ready_key(self.queue)], args=[raw]
        )
        return bool(moved)

    async def promote_due(self) -> int:
        moved = await self._promote(
            keys=[names.delayed_key(self.queue), names.ready_key(self.queue)],
            args=[time.time(), PROMOTE_BATCH],
        )
        return int(moved)

    async def reap(self) -> int:
        """Return the jobs of dead workers to the ready list; the number of jobs moved."""
        moved = 0
        for member in await self._redis.smembers(names.workers_key(self.queue)):
            worker = member.decode() if isinstance(member, bytes) else str(member)
            result = await self._reap(
                keys=[
                    names.heartbeat_key(self.queue, worker),
                    names.processing_key(self.queue, worker),
                    names.ready_key(self.queue),
                    names.workers_key(self.queue),
                ],
                args=[worker],
            )
            moved += max(0, int(result))
        return moved

    async def leave(self) -> None:
        """On a clean stop: hand held jobs back at once instead of waiting for the lease."""
        await self._redis.delete(names.heartbeat_key(self.queue, self.worker_id))
        await self.reap()


async def queue_depth(client: redis.Redis, queue: str) -> QueueDepth:
    workers = await client.smembers(names.workers_key(queue))
    async with client.pipeline(transaction=False) as pipe:
        pipe.llen(names.ready_key(queue))
        pipe.zcard(names.delayed_key(queue))
        pipe.llen(names.dead_key(queue))
        for member in workers:
            worker = member.decode() if isinstance(member, bytes) else str(member)
            pipe.llen(names.processing_key(queue, worker))
        ready, delayed, dead, *processing = await pipe.execute()
    return QueueDepth(waiting=int(ready) + int(delayed), in_flight=sum(processing), dead=int(dead))
