"""write_results: results.json first, every derived form next, failures kept as run errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.report import forms, output, results
from harness.report.html import NO_BASELINE_RUN
from harness.report.results import summary_lines, write_results
from tests.report_fixtures import build_run


def test_writes_every_form_and_mirrors_latest(tmp_path: Path) -> None:
    run = build_run("run-a")
    path = write_results(run, tmp_path)
    run_dir = tmp_path / "run-a"
    assert path == run_dir / "results.json"
    for name in ("results.json", "junit.xml", "report.html"):
        assert (run_dir / name).is_file() and (tmp_path / "latest" / name).is_file()
    ET.parse(run_dir / "junit.xml")
    assert (tmp_path / "ledger.json").is_file()
    data = json.loads(path.read_text())
    assert data["errors"] == [] and data["scenarios"][2]["phases"]["mitigation_start"]
    assert NO_BASELINE_RUN in (run_dir / "report.html").read_text()  # the ledger's first run


def test_results_json_lists_each_warning_with_alert_time_and_duration(tmp_path: Path) -> None:
    data = json.loads(write_results(build_run("run-a"), tmp_path).read_text())
    assert data["summary"]["warnings"] == 1
    quiet = next(c for c in data["checks"] if c["id"] == "healthy-baseline::baseline_quiet")
    (warning,) = quiet["warnings"]
    assert warning["kind"] == "pending_blip" and warning["alert"] == "DbPoolSaturated"
    assert warning["at"].endswith("+00:00") and warning["offset_s"] == 5.2
    assert warning["duration_s"] == 0.0
    assert all(c["warnings"] == [] for c in data["checks"] if c is not quiet)


def test_console_summary_shows_each_warning_under_its_check(tmp_path: Path) -> None:
    run = build_run("run-a")
    lines = summary_lines(run, write_results(run, tmp_path))
    assert "1 warning(s)" in lines[0]
    quiet = next(i for i, line in enumerate(lines) if "nothing fired" in line)
    assert lines[quiet + 1].startswith("  WARN pending_blip")
    assert 'DbPoolSaturated{job="core"} pending at 1 evaluation(s)' in lines[quiet + 1]
    assert "08:00:15.200 UTC" in lines[quiet + 1]


def test_second_run_gets_the_regressions_section(tmp_path: Path) -> None:
    write_results(build_run("run-a"), tmp_path)
    write_results(build_run("run-b"), tmp_path)
    html = (tmp_path / "run-b" / "report.html").read_text()
    assert NO_BASELINE_RUN not in html
    assert '<p class="ok">none</p>' in html  # the same verdicts: nothing regressed


def test_html_failure_keeps_results_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> str:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(forms, "render_html", broken)
    run = build_run("run-c")
    path = write_results(run, tmp_path)
    data = json.loads(path.read_text())
    assert data["checks"] and len(data["scenarios"]) == 3
    assert any("report.html" in e and "renderer exploded" in e for e in data["errors"])
    assert data["passed"] is False
    assert (tmp_path / "run-c" / "junit.xml").is_file()
    assert not (tmp_path / "run-c" / "report.html").exists()
    assert (tmp_path / "latest" / "results.json").read_text() == path.read_text()


def test_ledger_failure_still_writes_html_without_regressions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> list[object]:
        raise OSError("disk full")

    monkeypatch.setattr(forms, "record_run", broken)
    path = write_results(build_run("run-d"), tmp_path)
    assert any("ledger" in e for e in json.loads(path.read_text())["errors"])
    assert NO_BASELINE_RUN in (tmp_path / "run-d" / "report.html").read_text()


def test_results_json_failure_is_raised_and_latest_still_shows_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_results(build_run("run-a"), tmp_path)  # a passing run that `latest` shows first

    def full(path: Path, text: str) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(results, "write_atomic", full)
    with pytest.raises(ReportError, match=r"cannot write .*run-e/results.json: No space left"):
        write_results(build_run("run-e"), tmp_path)
    assert not (tmp_path / "latest" / "results.json").exists(), "latest shows the previous run"


def test_latest_links_to_the_run_when_it_cannot_be_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_results(build_run("run-a"), tmp_path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output.shutil, "copytree", full)
    run = build_run("run-b")
    path = write_results(run, tmp_path)
    latest = tmp_path / "latest"
    assert latest.is_symlink() and latest.resolve() == (tmp_path / "run-b").resolve()
    assert any("links to run-b instead of holding a copy" in e for e in run.errors)
    assert json.loads((latest / "results.json").read_text()) == json.loads(path.read_text())
    assert not list(tmp_path.glob(".latest-*"))  # the partial copy is gone


@pytest.mark.parametrize(
    ("content", "found"),
    [("[]", "it is a list"), ('"runs"', "it is a string"), ('{"runs": 3}', "its runs are a")],
)
def test_a_ledger_that_is_not_an_object_is_named_and_the_run_still_reported(
    tmp_path: Path, content: str, found: str
) -> None:
    (tmp_path / "ledger.json").write_text(content)
    run = build_run("run-f")
    path = write_results(run, tmp_path)
    (error,) = json.loads(path.read_text())["errors"]
    assert f"{tmp_path / 'ledger.json'}: not a ledger: expected a JSON object" in error
    assert found in error and "Traceback" not in error
    for name in ("junit.xml", "report.html"):
        assert (tmp_path / "run-f" / name).is_file() and (tmp_path / "latest" / name).is_file()
    assert (tmp_path / "ledger.json").read_text() == content  # never overwritten


def test_report_html_command_rebuilds_the_page_with_regressions(tmp_path: Path) -> None:
    from harness.cli import main

    write_results(build_run("run-a"), tmp_path)
    write_results(build_run("run-b"), tmp_path)
    page = tmp_path / "run-b" / "report.html"
    page.unlink()
    assert main(["report", "html", str(tmp_path / "run-b"), "--ledger", str(tmp_path / "x")]) == 0
    assert NO_BASELINE_RUN in page.read_text()  # no ledger at that path
    assert main(["report", "html", str(tmp_path / "run-b"), "--ledger",
                 str(tmp_path / "ledger.json")]) == 0  # fmt: skip
    html = page.read_text()
    assert NO_BASELINE_RUN not in html and 'id="regressions"' in html


def test_report_html_command_on_a_missing_run_fails(tmp_path: Path) -> None:
    from harness.cli import main

    assert main(["report", "html", str(tmp_path / "nope")]) == 2


def test_a_broken_alert_shows_as_a_regression_in_the_next_report(tmp_path: Path) -> None:
    write_results(build_run("run-a"), tmp_path)
    broken = build_run("run-b")
    outage = next(s for s in broken.scenarios if s.scenario == "wrk-platform-outage")
    outage.checks = [
        dataclasses.replace(c, passed=False, time_to_firing_s=None, time_to_notification_s=None)
        if c.alert == "ApiHigh5xxRate"
        else c
        for c in outage.checks
    ]
    write_results(broken, tmp_path)
    section = (tmp_path / "run-b" / "report.html").read_text().split('id="regressions"')[1]
    section = section.split("</section>")[0]
    assert "regression(s)" in section and "ApiHigh5xxRate" in section
