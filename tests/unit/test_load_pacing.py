"""Each Locust user's beat (harness/load/pacing.py): even spacing, the rate, late tasks, stalls."""

from __future__ import annotations

import pytest

from harness.load.pacing import Beat

RATE = 5.0
PERIOD = 1 / RATE


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class User:
    """A user that starts when its beat says and then spends `busy_s` on its task."""

    def __init__(self, beat: Beat, clock: Clock) -> None:
        self.beat, self.clock = beat, clock
        self.next_start = clock.now + beat.first_wait()
        self.starts: list[float] = []

    def run_task(self, busy_s: float) -> None:
        self.clock.now = self.next_start
        self.starts.append(self.next_start)
        self.clock.now += busy_s
        self.next_start = self.clock.now + self.beat.wait()


def run_users(
    n: int, until_s: float, busy_s: float = 0.004, stall: tuple[float, float] | None = None
) -> list[User]:
    """n users spawned together, run for `until_s`, tasks in start order; during `stall`
    (from, to) a task waits until `to` for its answer, as when the service stops answering."""
    clock = Clock()
    end = clock.now + until_s
    users = [User(Beat(RATE, i, n, clock), clock) for i in range(n)]
    while True:
        user = min(users, key=lambda u: u.next_start)
        if user.next_start > end:
            return users
        busy = busy_s
        if stall is not None and stall[0] <= user.next_start < stall[1]:
            busy = stall[1] - user.next_start + busy_s
        user.run_task(busy)


def largest_burst(starts: list[float], window_s: float) -> int:
    """The most starts within any window of `window_s`."""
    starts = sorted(starts)
    best = lo = 0
    for hi, start in enumerate(starts):
        while start - starts[lo] > window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_users_spawned_together_start_evenly_spread_over_the_period() -> None:
    users = run_users(10, until_s=5.0)
    starts = [s for u in users for s in u.starts]
    assert largest_burst(starts, window_s=PERIOD / 10 * 0.9) == 1
    offsets = sorted(u.starts[0] - 100.0 for u in users)
    assert offsets == pytest.approx([i * PERIOD / 10 for i in range(10)])


def test_each_user_keeps_the_rate() -> None:
    for user in run_users(4, until_s=20.0):
        rate = (len(user.starts) - 1) / (user.starts[-1] - user.starts[0])
        assert rate == pytest.approx(RATE, rel=1e-9)


def test_a_late_task_is_followed_at_once_and_the_next_start_is_on_the_beat() -> None:
    clock = Clock()
    user = User(Beat(RATE, 0, 1, clock), clock)
    user.run_task(0.01)  # starts at 100.0
    user.run_task(0.35)  # starts at 100.2, ends at 100.55: beats 100.4 passed
    assert user.next_start == pytest.approx(100.55)  # at once, as constant_throughput does
    user.run_task(0.01)
    assert user.next_start == pytest.approx(100.6)  # back on the beat, nothing made up
    user.run_task(0.01)
    assert user.next_start == pytest.approx(100.8)


def test_tasks_longer_than_the_period_run_back_to_back() -> None:
    clock = Clock()
    user = User(Beat(RATE, 0, 1, clock), clock)
    for _ in range(5):
        user.run_task(0.3)
    gaps = [b - a for a, b in zip(user.starts, user.starts[1:], strict=False)]
    assert gaps == pytest.approx([0.3] * 4)


def test_after_a_stall_the_users_are_bunched_for_one_period_only() -> None:
    stall = (101.0, 101.7)  # nothing answers for 0.7 s: every user waits on its request
    users = run_users(10, until_s=4.0, stall=stall)
    released = [s for u in users for s in u.starts if stall[1] <= s < stall[1] + 0.01]
    assert len(released) == 10  # all answered at once, and each starts its next task at once
    after = [s for u in users for s in u.starts if s >= stall[1] + PERIOD]
    assert after
    assert largest_burst(after, window_s=PERIOD / 10 * 0.9) == 1


@pytest.mark.parametrize(("rate", "slots"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_rate_or_slot_count_that_is_not_positive_is_refused(rate: float, slots: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Beat(rate, 0, slots)
