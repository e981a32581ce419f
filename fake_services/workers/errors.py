"""What a handler raises to steer its job, besides succeeding or failing (and being retried)."""

from __future__ import annotations


class JobDeferred(Exception):
    """The work is switched off (a feature flag): wait and try again, without using an attempt."""

    def __init__(self, reason: str, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s


class PermanentJobError(Exception):
    """Retrying cannot help (an unreadable payload, a deleted resource): dead-letter at once."""
