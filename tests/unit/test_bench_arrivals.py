"""The benchmark's arrival schedule and its bunching measure (benchmarks/arrivals.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.arrivals import PoissonSchedule, dispersion, read_starts


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def starts_of(schedule: PoissonSchedule, clock: Clock, count: int, busy_s: float) -> list[float]:
    """Start times of a user that waits as told, then spends `busy_s` on each request."""
    starts = []
    for _ in range(count):
        clock.now += schedule.wait()
        starts.append(clock.now)
        clock.now += busy_s
    return starts


def test_a_users_starts_keep_the_rate_and_look_poisson() -> None:
    clock = Clock()
    starts = starts_of(PoissonSchedule(20.0, random.Random(1), clock), clock, 20_000, 0.001)
    rate = (len(starts) - 1) / (starts[-1] - starts[0])
    assert rate == pytest.approx(20.0, rel=0.03)
    assert dispersion(starts) == pytest.approx(1.0, abs=0.1)


def test_a_user_held_up_catches_up_so_the_mean_rate_holds() -> None:
    clock = Clock()
    schedule = PoissonSchedule(10.0, random.Random(2), clock)
    clock.now += schedule.wait()
    clock.now += 2.0  # a two-second answer: about 20 starts fell due meanwhile
    waits = [schedule.wait() for _ in range(10)]
    assert waits == [0.0] * 10
    starts = starts_of(schedule, clock, 5_000, 0.0)
    earlier = 1 + len(waits)  # the first start and the ten caught up
    assert (earlier + len(starts)) / (starts[-1] - 100.0) == pytest.approx(10.0, rel=0.05)


def test_dispersion_tells_even_poisson_and_bunched_starts_apart() -> None:
    even = [i * 0.002 for i in range(10_000)]
    bunched = [burst * 0.08 + i * 0.0001 for burst in range(250) for i in range(40)]
    rng = random.Random(3)
    poisson, now = [], 0.0
    for _ in range(10_000):
        now += rng.expovariate(500.0)
        poisson.append(now)
    assert dispersion(even) == pytest.approx(0.0, abs=0.1)
    assert dispersion(poisson) == pytest.approx(1.0, abs=0.1)
    assert (dispersion(bunched) or 0.0) > 5


def test_dispersion_needs_enough_of_a_run() -> None:
    assert dispersion([]) is None
    assert dispersion([0.0, 1.0, 2.5]) is None


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        PoissonSchedule(0.0)


def test_starts_read_back_and_a_missing_file_is_none(tmp_path: Path) -> None:
    path = tmp_path / "starts.txt"
    assert read_starts(path) == []
    path.write_text("1.5\n2.25\n")
    assert read_starts(path) == [1.5, 2.25]
