"""When each Locust user starts its next task: a constant rate per user, each on its own beat.

Locust's `constant_throughput` times a user's next start from its own last one, and the runner
spawns every user at once (a spawn rate equal to the user count), so the users start together
and stay together: 10 users at 5/s send 10 requests in the same millisecond every 200 ms, not
one every 20 ms, and each burst takes 10 database connections at once in core. Only a slow
answer moves a user off that beat, and a stall longer than one period puts every user back on
the same one (each starts again the moment its answer comes).

Here each of n users spawned together keeps its own beat, i/n of a period after the first:
requests arrive as evenly as the rate allows. As with `constant_throughput`, a task that ran
past its beat is followed at once by the next (nothing is made up later); the one after that is
back on the user's beat, so a stall bunches the users for one period only. Kept apart from the
locustfile so it can be tested without importing Locust (which patches the interpreter).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class Beat:
    """One user's schedule: starts at `offset + k * period` on the clock of its creation."""

    def __init__(
        self,
        rate: float,
        slot: int,
        slots: int,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if rate <= 0 or slots <= 0:
            raise ValueError(f"rate and slots must be positive, not {rate} and {slots}")
        self.period = 1.0 / rate
        self.offset = (slot % slots) / slots * self.period
        self._clock = clock
        self._due = clock() + self.offset  # the first start

    def first_wait(self) -> float:
        """Seconds until the user's first start (its offset, less what has passed since)."""
        return max(0.0, self._due - self._clock())

    def wait(self) -> float:
        """Seconds until the next start, called when a task ends (0 when it ran late)."""
        now = self._clock()
        due = self._due + self.period
        if due >= now:
            self._due = due
            return due - now
        # Late: start now, and count the beats passed so the next start is on the beat again.
        self._due += math.floor((now - self._due) / self.period) * self.period
        return 0.0
