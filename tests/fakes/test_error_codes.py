"""The error codes the requirements name (spec §7: logs are grouped by them) are in ErrorCode,
the one catalogue every service raises and logs from."""

from __future__ import annotations

import pytest

from fake_services.observability import ErrorCode

REQUIRED = (
    "wrk_platform_unavailable",
    "webhook_signature_invalid",
    "db_timeout",
    "queue_dead_lettered",
    "archive_remote_deactivation_failed",
    "credential_scope_mismatch",
)


@pytest.mark.parametrize("code", REQUIRED)
def test_a_required_code_is_an_error_code(code: str) -> None:
    assert code in {member.value for member in ErrorCode}
