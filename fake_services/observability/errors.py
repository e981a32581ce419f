"""One catalogue of error codes (spec §7), so logs and responses can be grouped by them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any


class ErrorCode(StrEnum):
    # Examples named by the spec.
    ARCHIVE_REMOTE_DEACTIVATION_FAILED = "archive_remote_deactivation_failed"
    CREDENTIAL_SCOPE_MISMATCH = "credential_scope_mismatch"
    # WRK Platform integration.
    WRK_PLATFORM_UNAVAILABLE = "wrk_platform_unavailable"
    WRK_PLATFORM_ERROR = "wrk_platform_error"
    WRK_PLATFORM_TIMEOUT = "wrk_platform_timeout"
    # Internal dependencies.
    CORE_UNAVAILABLE = "core_unavailable"
    DB_UNAVAILABLE = "db_unavailable"
    DB_TIMEOUT = "db_timeout"
    # Webhooks and queues.
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    WEBHOOK_SIGNATURE_MISSING = "webhook_signature_missing"
    WEBHOOK_REPLAYED = "webhook_replayed"
    WEBHOOK_MALFORMED = "webhook_malformed"
    QUEUE_DEAD_LETTERED = "queue_dead_lettered"
    QUEUE_UNAVAILABLE = "queue_unavailable"
    # Access control and request handling.
    AUTH_MISSING_KEY = "auth_missing_key"
    AUTH_UNKNOWN_KEY = "auth_unknown_key"
    AUTH_FORBIDDEN = "auth_forbidden"
    RATE_LIMITED = "rate_limited"
    FEATURE_DISABLED = "feature_disabled"
    VALIDATION_FAILED = "validation_failed"
    INVALID_TRANSITION = "invalid_transition"
    ALREADY_EXISTS = "already_exists"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    INTERNAL_ERROR = "internal_error"


# The status a code maps to unless the raiser says otherwise.
DEFAULT_STATUS: dict[ErrorCode, int] = {
    ErrorCode.ARCHIVE_REMOTE_DEACTIVATION_FAILED: HTTPStatus.BAD_GATEWAY,
    ErrorCode.CREDENTIAL_SCOPE_MISMATCH: HTTPStatus.FORBIDDEN,
    ErrorCode.WRK_PLATFORM_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.WRK_PLATFORM_ERROR: HTTPStatus.BAD_GATEWAY,
    ErrorCode.WRK_PLATFORM_TIMEOUT: HTTPStatus.GATEWAY_TIMEOUT,
    ErrorCode.CORE_UNAVAILABLE: HTTPStatus.BAD_GATEWAY,
    ErrorCode.DB_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.DB_TIMEOUT: HTTPStatus.GATEWAY_TIMEOUT,
    ErrorCode.WEBHOOK_SIGNATURE_INVALID: HTTPStatus.UNAUTHORIZED,
    ErrorCode.WEBHOOK_SIGNATURE_MISSING: HTTPStatus.UNAUTHORIZED,
    # A stale timestamp is an authentication failure (the signature cannot vouch for freshness).
    ErrorCode.WEBHOOK_REPLAYED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.WEBHOOK_MALFORMED: HTTPStatus.BAD_REQUEST,
    ErrorCode.QUEUE_DEAD_LETTERED: HTTPStatus.INTERNAL_SERVER_ERROR,
    ErrorCode.QUEUE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.AUTH_MISSING_KEY: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTH_UNKNOWN_KEY: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTH_FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    # A mitigation, not a failure: an operator switched the feature off (spec §6.2), so the
    # request conflicts with the service's current state. 409 keeps a deliberate degradation out
    # of the 5xx alert it is meant to stop, while the error code still names the cause.
    ErrorCode.FEATURE_DISABLED: HTTPStatus.CONFLICT,
    ErrorCode.VALIDATION_FAILED: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.INVALID_TRANSITION: HTTPStatus.CONFLICT,
    ErrorCode.ALREADY_EXISTS: HTTPStatus.CONFLICT,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.INTERNAL_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
}


class ServiceError(Exception):
    """An expected failure that becomes a JSON error response with its error code."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = int(status if status is not None else DEFAULT_STATUS[code])
        # e.g. Retry-After on 429 rate_limited and 409 feature_disabled.
        self.headers = dict(headers or {})


def error_body(code: ErrorCode | str, message: str, request_id: str | None) -> dict[str, Any]:
    """The one shape of every error response."""
    return {"error_code": str(code), "message": message, "request_id": request_id}
