"""SLO verdicts from measured numbers: pure functions, numbers in, verdict out.

No data is never a pass: no request, no latency sample or no row gives a verdict that did not
hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

# Exactly on budget holds; float noise (0.005 vs 1 - 0.995) must not decide a verdict.
_TOLERANCE = 1e-9


class AvailabilityResult(NamedTuple):
    """Availability measured over a window. A tuple, so `ratio, burn, held = ...` reads well;
    test `.held`, never the tuple itself (a non-empty tuple is always true)."""

    ratio: float | None
    """Share of requests that did not fail; None when there was no request."""
    budget_burn: float | None
    """Error ratio / error budget: 1 spends the budget exactly at the pace the period allows,
    14.4 spends a 30-day budget in 50 hours."""
    held: bool


def availability(total: float, errors: float, objective: float) -> AvailabilityResult:
    """Did `total` requests with `errors` failures meet `objective` (e.g. 0.995)?"""
    if not 0 < objective < 1:
        raise ValueError(f"objective must be between 0 and 1 (exclusive), got {objective}")
    if not 0 <= errors <= total:
        raise ValueError(f"need 0 <= errors <= total, got errors={errors}, total={total}")
    if total == 0:
        return AvailabilityResult(None, None, held=False)
    error_ratio = errors / total
    burn = error_ratio / (1 - objective)
    return AvailabilityResult(1 - error_ratio, burn, held=burn <= 1 + _TOLERANCE)


def latency_held(p95_s: float, threshold_s: float) -> bool:
    """Whether an observed quantile (named for the spec's p95) is within `threshold_s`.

    `<=`, not `<`: with a bucket edge at the threshold, what a histogram decides exactly is
    "at least 95 % of requests took <= 400 ms" (`le` means <=); `histogram_quantile` returns
    at most the edge exactly when that holds. NaN (no request in the window) never holds.
    """
    if not threshold_s > 0:
        raise ValueError(f"threshold must be positive, got {threshold_s}")
    return not math.isnan(p95_s) and p95_s <= threshold_s


@dataclass(frozen=True)
class AsyncResult:
    """End-to-end delays of one async SLO, judged against a (scaled) threshold."""

    count: int
    """Items judged: rows measured, plus items expected but missing."""
    within: int
    """Items finished within the threshold."""
    share_within: float | None
    """within / count; None when nothing was measured."""
    percentile_s: float | None
    """Nearest-rank percentile of the delays; inf when that rank is an unfinished item."""
    threshold_s: float
    held: bool


def async_result(
    latencies_s: Sequence[float | None],
    percentile: float,
    threshold_s: float,
    expected: int | None = None,
) -> AsyncResult:
    """Judge delays: held when at least `percentile` of the items finished within threshold.

    None in `latencies_s` is an item that never finished (counts as a miss). `expected`, when
    the harness knows how many items it submitted, makes missing rows misses too.
    """
    _check_async_inputs(latencies_s, percentile, threshold_s, expected)
    finished = sorted(x for x in latencies_s if x is not None)
    count = max(len(latencies_s), expected or 0)
    within = sum(1 for x in finished if x <= threshold_s)
    share = within / count if count else None
    delays = finished + [math.inf] * (count - len(finished))
    rank = math.ceil(percentile * count - _TOLERANCE) if count else 0
    return AsyncResult(
        count=count,
        within=within,
        share_within=share,
        percentile_s=delays[max(rank, 1) - 1] if count else None,
        threshold_s=threshold_s,
        held=share is not None and share >= percentile - _TOLERANCE,
    )


def _check_async_inputs(
    latencies_s: Sequence[float | None], percentile: float, threshold_s: float, expected: int | None
) -> None:
    if not 0 < percentile <= 1:
        raise ValueError(f"percentile must be in (0, 1], got {percentile}")
    if not threshold_s > 0:
        raise ValueError(f"threshold must be positive, got {threshold_s}")
    if any(x is not None and (x < 0 or math.isnan(x)) for x in latencies_s):
        raise ValueError("a latency is negative or NaN: clocks or the query are wrong")
    if expected is not None and expected < len(latencies_s):
        raise ValueError(f"{len(latencies_s)} rows measured but only {expected} expected")
