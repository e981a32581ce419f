"""Run events the platform sends to WRK Copilot's webhook: generated, signed, delivered.

Delivery never gives up on a transient failure: on a connection error, a timeout, 429 or any
5xx the same event (same event_id, freshly signed) is sent again with exponential backoff, so
a webhook or database outage delays events but loses none. Only a 4xx other than 408/425/429
(the receiver refuses the event itself) or the retry deadline ends a delivery unacknowledged.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from fake_services.observability import SpanKind, Tracer, context, get_logger, tracing
from fake_services.observability.context import RequestContext
from fake_services.observability.domain_metrics import WebhookDeliveryMetrics
from fake_services.platform.settings import RunEventSettings
from fake_services.webhook import signature

_log = get_logger(__name__)

FIRST_BACKOFF_S = 0.2
FAILED_RUN_RATIO = 0.1
AUTOMATIONS_PER_TENANT = 3
_RETRYABLE_4XX = frozenset({408, 425, 429})


@dataclass
class DeliveryStats:
    generated: int = 0
    acknowledged: int = 0  # stored by the receiver (now or by an earlier attempt)
    duplicates: int = 0  # of those, acknowledged as already stored
    rejected: int = 0
    abandoned: int = 0
    attempts: int = 0
    retries: int = 0

    @property
    def pending(self) -> int:
        return self.generated - self.acknowledged - self.rejected - self.abandoned


@dataclass
class Stream:
    """The steady stream of run events (PUT /admin/run-events)."""

    rate_per_s: float = 0.0
    tenant_ids: tuple[str, ...] = ("tenant-1",)  # events take turns, the rate is the total
    automation_ids: list[str] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return ",".join(self.tenant_ids)


def new_event(tenant_id: str, automation_ids: list[str]) -> dict[str, Any]:
    automations = automation_ids or [
        f"automation-{i}" for i in range(1, AUTOMATIONS_PER_TENANT + 1)
    ]
    return {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "tenant_id": tenant_id,
        "automation_id": random.choice(automations),
        "status": "failed" if random.random() < FAILED_RUN_RATIO else "succeeded",
        "occurred_at": datetime.now(UTC).isoformat(),
    }


class RunEventSender:
    def __init__(
        self,
        settings: RunEventSettings,
        metrics: WebhookDeliveryMetrics,
        tracer: Tracer,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.stats = DeliveryStats()
        self.stream = Stream(settings.rate_per_s, settings.tenant_ids)
        self._metrics = metrics
        self._tracer = tracer
        self._transport = transport
        self._deliveries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._stream_task: asyncio.Task[None] | None = None
        self._stream_changed = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.settings.webhook_url is not None

    async def start(self) -> None:
        if not self.enabled:
            return
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.timeout_s), transport=self._transport
        )
        self._stream_task = asyncio.create_task(self._run_stream(), name="run-event-stream")

    async def stop(self) -> None:
        tasks = [*self._deliveries, *([self._stream_task] if self._stream_task else [])]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._client is not None:
            await self._client.aclose()

    def set_stream(self, stream: Stream) -> None:
        self.stream = stream
        self._stream_changed.set()
        _log.warning(
            "run event stream changed", rate_per_s=stream.rate_per_s, stream_tenant=stream.tenant_id
        )

    def send_batch(self, count: int, tenant_id: str, automation_ids: list[str]) -> list[str]:
        return [self._submit(new_event(tenant_id, automation_ids)) for _ in range(count)]

    def _submit(self, event: dict[str, Any]) -> str:
        self.stats.generated += 1
        self._metrics.pending.inc()
        task = asyncio.create_task(self._deliver(event))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return str(event["event_id"])

    async def _run_stream(self) -> None:
        """Emit events at the configured rate; a rate change takes effect immediately."""
        next_at = time.monotonic()
        turn = 0
        while True:
            rate = self.stream.rate_per_s
            if rate <= 0:
                self._stream_changed.clear()
                await self._stream_changed.wait()
                next_at = time.monotonic()
                continue
            next_at = max(next_at + 1 / rate, time.monotonic() - 1)  # catch up at most 1 s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if self.stream.rate_per_s > 0:
                tenants = self.stream.tenant_ids
                turn += 1
                self._submit(new_event(tenants[turn % len(tenants)], self.stream.automation_ids))

    async def _deliver(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, separators=(",", ":")).encode()
        ctx = RequestContext(request_id=f"req-{event['event_id']}", tenant_id=event["tenant_id"])
        deadline = time.monotonic() + self.settings.retry_deadline_s
        attempt = 0
        with context.bound(ctx):
            while True:
                attempt += 1
                outcome = await self._attempt(body, attempt)
                if outcome != "retried":
                    break
                if time.monotonic() > deadline:
                    outcome = "abandoned"
                    _log.error("run event abandoned", resource_id=event["event_id"])
                    break
                self.stats.retries += 1
                backoff = min(self.settings.retry_max_s, FIRST_BACKOFF_S * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(backoff / 2, backoff))
        self._settle(outcome)

    def _settle(self, outcome: str) -> None:
        self._metrics.pending.dec()
        if outcome in ("acknowledged", "duplicate"):
            self.stats.acknowledged += 1
            self.stats.duplicates += outcome == "duplicate"
        elif outcome == "rejected":
            self.stats.rejected += 1
        else:
            self.stats.abandoned += 1
            self._metrics.attempt("abandoned", 0.0)

    async def _attempt(self, body: bytes, attempt: int) -> str:
        assert self._client is not None and self.settings.secret is not None
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            signature.TIMESTAMP_HEADER: str(timestamp),
            signature.SIGNATURE_HEADER: signature.sign(self.settings.secret, timestamp, body),
            signature.ATTEMPT_HEADER: str(attempt),
        }
        started = time.perf_counter()
        async with self._slots:
            with self._tracer.start_as_current_span("webhook.deliver", kind=SpanKind.CLIENT):
                ctx = context.current()
                headers["X-Request-ID"] = ctx.request_id if ctx else ""
                tracing.inject(headers)
                outcome = await self._post(body, headers)
        self.stats.attempts += 1
        self._metrics.attempt(outcome, time.perf_counter() - started)
        return outcome

    async def _post(self, body: bytes, headers: dict[str, str]) -> str:
        assert self._client is not None and self.settings.webhook_url is not None
        try:
            response = await self._client.post(
                self.settings.webhook_url, content=body, headers=headers
            )
        except httpx.TransportError as exc:
            _log.warning("run event delivery failed; will retry", error_type=type(exc).__name__)
            return "retried"
        status = response.status_code
        if status < 300:
            return "duplicate" if _is_duplicate(response) else "acknowledged"
        code = _error_code(response)
        if status >= 500 or status in _RETRYABLE_4XX:
            _log.warning("run event refused; will retry", status=status, error_code=code)
            return "retried"
        _log.error("run event rejected by the webhook", status=status, error_code=code)
        return "rejected"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_duplicate(response: httpx.Response) -> bool:
    return _json(response).get("duplicate") is True


def _error_code(response: httpx.Response) -> str | None:
    code = _json(response).get("error_code")
    return code if isinstance(code, str) else None
