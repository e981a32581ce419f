"""Whether valid inputs can run where and how they are asked to, checked before anything starts.

A scenario can be valid on its own and still not runnable: a name on the command line that
matches no scenario would run nothing, a proxy the target does not have fails only when the
fault is applied, a time scale too high leaves windows no sample can fill,
a fixed hold shorter than one scrape is over before any sample sees it. Each is reported as a
`Problem` naming the file (or the command line) and the field, with the range that would work.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterable

from harness.errors import ConfigError, Problem
from harness.spec.catalog import Catalog
from harness.spec.faults import UNTIL_EXPECTATIONS, ProxyFault
from harness.spec.scenario import Scenario
from harness.spec.timescale import Timing, format_duration

COMMAND_LINE = "command line"


def timing_or_problem(
    catalog: Catalog, scale: float, file: str, field: str
) -> tuple[Timing | None, list[Problem]]:
    """The run's timing at `scale`, or the problem naming `file` and `field` when the run
    could not honour that scale (not finite, below 1, or windows too short to sample)."""
    try:
        return catalog.timing(scale), []
    except ValueError as exc:
        return None, [Problem(file, field, str(exc))]


def checked_timing(catalog: Catalog, scale: float, file: str, field: str) -> Timing:
    """As `timing_or_problem`, raising ConfigError with the problem."""
    timing, problems = timing_or_problem(catalog, scale, file, field)
    if timing is None:
        raise ConfigError(problems)
    return timing


def closest(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss of `name`, else an empty string."""
    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def selection_problems(wanted: Iterable[str], known: Collection[str]) -> list[Problem]:
    """A problem for each scenario name asked for that no scenario has, naming the known ones."""
    listed = ", ".join(sorted(known)) or "none"
    return [
        Problem(
            COMMAND_LINE,
            "scenario",
            f"no scenario is named {name!r}{closest(name, known)}; the suite has: {listed}",
        )
        for name in dict.fromkeys(wanted)
        if name not in known
    ]


def proxy_problems(
    file: str, scenario: Scenario, known: Collection[str], owner: str
) -> list[Problem]:
    """Every fault on a Toxiproxy proxy that `owner` (e.g. `the local target`) does not have."""
    problems: list[Problem] = []
    for i, fault in enumerate(scenario.faults):
        if not isinstance(fault, ProxyFault) or fault.proxy in known:
            continue
        reason = (
            f"unknown proxy {fault.proxy!r}{closest(fault.proxy, known)}; "
            f"{owner} has: {', '.join(sorted(known)) or 'none'}"
        )
        problems.append(Problem(file, f"faults[{i}].proxy", reason))
    return problems


def timing_problems(file: str, scenario: Scenario, timing: Timing) -> list[Problem]:
    """The baseline and every fixed hold must last at least one scrape at the run's scale:
    shorter, no sample can see them and their checks would pass on nothing."""
    timed = [("phases.baseline", scenario.phases.baseline_s)]
    timed += [
        (f"faults[{i}].hold", float(f.hold))
        for i, f in enumerate(scenario.faults)
        if f.hold != UNTIL_EXPECTATIONS
    ]
    scale, interval = timing.time_scale, timing.scrape_interval_s
    shortest = format_duration(math.ceil(interval * scale))
    return [
        Problem(
            file,
            field,
            f"{format_duration(seconds)} lasts {seconds / scale:.3g} s at time scale {scale:g}, "
            f"less than one scrape interval ({interval:g} s), so no sample would see it; "
            f"at this scale it must be at least {shortest}",
        )
        for field, seconds in timed
        if seconds / scale < interval
    ]
