"""The coverage gate: every catalogue alert proven to fire, and proven quiet when healthy.

An alert is covered when some scenario's `alert_fires` check for it passed and some
scenario's passing `baseline_quiet` check watched it. The gate applies to a full run (every
scenario file); a run of selected scenarios reports coverage without failing on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks.results import Check, ScenarioResult


@dataclass(frozen=True)
class AlertCoverage:
    alert: str
    fired_in: tuple[str, ...]  # scenarios whose alert_fires check passed
    quiet_in: tuple[str, ...]  # scenarios whose passing baseline watched it

    @property
    def covered(self) -> bool:
        return bool(self.fired_in) and bool(self.quiet_in)


def coverage(alerts: tuple[str, ...], results: list[ScenarioResult]) -> list[AlertCoverage]:
    fired: dict[str, list[str]] = {a: [] for a in alerts}
    quiet: dict[str, list[str]] = {a: [] for a in alerts}
    for r in results:
        for c in r.checks:
            if c.kind == "alert_fires" and c.passed and c.alert in fired:
                fired[c.alert].append(r.scenario)
            if c.kind == "baseline_quiet" and c.passed:
                for name in r.quiet_watched:
                    if name in quiet:
                        quiet[name].append(r.scenario)
    return [AlertCoverage(a, tuple(fired[a]), tuple(quiet[a])) for a in alerts]


def coverage_checks(entries: list[AlertCoverage]) -> list[Check]:
    return [_check(e) for e in entries]


def _check(e: AlertCoverage) -> Check:
    if e.covered:
        fired = ", ".join(e.fired_in)
        msg = f"{e.alert} proven firing in {fired}; quiet in {len(e.quiet_in)} baseline(s)"
    else:
        missing = []
        if not e.fired_in:
            missing.append("no scenario proved it fires")
        if not e.quiet_in:
            missing.append("no passing healthy baseline watched it")
        msg = f"expected {e.alert} covered by the suite; " + " and ".join(missing)
    return Check(
        id=f"coverage::{e.alert}",
        kind="coverage",
        scenario="(suite)",
        passed=e.covered,
        message=msg,
        alert=e.alert,
    )
