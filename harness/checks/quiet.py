"""The quiet baseline: a healthy window judged the way Prometheus judges an alert, by how long
its condition held against the alert's `for`.

A watched alert fails the baseline when, at any evaluation inside it,
- it was firing, or Alertmanager delivered a firing notification of it; or
- it was pending in an episode that held for at least PENDING_SHARE of its scaled `for`,
  counted from the episode's first evaluation even when that came before the baseline; or
- it was pending at every evaluation of the baseline (a baseline shorter than the share cannot
  show the episode holding longer, and a condition true throughout is a noisy rule).
Any shorter pending episode passes, and is listed as a warning with its time and duration.

Episodes come from the `ALERTS` series, one sample per evaluation while the alert is active:
samples of one label set in one state belong to one episode while they are at most
SPLIT_GAP evaluation intervals apart; a longer gap means the condition was false at an
evaluation in between, which is where Prometheus restarts `for` too. Every duration is in
scaled terms (the alert's `for` and the evaluation interval at the run's time scale), so the
criterion means the same at scale 1 as at 60.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.checks.results import Check, CheckWarning
from harness.observe.prometheus import AlertSample

# Half: an episode that held half of `for` is one like it away from paging someone, while the
# healthy blips measured hold one or two evaluations (an eighth of `for` at most).
PENDING_SHARE = 0.5
SPLIT_GAP = 1.5  # evaluation intervals between samples of one episode, at most
BLIP = "pending_blip"
# Labels every sample of a rule carries: they say nothing about which series was active.
_RULE_LABELS = frozenset({"severity", "receiver"})


@dataclass(frozen=True)
class Baseline:
    """The healthy window and what its episodes are measured against."""

    start: float
    end: float
    load_start: float  # warnings give their time as an offset from here
    eval_interval_s: float

    @property
    def length_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Episode:
    """One alert series active in one state at consecutive evaluations."""

    alert: str
    labels: tuple[tuple[str, str], ...]
    state: str
    first: float
    last: float
    evaluations: int

    @property
    def held_s(self) -> float:
        """How long Prometheus counts the alert as held: first to last evaluation."""
        return self.last - self.first

    @property
    def series(self) -> str:
        shown = [f'{k}="{v}"' for k, v in self.labels if k not in _RULE_LABELS]
        return self.alert + (f"{{{','.join(shown)}}}" if shown else "")


def lookback_s(for_s: Mapping[str, float], eval_interval_s: float) -> float:
    """How far before the baseline an episode reaching into it may have begun: a pending
    episode longer than `for` would have turned into firing."""
    return max(for_s.values(), default=0.0) + 2 * eval_interval_s


def episodes(samples: Iterable[AlertSample], eval_interval_s: float) -> list[Episode]:
    """Samples grouped into episodes, per label set and state, in order of their start."""
    by_series: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[float]] = {}
    for s in samples:
        by_series.setdefault((s.name, s.state, s.labels), []).append(s.timestamp)
    found: list[Episode] = []
    for (name, state, labels), stamps in by_series.items():
        stamps.sort()
        run = [stamps[0]]
        for t in stamps[1:]:
            if t - run[-1] > SPLIT_GAP * eval_interval_s:
                found.append(Episode(name, labels, state, run[0], run[-1], len(run)))
                run = []
            run.append(t)
        found.append(Episode(name, labels, state, run[0], run[-1], len(run)))
    return sorted(found, key=lambda e: (e.first, e.alert))


def quiet_in_baseline(
    scenario: str,
    for_s: Mapping[str, float],
    samples: Sequence[AlertSample],
    notified: Iterable[str],
    window: Baseline,
) -> Check:
    """Judge the watched alerts (`for_s`: each one's scaled `for`) over the baseline.

    `samples` are the `ALERTS` samples from `lookback_s` before the baseline to its end;
    `notified` the alerts Alertmanager delivered firing during it.
    """
    seen = [
        e
        for e in episodes(samples, window.eval_interval_s)
        if e.alert in for_s and e.last >= window.start
    ]
    judged = [(e, _failure(e, for_s[e.alert], window)) for e in seen]
    failures = [why for _, why in judged if why is not None]
    failures += [f"{name} notified" for name in sorted(set(notified) & set(for_s))]
    warnings = tuple(_blip(e, for_s[e.alert], window) for e, why in judged if why is None)
    if failures:
        msg = f"expected silence in the {window.length_s:.1f} s healthy baseline; saw " + "; ".join(
            failures
        )
    else:
        msg = (
            f"none of {len(for_s)} alert(s) fired, was notified or held pending for "
            f"{PENDING_SHARE:.0%} of its `for` in the {window.length_s:.1f} s baseline"
        )
        if warnings:
            msg += f"; {len(warnings)} shorter pending blip(s), listed as warnings"
    return Check(
        id=f"{scenario}::baseline_quiet",
        kind="baseline_quiet",
        scenario=scenario,
        passed=not failures,
        message=msg,
        warnings=warnings,
    )


def _failure(e: Episode, for_s: float, window: Baseline) -> str | None:
    """Why the episode fails the baseline, or None when it is a blip."""
    when = _when(e, window)
    if e.state != "pending":
        return f"{e.series} {e.state} ({when})"
    limit = PENDING_SHARE * for_s
    if e.held_s >= limit:
        return (
            f"{e.series} pending for {e.held_s:.2f} s ({when}), at least {PENDING_SHARE:.0%} "
            f"of its {for_s:.2f} s `for`"
        )
    tick = window.eval_interval_s
    if e.first <= window.start + tick and e.last >= window.end - tick:
        return f"{e.series} pending throughout the baseline ({when}, held {e.held_s:.2f} s)"
    return None


def _blip(e: Episode, for_s: float, window: Baseline) -> CheckWarning:
    message = (
        f"{e.series} pending at {e.evaluations} evaluation(s) ({_when(e, window)}), held "
        f"{e.held_s:.2f} s of its {for_s:.2f} s `for` (the baseline fails at "
        f"{PENDING_SHARE * for_s:.2f} s)"
    )
    return CheckWarning(
        kind=BLIP,
        message=message,
        alert=e.alert,
        at=e.first,
        offset_s=round(e.first - window.load_start, 3),
        duration_s=round(e.held_s, 3),
    )


def _when(e: Episode, window: Baseline) -> str:
    clock = datetime.fromtimestamp(e.first, UTC).strftime("%H:%M:%S.%f")[:-3]
    return f"from {e.first - window.load_start:.2f} s into the scenario, {clock} UTC"
