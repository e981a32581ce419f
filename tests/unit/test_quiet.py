"""The quiet baseline, judged as Prometheus judges an alert: by how long it held against `for`.

Episodes are built on the evaluation grid of a real run's timing, at time scale 60 and at 1
(production): every verdict must be the same at both, since durations are in scaled terms.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.checks.quiet import (
    PENDING_SHARE,
    Baseline,
    episodes,
    lookback_s,
    quiet_in_baseline,
)
from harness.checks.results import Check
from harness.observe.prometheus import AlertSample
from harness.spec.timescale import Timing

T0 = 1_795_000_000.0
FOR_REAL_S = 300.0  # DbPoolSaturated, ApiHighLatencyP95: `for: 5m`
JOB = (("job", "core"), ("receiver", "oncall"), ("severity", "SEV-2"))
SCALES = [60.0, 1.0]


class Grid:
    """A scenario at one time scale: warm-up, baseline, the evaluation interval, `for`."""

    def __init__(self, scale: float, baseline_real_s: float = 300.0) -> None:
        self.timing = Timing.for_scale(scale, 300.0)  # the catalogue's shortest window, 5m
        self.tick = self.timing.eval_interval_s
        self.for_s = FOR_REAL_S / scale
        self.load_start = T0
        self.b0 = T0 + 300.0 / scale  # warm-up 5m
        self.b1 = self.b0 + baseline_real_s / scale
        self.window = Baseline(self.b0, self.b1, self.load_start, self.tick)

    def evaluation(self, n: int) -> float:
        """The n-th evaluation of the baseline (0: the first one inside it)."""
        return self.b0 + 0.3 * self.tick + n * self.tick

    def pending(self, first: int, count: int, alert: str = "DbPoolSaturated") -> list[AlertSample]:
        return [
            AlertSample(alert, "pending", JOB, self.evaluation(n))
            for n in range(first, first + count)
        ]

    def evaluations(self, share_of_for: float) -> int:
        """How many consecutive evaluations hold for `share_of_for` of `for` (held = n - 1)."""
        return round(share_of_for * self.for_s / self.tick) + 1

    def check(
        self, samples: list[AlertSample], notified: tuple[str, ...] = (), for_s: float | None = None
    ) -> Check:
        watched = {"DbPoolSaturated": self.for_s if for_s is None else for_s, "Other": 1.0}
        return quiet_in_baseline("healthy", watched, samples, notified, self.window)


@pytest.mark.parametrize("scale", SCALES)
def test_a_one_evaluation_blip_passes_and_is_listed_as_a_warning(scale: float) -> None:
    g = Grid(scale)
    check = g.check(g.pending(first=3, count=1))
    assert check.passed, check.message
    assert "1 shorter pending blip(s), listed as warnings" in check.message
    (warning,) = check.warnings
    assert warning.kind == "pending_blip"
    assert warning.alert == "DbPoolSaturated"
    assert warning.at == g.evaluation(3)
    assert warning.offset_s == pytest.approx(g.evaluation(3) - g.load_start, abs=1e-3)
    assert warning.duration_s == 0.0
    clock = datetime.fromtimestamp(g.evaluation(3), UTC).strftime("%H:%M:%S")
    assert clock in warning.message
    assert 'DbPoolSaturated{job="core"} pending at 1 evaluation(s)' in warning.message
    assert "severity" not in warning.message  # the rule's own labels say nothing


@pytest.mark.parametrize("scale", SCALES)
def test_pending_for_the_stated_share_of_for_fails_and_just_below_passes(scale: float) -> None:
    g = Grid(scale, baseline_real_s=900.0)
    below = g.check(g.pending(first=2, count=g.evaluations(PENDING_SHARE) - 1))
    assert below.passed, below.message
    assert len(below.warnings) == 1
    at_share = g.check(g.pending(first=2, count=g.evaluations(PENDING_SHARE)))
    assert not at_share.passed
    assert "DbPoolSaturated" in at_share.message
    assert "at least 50% of its" in at_share.message
    assert at_share.warnings == ()  # a failure is in the message, not also a warning


@pytest.mark.parametrize("scale", SCALES)
def test_the_part_of_an_episode_before_the_baseline_counts(scale: float) -> None:
    g = Grid(scale, baseline_real_s=900.0)
    # Pending since 40% of `for` before the baseline, 15% of it inside: 55% held in all.
    before = g.evaluations(0.4)
    samples = g.pending(first=-before, count=before + g.evaluations(0.15))
    check = g.check(samples)
    assert not check.passed
    assert "pending for" in check.message
    inside_only = g.check([s for s in samples if s.timestamp >= g.b0])
    assert inside_only.passed  # the same samples cut at the baseline would have hidden it


@pytest.mark.parametrize("scale", SCALES)
def test_pending_throughout_a_baseline_shorter_than_the_share_fails(scale: float) -> None:
    g = Grid(scale, baseline_real_s=120.0)  # 2m: less than half of a 5m `for`
    assert g.b1 - g.b0 < PENDING_SHARE * g.for_s
    whole = [s for s in g.pending(first=-1, count=20) if s.timestamp <= g.b1]
    check = g.check(whole)
    assert not check.passed
    assert "DbPoolSaturated" in check.message
    assert "pending throughout the baseline" in check.message


@pytest.mark.parametrize("scale", SCALES)
def test_any_firing_or_notification_of_a_watched_alert_fails(scale: float) -> None:
    g = Grid(scale)
    firing = [AlertSample("DbPoolSaturated", "firing", JOB, g.evaluation(4))]
    check = g.check(firing)
    assert not check.passed
    assert 'DbPoolSaturated{job="core"} firing' in check.message
    notified = g.check([], notified=("DbPoolSaturated",))
    assert not notified.passed
    assert "DbPoolSaturated notified" in notified.message


def test_an_alert_without_for_fails_on_any_firing() -> None:
    g = Grid(60.0)
    brute = [AlertSample("DbPoolSaturated", "firing", JOB, g.evaluation(0))]
    check = g.check(brute, for_s=0.0)
    assert not check.passed
    assert "firing" in check.message


def test_a_gap_longer_than_one_and_a_half_evaluations_splits_episodes() -> None:
    g = Grid(60.0, baseline_real_s=900.0)
    n = g.evaluations(0.3)
    split = g.pending(first=0, count=n) + g.pending(first=n + 1, count=n)  # one missing
    check = g.check(split)
    assert check.passed, check.message
    assert len(check.warnings) == 2
    joined = g.check(g.pending(first=0, count=2 * n + 1))
    assert not joined.passed


def test_unwatched_alerts_and_episodes_over_before_the_baseline_are_ignored() -> None:
    g = Grid(60.0)
    other = g.pending(first=0, count=30, alert="NotWatched")
    earlier = g.pending(first=-6, count=3)  # ended two evaluations before the baseline
    check = g.check(other + earlier)
    assert check.passed
    assert check.warnings == ()
    assert "none of 2 alert(s)" in check.message


def test_episodes_are_per_label_set_and_state() -> None:
    g = Grid(60.0)
    web = (("job", "webhook"),)
    samples = [
        *g.pending(first=0, count=3),
        AlertSample("DbPoolSaturated", "pending", web, g.evaluation(1)),
        AlertSample("DbPoolSaturated", "firing", JOB, g.evaluation(3)),
    ]
    found = episodes(samples, g.tick)
    assert [(e.series, e.state, e.evaluations) for e in found] == [
        ('DbPoolSaturated{job="core"}', "pending", 3),
        ('DbPoolSaturated{job="webhook"}', "pending", 1),
        ('DbPoolSaturated{job="core"}', "firing", 1),
    ]


def test_lookback_reaches_the_start_of_any_episode_still_pending() -> None:
    assert lookback_s({"A": 5.0, "B": 10.0}, 0.625) == 11.25
    assert lookback_s({}, 0.625) == 1.25
