"""Headers that carry correlation to the next hop (spec §2.1, §7: edge → core → workers)."""

from __future__ import annotations

from fake_services.observability.context import current
from fake_services.observability.tracing import inject

REQUEST_ID_HEADER = "X-Request-ID"
TENANT_ID_HEADER = "X-Tenant-ID"
USER_ID_HEADER = "X-User-ID"


def outgoing_headers() -> dict[str, str]:
    """X-Request-ID of the current request and `traceparent` of the current span."""
    headers: dict[str, str] = {}
    ctx = current()
    if ctx is not None:
        headers[REQUEST_ID_HEADER] = ctx.request_id
    inject(headers)
    return headers
