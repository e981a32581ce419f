"""API key authentication, scope checks (Studio API vs Admin API) and the tenant check."""

from __future__ import annotations

from collections.abc import Mapping

from fake_services.edge.settings import ApiKey
from fake_services.observability import ErrorCode, ServiceError

ADMIN_SCOPE = "admin"
STUDIO_SCOPE = "studio"
_ADMIN_PREFIX = "/v1/admin/"


def required_scope(path: str) -> str:
    return ADMIN_SCOPE if path.startswith(_ADMIN_PREFIX) else STUDIO_SCOPE


def authenticate(authorization: str | None, keys: Mapping[str, ApiKey]) -> ApiKey:
    """The key's grant from an `Authorization: Bearer <key>` header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ServiceError(ErrorCode.AUTH_MISSING_KEY, "an API key is required (Bearer)")
    grant = keys.get(token)
    if grant is None:
        raise ServiceError(ErrorCode.AUTH_UNKNOWN_KEY, "unknown API key")
    return grant


def authorize(grant: ApiKey, path: str) -> None:
    scope = required_scope(path)
    if scope not in grant.scopes:
        raise ServiceError(ErrorCode.AUTH_FORBIDDEN, f"this API key lacks the {scope!r} scope")


def check_tenant(grant: ApiKey, claimed: str | None) -> None:
    """A client may name its tenant, but only the key's. A foreign one is refused, not replaced
    by the key's: a probe or a mixed-up key then shows as a 403 instead of a quiet success."""
    if claimed is not None and claimed != grant.tenant_id:
        message = "X-Tenant-ID names a tenant this API key is not for"
        raise ServiceError(ErrorCode.CREDENTIAL_SCOPE_MISMATCH, message)
