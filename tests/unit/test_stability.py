"""`wrkh stability`: N runs, each check's verdicts side by side, flaky checks named.

The series runner is driven here with a stand-in for `wrkh run` (a small script that writes a
results.json as a run would, passing, failing, writing nothing, or waiting to be stopped), so
verdict changes between runs are certain; tests/integration/test_stability.py runs the real
suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cli import build_parser, main, run_arguments
from harness.report.model import RunView
from harness.report.stability import RunOutcome, StabilityReport, check_stability
from harness.report.stability_html import render_stability
from harness.run.stability import StabilityRequest, run_series
from tests.report_fixtures import build_results

LATE = "wrk-platform-outage::alert_fires::WrkPlatformFailureRate"

FAKE_RUN = textwrap.dedent(
    """
    import json, signal, sys, time
    from pathlib import Path

    args = sys.argv[1:]
    report_dir = Path(args[args.index("--report-dir") + 1])
    run_id = args[args.index("--run-id") + 1]
    index = int(run_id.rsplit("-r", 1)[1])
    plan = json.loads(Path(__file__).with_name("plan.json").read_text())
    what = plan[index - 1]

    def write(kind):
        doc = json.loads(Path(__file__).with_name(f"{kind}.json").read_text())
        doc["run_id"] = run_id
        (report_dir / run_id).mkdir(parents=True)
        (report_dir / run_id / "results.json").write_text(json.dumps(doc))

    print("fake run", run_id, what, flush=True)
    if what == "wait":
        def stop(signum, frame):
            write("failed")
            sys.exit(1)
        signal.signal(signal.SIGTERM, stop)
        Path(__file__).with_name("started").write_text(str(__import__("os").getpid()))
        time.sleep(60)
        sys.exit(9)
    if what != "none":
        write(what)
    sys.exit({"passed": 0, "failed": 1, "none": 4}[what])
    """
)


def passing() -> dict[str, Any]:
    doc = build_results()
    for check in doc["checks"]:
        check["passed"] = True
    doc["passed"] = True
    doc["summary"].update(passed=doc["summary"]["checks"], failed=0)
    return doc


def fake_suite(tmp_path: Path, plan: list[str]) -> StabilityRequest:
    (tmp_path / "fake_run.py").write_text(FAKE_RUN)
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    (tmp_path / "passed.json").write_text(json.dumps(passing()))
    (tmp_path / "failed.json").write_text(json.dumps(build_results()))
    reports = tmp_path / "reports"
    args = ("--report-dir", str(reports))
    return StabilityRequest(
        len(plan), args, args, reports, command=(sys.executable, str(tmp_path / "fake_run.py"))
    )


def test_identical_passing_runs_are_stable_and_exit_zero(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_series(fake_suite(tmp_path, ["passed", "passed"]), lines.append)
    assert report.stable and report.all_passed and report.exit_code == 0
    assert [o.run_id for o in report.outcomes] == [
        f"{report.stability_id}-r1",
        f"{report.stability_id}-r2",
    ]
    assert lines[0].startswith(f"run 1/2  {report.stability_id}-r1  PASSED")
    assert "13/13 checks" in lines[0] and lines[0].endswith(" s")
    assert lines[2].startswith("stability STABLE: 2 of 2 run(s) ran, 2 passed; 13 of 13 check(s)")
    folder = tmp_path / "reports" / "stability" / report.stability_id
    data = json.loads((folder / "stability.json").read_text())
    assert data["stable"] is True and data["flaky"] == [] and len(data["runs"]) == 2
    assert (folder / "run-1.log").read_text().startswith("fake run")
    assert lines[-1] == f"report: {folder / 'stability.html'} (also stability.json)"


def test_a_verdict_that_differs_between_runs_is_named_flaky_and_exits_three(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    report = run_series(fake_suite(tmp_path, ["passed", "failed", "passed"]), lines.append)
    assert not report.stable and report.exit_code == 3
    flaky = {c.id: c for c in report.flaky}
    assert LATE in flaky and (flaky[LATE].passes, flaky[LATE].runs) == (2, 3)
    assert f"  FLAKY {LATE}: passed 2 of 3 run(s)" in lines
    data = json.loads(
        (tmp_path / "reports" / "stability" / report.stability_id / "stability.json").read_text()
    )
    assert LATE in data["flaky"]


def test_the_same_failures_every_run_are_stable_but_exit_one(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_series(fake_suite(tmp_path, ["failed", "failed"]), lines.append)
    assert report.stable and not report.all_passed and report.exit_code == 1
    assert f"  FAILED IN EVERY RUN {LATE}" in lines


def test_a_run_that_could_not_run_makes_the_series_unstable(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_series(fake_suite(tmp_path, ["passed", "none"]), lines.append)
    assert report.exit_code == 3 and report.flaky == []
    assert "could not run" in lines[1] and "no results" in lines[1]
    assert any(line.startswith("  COULD NOT RUN run 2") and "exit 4" in line for line in lines)


def test_stopping_the_series_stops_the_current_run_and_keeps_its_report(tmp_path: Path) -> None:
    request = fake_suite(tmp_path, ["passed", "wait", "passed"])
    driver = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from harness.run.stability import StabilityRequest, run_series
        request = StabilityRequest(3, {request.run_args!r}, {request.shown_args!r},
                                   Path({str(request.report_dir)!r}), {request.command!r})
        sys.exit(130 if run_series(request).interrupted else 0)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", driver], stdout=subprocess.PIPE, text=True)
    started = tmp_path / "started"
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), "the second run never started"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    child = int(started.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    (folder,) = (tmp_path / "reports" / "stability").iterdir()
    data = json.loads((folder / "stability.json").read_text())
    assert data["interrupted"] is True and data["stable"] is False
    assert [r["verdict"] for r in data["runs"]] == ["PASSED", "FAILED"]  # stopped, reported
    assert data["runs"][1]["exit_code"] == 1
    assert "(interrupted)" in out


def view(doc: dict[str, Any]) -> RunView:
    return RunView.from_json(doc)


def test_spread_of_time_to_firing_and_absent_checks() -> None:
    a, b, c = build_results(), build_results(), build_results()
    fires = "wrk-platform-outage::alert_fires::ApiHigh5xxRate"
    for doc, t in ((a, 5.8), (b, 6.4), (c, 7.0)):
        next(x for x in doc["checks"] if x["id"] == fires)["time_to_firing_s"] = t
    c["checks"] = [x for x in c["checks"] if x["kind"] != "slo_latency"]
    stats = {s.id: s for s in check_stability([view(a), view(b), view(c)])}
    spread = stats[fires].time_to_firing_s
    assert spread is not None and (spread.min, spread.median, spread.max) == (5.8, 6.4, 7.0)
    over = stats[fires].over_floor_s
    assert over is not None and over.median == 1.4  # floor 5.0
    assert not stats[fires].flaky
    absent = stats["healthy-baseline::slo_latency::studio-api-latency"]
    assert absent.flaky and absent.ran_in == 2 and absent.runs == 3


def test_the_page_names_flaky_checks_and_links_each_run(tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "stability" / "s1"
    report = StabilityReport("s1", 3, ["--scenario", "x"])
    report.outcomes = [
        RunOutcome(1, "s1-r1", 0, 30.0, folder / "run-1.log", view(passing())),
        RunOutcome(2, "s1-r2", 1, 31.0, folder / "run-2.log", view(build_results())),
        RunOutcome(3, "s1-r3", 4, 1.0, folder / "run-3.log", None),
    ]
    page = render_stability(report, folder)
    assert "UNSTABLE" in page
    assert f"<code>{LATE}</code>: passed 1 of 2 run(s)" in page
    assert 'href="../../s1-r1/report.html"' in page
    assert "run 3 <code>s1-r3</code> could not run (exit 4)" in page
    assert "wall time median 30.50 s" in page


def test_every_run_option_reaches_each_run() -> None:
    parser = build_parser()
    given = [
        "stability", "--runs", "3", "--scenarios", "s", "--report-dir", "r", "--time-scale",
        "30", "--scenario", "a", "--scenario", "b", "--without-faults", "--fake-env",
        "WRK_DEFECTS=x=y", "--target", "compose", "--load-workers", "2", "--", "-x",
    ]  # fmt: skip
    args = parser.parse_args(given)
    again = parser.parse_args(["run", *run_arguments(args)])
    shared = {k: v for k, v in vars(args).items() if k not in ("runs", "func", "command")}
    assert {k: v for k, v in vars(again).items() if k in shared} == shared
    assert set(vars(again)) - set(shared) == {"func", "command", "run_id"}
    assert "WRK_DEFECTS=***" in run_arguments(args, masked=True)
    assert "WRK_DEFECTS=x=y" not in run_arguments(args, masked=True)


def test_bad_input_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    code = main(
        ["stability", "--runs", "2", "--scenario", "no-such", "--fake-env", "NOVALUE",
         "--report-dir", str(reports)]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "command line: scenario: no scenario is named 'no-such'" in err and "NOVALUE" in err
    assert not reports.exists()
    with pytest.raises(SystemExit):
        main(["stability", "--runs", "0"])


def test_the_suite_benchmark_prints_the_figures_of_the_stability_report(tmp_path: Path) -> None:
    from benchmarks.suite import figures_lines

    report = run_series(fake_suite(tmp_path, ["passed", "failed"]), lambda _: None)
    lines = figures_lines(report.to_json())
    assert lines[1].startswith("total wall time of `wrkh run` (s)")
    assert lines[2].startswith("stack cold start to all-ready (s)") and "6.80" in lines[2]
    assert lines[3].startswith("time-to-firing minus floor, all alerts (s)")
    assert any(line.startswith("scenario healthy-baseline wall (s)") for line in lines)
    assert lines[-1].startswith("verdicts identical across 2 of 2 run(s): False (flaky: ")
    assert LATE in lines[-1]


@pytest.mark.parametrize(
    ("run_id", "why"),
    [("../elsewhere", "letters, digits"), ("latest", "taken"), ("taken-before", "already has")],
)
def test_a_given_run_id_is_refused_when_it_cannot_name_a_new_report_folder(
    tmp_path: Path, run_id: str, why: str
) -> None:
    (tmp_path / "taken-before").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--run-id", run_id,
         "--report-dir", str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert why in proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken-before"]  # nothing started


def test_every_run_option_reaches_the_pytest_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest as pytest_module

    from harness import cli
    from harness.pytest_plugin import options

    seen: list[list[str]] = []
    monkeypatch.setattr(pytest_module, "main", lambda argv: seen.append(argv) or 0)
    given = [
        "run", "--time-scale", "30", "--scenario", "a", "--without-faults", "--fake-env",
        "K=v", "--target", "compose", "--load-workers", "2", "--run-id", "r1", "--", "-x",
    ]  # fmt: skip
    assert cli.main(given) == 0
    flags = [part for part in seen[0] if part.startswith("--wrk-")]
    source = Path(options.__file__).read_text()
    assert all(f'"{flag}"' in source for flag in flags), flags
    assert len(flags) == 9  # report dir, target, preflight, and the six given
    assert seen[0][-1] == "-x"
