"""The ledger keeps every run; `report diff` names what regressed and exits non-zero on it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from harness.checks.coverage import AlertCoverage
from harness.checks.results import Check, PhaseTimes, ScenarioResult
from harness.cli import main
from harness.errors import ReportError
from harness.report.diff import DiffOptions, compare, record_run
from harness.report.ledger import LEDGER_FILE, load_ledger, run_from_results
from harness.report.results import RunResult
from harness.report.revision import Revision
from harness.spec.timescale import Timing

OUTAGE = "wrk-platform-outage"


def alert_check(kind: str, alert: str, passed: bool, firing: float | None) -> Check:
    return Check(
        id=f"{OUTAGE}::{kind}::{alert}",
        kind=kind,
        scenario=OUTAGE,
        passed=passed,
        message=f"{kind} {alert}",
        alert=alert,
        time_to_firing_s=firing,
        budget_s=12.0,
    )


def run(
    run_id: str,
    *,
    fires: tuple[bool, float | None] = (True, 6.0),
    quiet: bool = True,
    covered: bool = True,
    complete: bool = True,
    scale: float = 60.0,
    revision: Revision | None = None,
) -> dict[str, object]:
    passed, firing = fires
    checks = [
        Check(f"{OUTAGE}::baseline_quiet", "baseline_quiet", OUTAGE, quiet, "seen: nothing"),
        alert_check("alert_fires", "ApiHigh5xxRate", passed, firing),
        alert_check("alert_delivered", "ApiHigh5xxRate", passed, firing),
        alert_check("alert_resolves", "ApiHigh5xxRate", True, firing),
    ]
    phases = PhaseTimes(0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    result = RunResult(run_id, Timing.for_scale(scale, 300.0), "local", 0.0, revision=revision)
    result.scenarios = [ScenarioResult(OUTAGE, checks, phases, None, ("ApiHigh5xxRate",))]
    fired_in = (OUTAGE,) if covered else ()
    result.coverage = [AlertCoverage("ApiHigh5xxRate", fired_in, (OUTAGE,))]
    result.coverage_gated = complete
    doc = result.to_json()
    json.dumps(doc)  # what write_results would write
    return doc


def kinds(before: dict[str, object], after: dict[str, object]) -> list[str]:
    return [r.kind for r in compare(run_from_results(before), run_from_results(after))]


def test_identical_runs_have_no_regression() -> None:
    assert kinds(run("a"), run("b")) == []


def test_an_alert_that_no_longer_fires_is_named() -> None:
    found = compare(run_from_results(run("a")), run_from_results(run("b", fires=(False, None))))
    assert [r.kind for r in found][:2] == ["alert_no_longer_fires", "alert_no_longer_delivered"]
    assert found[0].alert == "ApiHigh5xxRate" and "never fired" in found[0].message


def test_late_and_slower_alerts_are_told_apart() -> None:
    assert kinds(run("a"), run("b", fires=(False, 20.0)))[0] == "alert_late"
    assert kinds(run("a"), run("b", fires=(True, 10.0))) == ["time_to_alert_grew"]
    assert kinds(run("a"), run("b", fires=(True, 7.0))) == []  # within the 1.5x ratio
    small = DiffOptions(ratio=1.1, min_growth_s=0.5)
    assert compare(run_from_results(run("a")), run_from_results(run("b", fires=(True, 7.0))), small)


def test_sub_second_jitter_is_not_a_regression() -> None:
    fast, jitter = run("a", fires=(True, 1.0)), run("b", fires=(True, 2.5))
    assert kinds(fast, jitter) == []  # x2.5 but only 1.5 s


def test_new_noise_and_lost_coverage_are_regressions() -> None:
    assert kinds(run("a"), run("b", quiet=False)) == ["new_baseline_noise"]
    assert kinds(run("a"), run("b", covered=False)) == ["coverage_lost"]


def test_a_partial_run_proves_no_coverage_loss() -> None:
    assert kinds(run("a"), run("b", covered=False, complete=False)) == []


def test_record_run_appends_and_compares_with_the_previous_comparable_run(tmp_path: Path) -> None:
    assert record_run(tmp_path, run("r1")).regressions is None  # nothing to compare with
    assert record_run(tmp_path, run("r2", scale=30.0)).regressions is None  # other scale
    assert record_run(tmp_path, run("r2b", scale=30.0)).regressions == []
    found = record_run(tmp_path, run("r3", fires=(False, None))).regressions
    assert found and found[0].kind == "alert_no_longer_fires"
    ledger = load_ledger(tmp_path / LEDGER_FILE)
    assert [r.run_id for r in ledger.runs] == ["r1", "r2", "r2b", "r3"]
    assert ledger.find("r1").alert(OUTAGE, "ApiHigh5xxRate") is not None


def test_concurrent_runs_keep_every_entry(tmp_path: Path) -> None:
    threads = [threading.Thread(target=record_run, args=(tmp_path, run(f"t{i}"))) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(load_ledger(tmp_path / LEDGER_FILE).runs) == 8


def test_a_damaged_ledger_is_reported_by_path(tmp_path: Path) -> None:
    (tmp_path / LEDGER_FILE).write_text("{not json")
    with pytest.raises(ReportError, match=r"ledger\.json"):
        load_ledger(tmp_path / LEDGER_FILE)


def test_cli_diff_exits_non_zero_naming_the_alert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_run(tmp_path, run("good"))
    record_run(tmp_path, run("broken", fires=(False, None)))
    ledger = str(tmp_path / LEDGER_FILE)
    assert main(["report", "diff", "good", "broken", "--ledger", ledger]) == 1
    assert "ApiHigh5xxRate" in capsys.readouterr().out
    assert main(["report", "diff", "good", "good", "--ledger", ledger]) == 0


def test_cli_diff_reads_results_files_and_names_unknown_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run-b"
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(run("b", quiet=False)))
    (tmp_path / "a.json").write_text(json.dumps(run("a")))
    assert main(["report", "diff", str(tmp_path / "a.json"), str(folder)]) == 1
    assert "new_baseline_noise" in capsys.readouterr().out
    assert main(["report", "diff", "nope", str(folder), "--ledger", str(tmp_path / "x")]) == 2
    assert "nope" in capsys.readouterr().err
