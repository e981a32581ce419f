"""The alert-coverage ledger: every run's alert verdicts and timings, kept across runs.

`reports/ledger.json` holds one entry per run, oldest first. Each entry is distilled from the
run's results.json, so the ledger survives the deletion of old run folders and two runs can be
compared (harness/report/diff.py) long after the fact.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import ReportError
from harness.report.revision import Revision

LEDGER_FILE = "ledger.json"
LEDGER_VERSION = 1
ALERT_KINDS = ("alert_fires", "alert_delivered", "alert_resolves")
NOISE_KINDS = ("baseline_quiet", "no_unexpected_alerts")


@dataclass(frozen=True)
class AlertEntry:
    """One alert in one scenario of one run: its checks' verdicts and measured times."""

    scenario: str
    alert: str
    fires: bool | None  # None: the run had no such check
    delivered: bool | None
    resolves: bool | None
    time_to_firing_s: float | None
    time_to_notification_s: float | None
    time_to_resolved_s: float | None
    budget_s: float | None


@dataclass(frozen=True)
class NoiseEntry:
    """A scenario's noise checks: quiet baseline, nothing unexpected during the fault."""

    scenario: str
    kind: str
    passed: bool
    message: str


@dataclass(frozen=True)
class LedgerRun:
    run_id: str
    started_at: str | None
    target: str
    time_scale: float
    passed: bool
    complete: bool  # every scenario ran, so coverage is meaningful
    scenarios: tuple[str, ...]
    covered: tuple[str, ...]
    uncovered: tuple[str, ...]
    alerts: tuple[AlertEntry, ...] = ()
    noise: tuple[NoiseEntry, ...] = ()
    revision: Revision | None = None  # None: a run recorded before revisions were
    verdicts: dict[str, bool] = field(default_factory=dict)  # every check id -> passed
    flaky: tuple[str, ...] = ()  # checks that passed and failed on this run's revision

    def same_revision(self, other: LedgerRun) -> bool:
        """Same code, suite and conditions, on the same target at the same time scale."""
        if self.revision is None or other.revision is None:
            return False
        mine = (self.revision.key, self.target, self.time_scale)
        return mine == (other.revision.key, other.target, other.time_scale)

    def alert(self, scenario: str, alert: str) -> AlertEntry | None:
        return next((a for a in self.alerts if (a.scenario, a.alert) == (scenario, alert)), None)

    def noise_of(self, scenario: str, kind: str) -> NoiseEntry | None:
        return next((n for n in self.noise if (n.scenario, n.kind) == (scenario, kind)), None)


@dataclass(frozen=True)
class Regression:
    """Something that worked in the earlier run and no longer does in the later one."""

    kind: str  # alert_no_longer_fires | alert_late | time_to_alert_grew | ... (diff.py)
    scenario: str | None
    alert: str | None
    message: str
    check: str | None = None  # the id of the check whose verdict or time regressed


@dataclass
class Ledger:
    runs: list[LedgerRun] = field(default_factory=list)

    def find(self, run_id: str) -> LedgerRun:
        for run in self.runs:
            if run.run_id == run_id:
                return run
        known = ", ".join(r.run_id for r in self.runs[-5:]) or "none"
        raise ReportError(f"run {run_id!r} is not in the ledger (latest: {known})")


def run_from_results(results: dict[str, Any]) -> LedgerRun:
    """Distil one results.json document (schema v1) into a ledger entry."""
    try:
        checks = results["checks"]
        coverage = results["coverage"]
        return LedgerRun(
            run_id=str(results["run_id"]),
            started_at=results.get("started_at"),
            target=str(results.get("target", "local")),
            time_scale=float(results["time_scale"]),
            passed=bool(results["passed"]),
            complete=bool(coverage["gated"]),
            scenarios=tuple(s["name"] for s in results["scenarios"]),
            covered=tuple(a["alert"] for a in coverage["alerts"] if a["covered"]),
            uncovered=tuple(a["alert"] for a in coverage["alerts"] if not a["covered"]),
            alerts=_alert_entries(checks),
            noise=tuple(
                NoiseEntry(c["scenario"], c["kind"], bool(c["passed"]), c["message"])
                for c in checks
                if c["kind"] in NOISE_KINDS
            ),
            revision=Revision(**results["revision"]) if results.get("revision") else None,
            verdicts={str(c["id"]): bool(c["passed"]) for c in checks},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"not a results.json of schema v1: missing or bad {exc}") from exc


def _alert_entries(checks: list[dict[str, Any]]) -> tuple[AlertEntry, ...]:
    by_key: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for c in checks:
        if c["kind"] in ALERT_KINDS and c.get("alert"):
            by_key.setdefault((c["scenario"], c["alert"]), {})[c["kind"]] = c
    entries = []
    for (scenario, alert), kinds in by_key.items():
        first = next(iter(kinds.values()))

        def verdict(kind: str, kinds: dict[str, dict[str, Any]] = kinds) -> bool | None:
            return bool(kinds[kind]["passed"]) if kind in kinds else None

        entries.append(
            AlertEntry(
                scenario=scenario,
                alert=alert,
                fires=verdict("alert_fires"),
                delivered=verdict("alert_delivered"),
                resolves=verdict("alert_resolves"),
                time_to_firing_s=first.get("time_to_firing_s"),
                time_to_notification_s=first.get("time_to_notification_s"),
                time_to_resolved_s=first.get("time_to_resolved_s"),
                budget_s=first.get("budget_s"),
            )
        )
    return tuple(entries)


def read_results(path: Path) -> dict[str, Any]:
    """A results.json, given itself or the run folder holding it."""
    file = path / "results.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError as exc:
        raise ReportError(f"{file}: no such results file") from exc
    except (OSError, ValueError) as exc:
        raise ReportError(f"{file}: cannot read results: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{file}: not a results object")
    return data


LEDGER_SHAPE = 'a JSON object {"schema_version": 1, "runs": [...]}'


def load_ledger(path: Path) -> Ledger:
    if not path.exists():
        return Ledger()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the ledger: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        if not isinstance(data, dict):
            what = f"it is {_json_kind(data)}"
        elif "runs" not in data:
            what = "it has no runs"
        else:
            what = f"its runs are {_json_kind(data['runs'])}"
        raise ReportError(
            f"{path}: not a ledger: expected {LEDGER_SHAPE}, {what}; move the file "
            "aside to start a new ledger"
        )
    if data.get("schema_version") != LEDGER_VERSION:
        raise ReportError(f"{path}: schema_version {data.get('schema_version')!r}, want 1")
    try:
        return Ledger([_run_from_json(r) for r in data["runs"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read the ledger: bad run entry: {exc}") from exc


def _json_kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def _run_from_json(data: dict[str, Any]) -> LedgerRun:
    fields = dict(data)
    fields["scenarios"] = tuple(data["scenarios"])
    fields["covered"] = tuple(data["covered"])
    fields["uncovered"] = tuple(data["uncovered"])
    fields["alerts"] = tuple(AlertEntry(**a) for a in data["alerts"])
    fields["noise"] = tuple(NoiseEntry(**n) for n in data["noise"])
    fields["revision"] = Revision(**data["revision"]) if data.get("revision") else None
    fields["flaky"] = tuple(data.get("flaky", ()))
    return LedgerRun(**fields)


def save_ledger(ledger: Ledger, path: Path) -> None:
    """Write atomically, so a run killed mid-write never leaves half a ledger."""
    doc = {"schema_version": LEDGER_VERSION, "runs": [asdict(r) for r in ledger.runs]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Two runs finishing together must not drop each other's entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def append_run(reports_dir: Path, results: dict[str, Any]) -> tuple[Ledger, LedgerRun]:
    """Append the run to `<reports>/ledger.json` (replacing an entry of the same id); the
    ledger as saved and the run's entry."""
    path = reports_dir / LEDGER_FILE
    run = run_from_results(results)
    with _locked(path):
        ledger = load_ledger(path)
        ledger.runs = [r for r in ledger.runs if r.run_id != run.run_id] + [run]
        mark_flaky(ledger, run)
        save_ledger(ledger, path)
    return ledger, ledger.runs[-1]


def mark_flaky(ledger: Ledger, run: LedgerRun) -> None:
    """Mark, in every run of `run`'s revision, each check that passed in one of them and
    failed in another (marks stay: a check once flaky on a revision remains so)."""
    group = [i for i, r in enumerate(ledger.runs) if r.same_revision(run) or r is run]
    seen: dict[str, set[bool]] = {}
    for i in group:
        for check, passed in ledger.runs[i].verdicts.items():
            seen.setdefault(check, set()).add(passed)
    flaky = {c for c, verdicts in seen.items() if len(verdicts) > 1}
    flaky |= {c for i in group for c in ledger.runs[i].flaky}
    for i in group:
        entry = ledger.runs[i]
        ledger.runs[i] = replace(entry, flaky=tuple(sorted(flaky & set(entry.verdicts))))


def flaky_record(ledger: Ledger, run: LedgerRun, check: str) -> tuple[int, int]:
    """How many runs of `run`'s revision in the ledger passed `check`, of how many ran it."""
    group = [r for r in ledger.runs if r.same_revision(run) or r.run_id == run.run_id]
    verdicts = [r.verdicts[check] for r in group if check in r.verdicts]
    return sum(verdicts), len(verdicts)


def previous_comparable(ledger: Ledger, run: LedgerRun) -> LedgerRun | None:
    for earlier in reversed(ledger.runs[: ledger.runs.index(run)]):
        if (earlier.target, earlier.time_scale) == (run.target, run.time_scale):
            return earlier
    return None


def resolve_run(ref: str, ledger_path: Path) -> LedgerRun:
    """A run named by id (looked up in the ledger) or by a results.json / run folder path."""
    path = Path(ref)
    if path.exists():
        return run_from_results(read_results(path))
    if not ledger_path.exists():
        raise ReportError(f"{ref!r} is neither a results file nor a run of {ledger_path} (none)")
    return load_ledger(ledger_path).find(ref)
