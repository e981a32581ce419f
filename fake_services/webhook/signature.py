"""The run event signature scheme, shared by the sender (the platform) and the receiver.

    X-WRK-Timestamp: <unix seconds>
    X-WRK-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

The timestamp is signed with the body, so a captured request cannot be replayed with a fresh
timestamp; the receiver refuses timestamps outside its replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from fake_services.observability import ErrorCode

TIMESTAMP_HEADER = "X-WRK-Timestamp"
SIGNATURE_HEADER = "X-WRK-Signature"
# Delivery attempt number (1 on the first try): lets the receiver measure time since the first
# reception of a retried event without a lookup on every delivery.
ATTEMPT_HEADER = "X-WRK-Delivery-Attempt"

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP = re.compile(r"-?[0-9]{1,15}")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


@dataclass(frozen=True)
class SignatureFailure(Exception):
    code: ErrorCode
    reason: str  # the webhook_failures_total label
    message: str


_MISSING = SignatureFailure(
    ErrorCode.WEBHOOK_SIGNATURE_MISSING, "missing_signature", "X-WRK-Signature is required"
)
_INVALID = SignatureFailure(
    ErrorCode.WEBHOOK_SIGNATURE_INVALID, "invalid_signature", "the signature does not match"
)
_REPLAYED = SignatureFailure(
    ErrorCode.WEBHOOK_REPLAYED, "replayed", "the timestamp is outside the replay window"
)


def verify(
    secret: str,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    window_s: float,
) -> None:
    """Raise SignatureFailure unless the request is authentic and fresh.

    Freshness is judged only after authenticity: an unauthenticated timestamp means nothing.
    """
    if not signature or not signature.strip():
        raise _MISSING
    match = _SIGNATURE.fullmatch(signature.strip())
    if match is None or timestamp is None or _TIMESTAMP.fullmatch(timestamp.strip()) is None:
        raise _INVALID
    ts = int(timestamp.strip())
    expected = sign(secret, ts, body).removeprefix("sha256=")
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise _INVALID
    if abs(now - ts) > window_s:
        raise _REPLAYED
