"""Receiving one run event: authenticate, parse, store once, enqueue its usage aggregation.

No event is lost when the database is down. The webhook acknowledges (200) only after the
event is committed in Postgres; if the write fails it answers 503 `db_unavailable` (504
`db_timeout`), and the WRK Platform retries with backoff under the same event_id. A redelivery
of a stored event is answered 200 {"duplicate": true} and changes nothing, so a commit whose
answer was lost is harmless. Buffering in Redis instead was rejected: it would make Redis a
second, less durable source of truth that needs its own drainer, to solve a problem the
sender's retries already solve.
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

import asyncpg
from fastapi import Request
from pydantic import ValidationError

from fake_services import defects
from fake_services.observability import ErrorCode, ServiceError, current, get_logger
from fake_services.observability.domain_metrics import RunEventMetrics
from fake_services.queue import Producer
from fake_services.queue.payloads import AggregateUsage, JobKind
from fake_services.webhook import signature
from fake_services.webhook.events import RunEvent, RunEventStore
from fake_services.webhook.receipts import Receipts
from fake_services.webhook.settings import WebhookSettings

_log = get_logger(__name__)

# Failures of the store, by error code, as webhook_failures_total reasons.
_STORE_FAILURE_REASONS = {
    ErrorCode.DB_UNAVAILABLE: "db_unavailable",
    ErrorCode.DB_TIMEOUT: "timeout",
    ErrorCode.QUEUE_UNAVAILABLE: "queue_unavailable",
}


def _malformed(message: str, status: int = 400) -> ServiceError:
    return ServiceError(ErrorCode.WEBHOOK_MALFORMED, message, status)


def _attempt(request: Request) -> int:
    raw = request.headers.get(signature.ATTEMPT_HEADER, "1").strip()
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


class RunEventIngestion:
    def __init__(
        self,
        settings: WebhookSettings,
        store: RunEventStore,
        producer: Producer,
        receipts: Receipts,
        metrics: RunEventMetrics,
    ) -> None:
        self._settings = settings
        self._store = store
        self._producer = producer
        self._receipts = receipts
        self._metrics = metrics
        misfiled = defects.active(defects.Defect.SIGNATURE_FAILURES_MISFILED)
        self._misfiled = "missing_signature" if misfiled else None
        self._reasons = dict(_STORE_FAILURE_REASONS)
        if defects.active(defects.Defect.TIMEOUTS_MISFILED):
            self._reasons[ErrorCode.DB_TIMEOUT] = "db_unavailable"
        self._log_headers = defects.active(defects.Defect.LOG_SIGNATURE_PAIR)

    async def ingest(self, request: Request) -> dict[str, Any]:
        received_at = time.time()
        if self._log_headers:  # defect log_signature_pair: headers as (name, value) pairs
            _log.info("run event delivery", headers=list(request.headers.items()))
        body = await self._read(request)
        self._authenticate(request, body, received_at)
        event = self._parse(body)
        ctx = current()
        if ctx is not None:
            ctx.tenant_id = event.tenant_id
        first_seen = await self._receipts.first_seen(event.event_id, _attempt(request), received_at)
        stored_at = await self._store_once(event, first_seen)
        if stored_at is None:
            self._metrics.duplicates.inc()
            _log.info(
                "run event already stored", resource_type="run_event", resource_id=event.event_id
            )
            return {"event_id": event.event_id, "duplicate": True}
        self._metrics.stored(stored_at - first_seen)
        _log.info("run event stored", resource_type="run_event", resource_id=event.event_id)
        return {"event_id": event.event_id, "duplicate": False}

    async def _read(self, request: Request) -> bytes:
        limit = self._settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            self._metrics.failed("malformed")
            raise _malformed(f"the body exceeds {limit} bytes", 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                self._metrics.failed("malformed")
                raise _malformed(f"the body exceeds {limit} bytes", 413)
        return bytes(body)

    def _authenticate(self, request: Request, body: bytes, now: float) -> None:
        try:
            signature.verify(
                self._settings.secret,
                signature=request.headers.get(signature.SIGNATURE_HEADER),
                timestamp=request.headers.get(signature.TIMESTAMP_HEADER),
                body=body,
                now=now,
                window_s=self._settings.replay_window_s,
            )
        except signature.SignatureFailure as failure:
            self._metrics.failed(self._misfiled or failure.reason)
            raise ServiceError(failure.code, failure.message) from None

    def _parse(self, body: bytes) -> RunEvent:
        try:
            return RunEvent.model_validate_json(body)
        except ValidationError as exc:
            self._metrics.failed("malformed")
            fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()})
            raise _malformed(f"invalid run event ({', '.join(fields)})") from None

    async def _store_once(self, event: RunEvent, first_seen: float) -> float | None:
        async def enqueue_usage(conn: asyncpg.Connection, stored: RunEvent) -> None:
            payload = AggregateUsage(
                tenant_id=stored.tenant_id,
                automation_id=stored.automation_id,
                period=stored.occurred_at.astimezone(UTC).date(),
                received_at=first_seen,
                event_id=stored.event_id,
            )
            # One job per event, named after it: job_runs rows join run_events on it.
            await self._producer.submit(
                JobKind.AGGREGATE_USAGE, payload, job_id=stored.event_id, conn=conn
            )

        request_id = ctx.request_id if (ctx := current()) is not None else ""
        try:
            return await self._store.store(event, first_seen, request_id, enqueue_usage)
        except ServiceError as exc:
            reason = self._reasons.get(exc.code)
            if reason is None:
                raise
            self._metrics.failed(reason)
            await self._receipts.remember(event.event_id, first_seen)
            raise
