"""Signed run event requests, as the WRK Platform sends them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fake_services.webhook import signature

SECRET = "whsec-test-3f9a7c1e5b2d4a60"
PATH = "/v1/webhooks/run-events"


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "tenant_id": "t1",
        "automation_id": "automation-1",
        "status": "succeeded",
        "occurred_at": datetime.now(UTC).isoformat(),
        **overrides,
    }


def signed(
    body: bytes | dict[str, Any],
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    attempt: int = 1,
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/json",
        signature.TIMESTAMP_HEADER: str(ts),
        signature.SIGNATURE_HEADER: signature.sign(secret, ts, raw),
        signature.ATTEMPT_HEADER: str(attempt),
    }
    return raw, headers
