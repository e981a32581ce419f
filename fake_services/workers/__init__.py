"""Queue workers, one process per queue (spec §2.1 Workers): build, AI ingestion,
notifications, usage aggregation.

Delivery is at-least-once (fake_services.queue.reliable), so every handler is idempotent: the
build passes an idempotency key to the platform, the others upsert or recompute.
"""
