"""The preflight's report and command line, without a stack: what blocks what, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.contract.gaps import Gap, PreflightReport


def _report() -> PreflightReport:
    report = PreflightReport("staging", duration_s=1.25)
    report.gaps += [
        Gap("lever", "feature-flags", "GET answered 404", ("mitigation-flag-off",)),
        Gap("proxy", "redis", "no Toxiproxy proxy", ()),
    ]
    report.checked.append("6 service(s) scraped and up")
    report.notes.append("auth_failures_total: declared, no series yet")
    return report


def test_only_gaps_blocking_a_chosen_scenario_block_it() -> None:
    report = _report()
    assert [g.item for g in report.blocking()] == ["feature-flags", "redis"]
    assert [g.item for g in report.blocking(["mitigation-flag-off"])] == ["feature-flags"]
    assert report.blocking(["brute-force"]) == []


def test_lines_say_what_blocks_and_what_does_not() -> None:
    lines = _report().lines(["mitigation-flag-off"])
    assert lines[0] == "preflight of staging: 1 gap(s) in 1.2 s"
    assert "  GAP  lever feature-flags: GET answered 404 (blocks mitigation-flag-off)" in lines
    assert "  gap  proxy redis: no Toxiproxy proxy (blocks no scenario)" in lines
    assert "  ok   6 service(s) scraped and up" in lines
    assert _report().to_json()["gaps"][0]["blocks"] == ("mitigation-flag-off",)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--target", "external"], "--config: (missing): --target external needs --config FILE"),
        (["--target", "local", "--config", "x.yaml"], "x.yaml: (file): --config is read only"),
    ],
)
def test_bad_arguments_exit_2_naming_the_field(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preflight", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_a_bad_target_file_exits_2_before_anything_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "target.yaml"
    config.write_text("prometheus: not-a-url\nalertmanager: http://127.0.0.1:1\n")
    code = main(["preflight", "--target", "external", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{config}: prometheus:" in err and "services" in err
