"""Regressions between two runs of the ledger: what worked before and no longer does.

Kinds, each with a message naming the scenario and alert:

- alert_no_longer_fires: it fired within budget before; now it never fired.
- alert_late: it fired within budget before; now it fired past its budget.
- time_to_alert_grew: it fired in both, and time to firing grew by more than `ratio` (and by
  at least `min_growth_s`, so sub-second jitter of a noisy machine is not a regression).
- alert_no_longer_delivered / alert_no_longer_resolves: those checks passed before, fail now.
- new_baseline_noise: a scenario's baseline was quiet (or nothing unexpected fired) before;
  now something fired.
- coverage_lost: an alert covered by the earlier run is not covered by the later one (only
  when the later run is complete: a run of selected scenarios proves no loss).
- scenario_missing: a scenario of the earlier run did not run, in a complete later run.

A check flaky on the later run's revision (it passed and failed on that revision, per the
ledger's marks, or between the two runs when they share a revision) is not a regression: it is
listed apart (`flaky`), since its verdict says nothing about the change between the runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.report.ledger import (
    AlertEntry,
    Ledger,
    LedgerRun,
    Regression,
    append_run,
    flaky_record,
    load_ledger,
    previous_comparable,
)

DEFAULT_RATIO = 1.5
# The check each alert regression is about: its verdict (or its time) regressed.
_CHECK_OF = {
    "alert_no_longer_fires": "alert_fires",
    "alert_late": "alert_fires",
    "time_to_alert_grew": "alert_fires",
    "alert_no_longer_delivered": "alert_delivered",
    "alert_no_longer_resolves": "alert_resolves",
}
DEFAULT_MIN_GROWTH_S = 2.0


@dataclass(frozen=True)
class Recorded:
    """A run as the ledger took it: its regressions against the previous comparable run
    (None: there was none to compare with) and its checks flaky on its revision."""

    regressions: list[Regression] | None
    flaky: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffOptions:
    ratio: float = DEFAULT_RATIO
    min_growth_s: float = DEFAULT_MIN_GROWTH_S


def compare(
    before: LedgerRun, after: LedgerRun, options: DiffOptions | None = None
) -> list[Regression]:
    """What regressed from `before` to `after`; flaky checks (see `flaky`) left out."""
    opts = options or DiffOptions()
    found: list[Regression] = []
    for old in before.alerts:
        new = after.alert(old.scenario, old.alert)
        if new is not None:
            found += _alert_regressions(old, new, opts)
    found += _noise_regressions(before, after)
    if after.complete:
        found += _coverage_regressions(before, after)
    shaky = set(flaky(before, after))
    return [r for r in found if r.check not in shaky]


def flaky(before: LedgerRun, after: LedgerRun) -> list[str]:
    """Checks of `after` flaky on its revision: marked so in the ledger, or with another
    verdict in `before` when both runs share a revision."""
    found = set(after.flaky)
    if before.same_revision(after):
        found |= {c for c, v in after.verdicts.items() if before.verdicts.get(c, v) != v}
    return sorted(found)


def flaky_lines(run: LedgerRun, checks: list[str], ledger_path: Path) -> list[str]:
    """One line per flaky check: its id, and its record on the revision when the ledger
    holds the run."""
    ledger = load_ledger(ledger_path) if ledger_path.is_file() else Ledger()
    known = any(r.run_id == run.run_id for r in ledger.runs)
    where = run.revision.label if run.revision else "this revision"
    lines = []
    for check in checks:
        passed, ran = flaky_record(ledger, run, check) if known else (0, 0)
        record = f"passed {passed} of {ran} run(s)" if ran else "passed and failed"
        lines.append(f"{check}: {record} of revision {where}")
    return lines


def record_run(reports_dir: Path, results: dict[str, Any]) -> Recorded:
    """Append the run to `<reports>/ledger.json`, marking flaky checks; its regressions against
    the previous comparable run (same target and time scale) and its flaky checks."""
    ledger, run = append_run(reports_dir, results)
    return Recorded(against_previous(ledger, run), run.flaky)


def against_previous(ledger: Ledger, run: LedgerRun) -> list[Regression] | None:
    """`run`'s regressions against the previous comparable run of `ledger`; None: no such run."""
    before = previous_comparable(ledger, run)
    return compare(before, run) if before is not None else None


def _alert_regressions(old: AlertEntry, new: AlertEntry, opts: DiffOptions) -> list[Regression]:
    def regression(kind: str, message: str) -> Regression:
        check = f"{old.scenario}::{_CHECK_OF[kind]}::{old.alert}"
        return Regression(
            kind, old.scenario, old.alert, f"{old.alert} in {old.scenario}: {message}", check
        )

    out: list[Regression] = []
    if old.fires and not new.fires:
        if new.time_to_firing_s is None:
            out.append(
                regression(
                    "alert_no_longer_fires",
                    f"fired in {_s(old.time_to_firing_s)} before; never fired now",
                )
            )
        else:
            out.append(
                regression(
                    "alert_late",
                    f"fired in {_s(new.time_to_firing_s)}, past its budget of "
                    f"{_s(new.budget_s)} (before: {_s(old.time_to_firing_s)})",
                )
            )
    elif old.fires and new.fires and _grew(old.time_to_firing_s, new.time_to_firing_s, opts):
        out.append(
            regression(
                "time_to_alert_grew",
                f"time to firing grew from {_s(old.time_to_firing_s)} to "
                f"{_s(new.time_to_firing_s)} (more than x{opts.ratio:g})",
            )
        )
    if old.delivered and new.delivered is False:
        out.append(
            regression(
                "alert_no_longer_delivered", "its notification reached the receiver before; not now"
            )
        )
    if old.resolves and new.resolves is False:
        out.append(
            regression("alert_no_longer_resolves", "it resolved within budget before; not now")
        )
    return out


def _grew(old: float | None, new: float | None, opts: DiffOptions) -> bool:
    if old is None or new is None:
        return False
    return new > old * opts.ratio and new - old >= opts.min_growth_s


def _noise_regressions(before: LedgerRun, after: LedgerRun) -> list[Regression]:
    out = []
    for old in before.noise:
        new = after.noise_of(old.scenario, old.kind)
        if old.passed and new is not None and not new.passed:
            out.append(
                Regression(
                    "new_baseline_noise",
                    old.scenario,
                    None,
                    f"{old.scenario} ({old.kind}) was quiet before; now: {new.message}",
                    f"{old.scenario}::{old.kind}",
                )
            )
    return out


def _coverage_regressions(before: LedgerRun, after: LedgerRun) -> list[Regression]:
    lost = [
        Regression(
            "coverage_lost",
            None,
            alert,
            f"{alert} was covered by run {before.run_id}; not by {after.run_id}",
            f"coverage::{alert}",
        )
        for alert in before.covered
        if alert not in after.covered
    ]
    missing = [
        Regression(
            "scenario_missing",
            name,
            None,
            f"scenario {name} ran in {before.run_id}; not in {after.run_id}",
        )
        for name in before.scenarios
        if name not in after.scenarios
    ]
    return lost + missing


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"
