"""Queue names of the spec (§4.2) and the Redis keys derived from them."""

from __future__ import annotations

from enum import StrEnum


class QueueName(StrEnum):
    BUILD_REQUESTS = "build-requests"
    AI_INGESTION = "ai-ingestion"
    NOTIFICATIONS = "notifications"
    USAGE_AGGREGATION = "usage-aggregation"


ALL_QUEUES = tuple(QueueName)


def ready_key(queue: str) -> str:
    return queue


def delayed_key(queue: str) -> str:
    return f"{queue}:delayed"


def dead_key(queue: str) -> str:
    return f"{queue}:dead"


def workers_key(queue: str) -> str:
    return f"{queue}:workers"


def processing_key(queue: str, worker_id: str) -> str:
    return f"{queue}:processing:{worker_id}"


def heartbeat_key(queue: str, worker_id: str) -> str:
    return f"{queue}:alive:{worker_id}"
