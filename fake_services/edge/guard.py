"""Access control at the edge: who is calling (key → grant), from where, and may they.

Every 401/403 is counted by source address (`auth_failures_total{source_ip, reason}`, the
brute-force signal of spec §5.3) and the address is put on the request's access log line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from starlette.types import Scope

from fake_services.edge.auth import authenticate, authorize, check_tenant
from fake_services.edge.settings import ApiKey, EdgeSettings
from fake_services.observability import ServiceError, current
from fake_services.observability.edge_metrics import AuthFailureMetrics

UNKNOWN_SOURCE = "unknown"


def _normalised_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def source_ip(headers: Mapping[str, str], scope: Scope, trust_forwarded: bool) -> str:
    """The client address; with trust, the first X-Forwarded-For hop (the original client)."""
    if trust_forwarded:
        forwarded = headers.get("x-forwarded-for", "")
        first = _normalised_ip(forwarded.split(",")[0]) if forwarded else None
        if first is not None:
            return first
    client = scope.get("client")
    peer = client[0] if client else None
    return (_normalised_ip(peer) if peer else None) or UNKNOWN_SOURCE


class Guard:
    def __init__(self, settings: EdgeSettings, failures: AuthFailureMetrics) -> None:
        self._keys = settings.api_keys
        self._trust_forwarded = settings.trust_forwarded
        self._failures = failures

    def admit(self, headers: Mapping[str, str], scope: Scope) -> ApiKey:
        """The caller's grant, authorised for the request's path and any tenant it names;
        raises 401/403 otherwise.
        `headers`: lower-case names, as Starlette's Headers or `first_values` give them."""
        try:
            grant = authenticate(headers.get("authorization"), self._keys)
            self._bind(grant)
            authorize(grant, scope["path"])
            check_tenant(grant, headers.get("x-tenant-id"))
        except ServiceError as exc:
            self._record_failure(headers, scope, exc)
            raise
        return grant

    def _bind(self, grant: ApiKey) -> None:
        ctx = current()
        if ctx is not None:
            ctx.tenant_id, ctx.user_id = grant.tenant_id, grant.user_id

    def _record_failure(self, headers: Mapping[str, str], scope: Scope, exc: ServiceError) -> None:
        address = source_ip(headers, scope, self._trust_forwarded)
        self._failures.failed(address, exc.code.value)
        ctx = current()
        if ctx is not None:
            ctx.source_ip = address
