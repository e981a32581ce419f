"""log_error_codes (spec §7): each expected error code is logged during the fault window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from harness.checks.results import Check
from harness.checks.wording import service_list
from harness.observe.logs import LogStore


def log_error_code(
    scenario: str,
    logs: LogStore,
    code: str,
    *,
    since: float,
    until: float,
    services: Sequence[str] | None = None,
) -> Check:
    """`code` appears in some log event in [since, until] (the fault window)."""
    where = f"the logs of {service_list(services)}" if services is not None else "the logs"
    window = f"the {until - since:.1f} s fault window"
    found = logs.by_error_code(code, since, until, services)
    if found:
        first = min(found, key=lambda e: e.at)
        by_service = Counter(e.service for e in found)
        counts = ", ".join(f"{s} x{n}" for s, n in sorted(by_service.items()))
        msg = (
            f"{code} logged {len(found)} time(s) in {window} ({counts}); first by "
            f"{first.service} {first.at - since:.2f} s after it began"
        )
        return Check.of(scenario, "log_error_codes", True, msg, code)
    seen = logs.error_codes(since, until, services)
    listed = ", ".join(f"{c} x{n}" for c, n in seen.most_common()) or "none at all"
    msg = f"expected error code {code} in {where} during {window}; codes seen then: {listed}"
    return Check.of(scenario, "log_error_codes", False, msg, code)


def log_error_codes(
    scenario: str,
    logs: LogStore,
    codes: Sequence[str],
    *,
    since: float,
    until: float,
    services: Sequence[str] | None = None,
) -> list[Check]:
    """One check per expected code (each a separate line of the coverage ledger)."""
    return [
        log_error_code(scenario, logs, c, since=since, until=until, services=services)
        for c in codes
    ]
