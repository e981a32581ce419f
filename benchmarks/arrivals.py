"""How the benchmark's Locust users space their requests, and how bunched a run's starts were.

Kept apart from the locustfile so it can be tested: importing Locust patches the interpreter
with gevent.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ARRIVALS = ("poisson", "paced")
# Dispersion is taken over bins this long, about a request's time through the fakes: bunching
# at that scale is what queues requests behind each other.
DISPERSION_BIN_S = 0.01
# Left out of the dispersion: users starting (first seconds) and stopping (last second).
WARM_UP_S = 2.0
WIND_DOWN_S = 1.0


class PoissonSchedule:
    """When one user's next request is due, so that its starts form a Poisson process.

    Each start is due an exponential gap after the previous one was due, not after it happened:
    a user held up by a slow answer catches up, so the mean rate holds. The gaps are random, so
    users never fall into step. Under Locust's constant_throughput they do: a stall releases
    every waiting user at once, and their fixed periods keep them bunched after it.
    """

    def __init__(
        self,
        rate: float,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self._rate = rate
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock
        self._due: float | None = None

    def wait(self) -> float:
        """Seconds to wait before the next request (0 when it is already due)."""
        now = self._clock()
        due = (now if self._due is None else self._due) + self._rng.expovariate(self._rate)
        self._due = due
        return max(0.0, due - now)


def dispersion(starts: Sequence[float], bin_s: float = DISPERSION_BIN_S) -> float | None:
    """Variance over mean of the number of request starts per bin of `bin_s`, leaving out the
    warm-up and wind-down: 1 for Poisson arrivals, near 0 for evenly spaced ones, above 1 for
    bunched ones. None when too few starts remain to say."""
    if not starts:
        return None
    first, last = min(starts), max(starts)
    kept = [s for s in starts if first + WARM_UP_S <= s < last - WIND_DOWN_S]
    bins = int((last - WIND_DOWN_S - first - WARM_UP_S) / bin_s)
    if bins < 2 or not kept:
        return None
    counts = Counter(int((s - first - WARM_UP_S) / bin_s) for s in kept)
    per_bin = [counts.get(i, 0) for i in range(bins)]
    return statistics.pvariance(per_bin) / statistics.fmean(per_bin)


def read_starts(path: Path) -> list[float]:
    """Start times written by the locustfile, one per line; none if it wrote no file."""
    if not path.exists():
        return []
    return [float(line) for line in path.read_text().split()]
