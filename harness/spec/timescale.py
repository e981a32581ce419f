"""Time scaling: the catalogue keeps real durations, test runs compress them.

A scale of 60 turns `for: 5m` into 5 s and `rate(x[5m])` into `rate(x[5s])`. Scrape and
evaluation intervals follow from the shortest scaled window so every window holds enough
samples; alert budgets are computed from the same numbers (see `budget`).

One run, one scale, one interval; per alert, an *effective* scale. A run has a single time
scale (default 150) and a single scrape/evaluation interval (`Timing`). Almost every alert runs
at that scale. An alert whose shortest window is far longer than the run's (the 3-day / 6-hour
ticket burn-rate alerts: 72 minutes at scale 60) may opt into compression (`test_scale:
compress` in alerts.yaml); its effective scale is then

    max(run scale, S)   where S = its shortest window / (MIN_SAMPLES_PER_WINDOW x interval)

snapped down to an integer under which one minute is a whole number of milliseconds
(`compressed_scale`). The compressed alert keeps MIN_SAMPLES_PER_WINDOW samples in its shortest
window, so its rate() is as trustworthy as every other alert's; its rules, its budget and its
promtool tests all use that one effective scale. Scale 1 is production and is never
compressed: production rules always carry the real durations.

Why opt-in, not a rule for all: compressing an alert more than the run changes its timing
relative to the scenario's phases and to the other alerts (a 10-minute alert compressed to
5 seconds would fire in a fault that, at the run's scale, lasts 3 production minutes). Only
alerts that could not be proven at all at the run's scale pay that price.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")

# Every window must hold at least this many scrapes for rate() to be meaningful.
MIN_SAMPLES_PER_WINDOW = 8
# Faster than this costs too much CPU on a 2-core machine (measured, see README).
MIN_INTERVAL_S = 0.2
MAX_INTERVAL_S = 15.0
# Alertmanager rejects a group_interval of 0; 100 ms is accepted.
MIN_GROUP_INTERVAL_S = 0.1
# A compressed scale maps one minute to a whole number of milliseconds that divides a minute
# evenly, so every whole-minute duration of the catalogue scales without rounding.
_MS_PER_MINUTE = 60_000
PRODUCTION_SCALE = 1.0
# What a run uses unless told otherwise: 5m windows last 2 s, scraped every 0.25 s, so the whole
# catalogue is proven in about two minutes (measured, see README).
DEFAULT_TIME_SCALE = 150.0


def parse_duration(text: str) -> float:
    """Parse a Prometheus duration such as `5m`, `1h30m` or `250ms` into seconds."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30s, 5m, 1h30m)")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds as a Prometheus duration, in whole milliseconds at least.

    Zero stays `0s` (a valid `for` or `group_wait`); any positive value is at least `1ms`, so a
    heavily scaled range window never collapses to the invalid `[0s]`.
    """
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"cannot render {seconds!r} s as a duration")
    if seconds == 0:
        return "0s"
    ms = max(1, round(seconds * 1000))
    if ms % 1000:
        return f"{ms}ms"
    s = ms // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def max_time_scale(shortest_window_s: float) -> float:
    """The largest scale a run can honour: its shortest window still holds
    MIN_SAMPLES_PER_WINDOW samples at the fastest interval, MIN_INTERVAL_S."""
    return shortest_window_s / (MIN_SAMPLES_PER_WINDOW * MIN_INTERVAL_S)


def scale_problem(scale: float, shortest_window_s: float) -> str | None:
    """Why a run cannot use `scale`, with the range it can; None when it can."""
    top = max_time_scale(shortest_window_s)
    allowed = f"give a time scale from {PRODUCTION_SCALE:g} (real durations) to {top:g}"
    if not math.isfinite(scale):
        return f"{scale} is not a finite number; {allowed}"
    if scale < PRODUCTION_SCALE:
        return f"{scale:g} is below {PRODUCTION_SCALE:g}; {allowed}"
    if scale > top:
        window = format_duration(shortest_window_s)
        return (
            f"{scale:g} is above {top:g}: the shortest window ({window}) would last "
            f"{shortest_window_s / scale:.3g} s, less than {MIN_SAMPLES_PER_WINDOW} samples at "
            f"the fastest scrape interval ({MIN_INTERVAL_S:g} s), so no rate could be trusted; "
            f"{allowed}"
        )
    return None


@dataclass(frozen=True)
class Timing:
    """Intervals one run uses; all in seconds."""

    time_scale: float
    scrape_interval_s: float
    eval_interval_s: float
    group_wait_s: float
    group_interval_s: float
    resend_delay_s: float

    @classmethod
    def for_scale(cls, scale: float, shortest_window_s: float) -> Timing:
        """Pick intervals so the shortest scaled window holds enough samples."""
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"time scale must be a positive number, got {scale}")
        window = shortest_window_s / scale
        # Whole milliseconds, rounded down: rounding up could leave a window one sample short.
        interval = math.floor(window / MIN_SAMPLES_PER_WINDOW * 1000) / 1000
        interval = min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, interval))
        return cls(
            time_scale=scale,
            scrape_interval_s=interval,
            eval_interval_s=interval,
            group_wait_s=0.0,
            group_interval_s=max(MIN_GROUP_INTERVAL_S, interval),
            resend_delay_s=max(interval, 1.0),
        )

    def at_scale(self, scale: float) -> Timing:
        """The same intervals under another time scale (an alert's effective scale)."""
        return self if scale == self.time_scale else replace(self, time_scale=scale)


def compressed_scale(run_scale: float, windows_s: Iterable[float], interval_s: float) -> float:
    """Effective scale of an alert that opted into compression (see the module docstring).

    The largest integer scale, not below `run_scale`, that leaves the shortest of `windows_s`
    at least MIN_SAMPLES_PER_WINDOW intervals long and maps one minute to a whole number of
    milliseconds. Production (scale 1) is never compressed; an alert without windows keeps
    the run's scale.
    """
    if run_scale <= PRODUCTION_SCALE:
        return run_scale
    shortest = min(windows_s, default=0.0)
    widest = shortest / (MIN_SAMPLES_PER_WINDOW * interval_s)
    if widest <= run_scale:
        return run_scale
    ms_per_minute = math.ceil(_MS_PER_MINUTE / widest)
    while _MS_PER_MINUTE % ms_per_minute:
        ms_per_minute += 1
    return max(run_scale, _MS_PER_MINUTE / ms_per_minute)


@dataclass(frozen=True)
class AlertBudget:
    """How soon an alert can fire at best (floor) and at worst (budget), from fault start."""

    floor_s: float
    budget_s: float
    resolve_budget_s: float

    def after(self, onset_s: float) -> AlertBudget:
        """The budget when the symptom starts `onset_s` after the fault (floor unchanged)."""
        if onset_s <= 0:
            return self
        return AlertBudget(self.floor_s, round(self.budget_s + onset_s, 3), self.resolve_budget_s)


def budget(timing: Timing, window_s: float, for_s: float) -> AlertBudget:
    """Budget for a step fault: the window may need to fill, then `for` must elapse.

    Worst case adds one scrape (the first failing sample), one evaluation to notice, one more
    evaluation to promote pending to firing, and Alertmanager's group wait + interval.
    Resolving needs the window to drain, plus a scrape and an evaluation.
    """
    w = window_s / timing.time_scale
    f = for_s / timing.time_scale
    slack = timing.scrape_interval_s + 2 * timing.eval_interval_s
    delivery = timing.group_wait_s + timing.group_interval_s
    return AlertBudget(
        floor_s=f,
        budget_s=round(w + f + slack + delivery, 3),
        resolve_budget_s=round(w + slack + delivery, 3),
    )
