"""Never green by accident: a run that would test nothing, or could not honour its input, stops
before anything starts with `file: field: reason` and exit 2 (pytest: its usage error, 4).

The `wrkh run` and `pytest scenarios/` cases run in a subprocess with `--collect-only`: input is
checked during collection, so a run that is rightly refused never reaches it, and one wrongly
accepted stops there instead of starting a stack.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.errors import ConfigError
from harness.gameday.run import GamedayRequest, prepare
from harness.spec.feasibility import selection_problems
from harness.stack.compose_file import load_compose
from harness.stack.compose_plan import read_proxies
from tests.input_suites import ROOT, suite, validate

OUTAGE = ROOT / "scenarios" / "platform_outage.yaml"
TYPO = "wrk-platfrom-outage"
USAGE_ERROR = 4  # pytest's exit code for bad input


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def wrkh_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    report_dir = str(tmp_path / "reports")
    return run("-m", "harness.cli", "run", "--report-dir", report_dir, *args, "--", "--co")


def pytest_scenarios(tmp_path: Path, *args: str, folder: Path = ROOT / "scenarios") -> str:
    proc = run("-m", "pytest", str(folder), "-p", "no:locust", "-p", "no:cacheprovider", "--co",
               "-q", "--wrk-report-dir", str(tmp_path / "reports"), *args)  # fmt: skip
    assert proc.returncode == USAGE_ERROR, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()  # a refused run leaves no run folder
    return proc.stderr


def outage(old: str, new: str, name: str = "wrk-platform-outage") -> str:
    text = OUTAGE.read_text()
    assert old in text, "the scenario changed; update this test"
    return text.replace(old, new, 1).replace("name: wrk-platform-outage", f"name: {name}")


# -- case 1: a selection that matches nothing --------------------------------------------


def test_an_unknown_scenario_name_is_named_with_a_suggestion_and_the_known_ones() -> None:
    (problem,) = selection_problems(
        [TYPO, "healthy-baseline"], ["wrk-platform-outage", "healthy-baseline"]
    )
    assert str(problem) == (
        f"command line: scenario: no scenario is named {TYPO!r} (did you mean "
        "'wrk-platform-outage'?); the suite has: healthy-baseline, wrk-platform-outage"
    )


def test_wrkh_run_with_a_misspelt_scenario_exits_2_before_anything_starts(tmp_path: Path) -> None:
    proc = wrkh_run(tmp_path, "--scenario", TYPO)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"no scenario is named {TYPO!r} (did you mean 'wrk-platform-outage'?)" in proc.stderr
    assert "healthy-baseline" in proc.stderr  # the known names
    assert not (tmp_path / "reports").exists()


def test_pytest_with_a_misspelt_scenario_is_a_usage_error(tmp_path: Path) -> None:
    assert f"no scenario is named {TYPO!r}" in pytest_scenarios(tmp_path, "--wrk-scenario", TYPO)


def test_a_selection_that_leaves_no_scenario_is_refused(tmp_path: Path) -> None:
    # Only the custom checks remain: they would start the stack and pass on no scenario.
    err = pytest_scenarios(tmp_path, "-k", "test_prometheus_scrapes_every_service")
    assert "nothing to run: no scenario is selected" in err


def test_a_suite_with_no_scenario_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = suite(tmp_path)  # a catalogue, no scenario file
    proc = wrkh_run(tmp_path, "--scenarios", str(empty))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "nothing to run" in proc.stderr
    (tmp_path / "nothing").mkdir()
    proc = wrkh_run(tmp_path, "--scenarios", str(tmp_path / "nothing"))
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "nothing to run: no scenario collected from" in proc.stderr
    code, err = validate(capsys, "--scenarios", str(empty))
    assert code == 2 and f"{empty}: (file): no scenario file" in err


# -- case 4: accepted before, failing later or never --------------------------------------


def test_a_dangling_link_as_a_scenario_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path)
    shutil.copy(OUTAGE, folder)
    (folder / "ghost.yaml").symlink_to(tmp_path / "nowhere.yaml")
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 2
    assert f"{folder / 'ghost.yaml'}: (file): cannot read: a link to " in err
    assert "which does not exist" in err
    assert str(folder / "ghost.yaml") in pytest_scenarios(tmp_path, folder=folder)


def test_an_unknown_proxy_is_refused_for_the_target_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path, typo=outage("proxy: wrk_platform", "proxy: wrk_platfrom"))
    for target in ("local", "compose"):
        code, err = validate(capsys, "--scenarios", str(folder), "--target", target)
        assert code == 2
        assert (
            f"{folder / 'typo.yaml'}: faults[0].proxy: unknown proxy 'wrk_platfrom' (did you "
            f"mean 'wrk_platform'?); the {target} target has: postgres, redis, redis_workers, "
            "webhook, wrk_platform"
        ) in err


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("users: 10", "users: 100000000000000000000000", "load.users", "must be from 1 to 10000"),
        ("users: 10", "users: 1.0e+23", "load.users", "must be from 1 to 10000, got 1e+23"),
        ("users: 10", "users: '100000'", "load.users", "less than or equal to 10000"),
        (
            "rate_per_user: 5",
            "rate_per_user: .inf",
            "load.rate_per_user",
            "must be from 0.001 to 1000, got inf",
        ),
        (
            "rate_per_user: 5",
            "rate_per_user: .nan",
            "load.rate_per_user",
            "must be from 0.001 to 1000, got nan",
        ),
        ("rate_per_user: 5", "rate_per_user: 1.0e-300", "load.rate_per_user", "must be from 0.001"),
        (
            "studio_read: 4",
            "studio_read: 1000000000",
            "load.mix.studio_read",
            "must be from 1 to 100",
        ),
        (
            "baseline: 5m",
            f"baseline: {'1' * 40}h",
            "phases.baseline",
            "longer than 1d, the most allowed",
        ),
        ("warmup: 5m", "warmup: 2d", "phases.warmup", "longer than 1d, the most allowed"),
        ("hold: until_expectations", "hold: 0s", "faults[0].hold", "must be longer than 0s"),
        (
            "hold: until_expectations",
            "hold: 10s",
            "faults[0].hold",
            "10s lasts 0.0667 s at time scale 150, less than one scrape interval (0.25 s)",
        ),
    ],
)
def test_numbers_the_harness_cannot_honour_are_refused_stating_the_bound(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    *,
    field: str,
    reason: str,
) -> None:
    folder = suite(tmp_path, bad=outage(old, new))
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 2
    assert f"{folder / 'bad.yaml'}: {field}: " in err and reason in err, err


@pytest.mark.parametrize(
    ("toxic", "field", "reason"),
    [
        ("latency_ms: 100000000000000000000", "faults[0].latency_ms", "must be from 1 to 600000"),
        ("latency_ms: 1.0e+20", "faults[0].latency_ms", "must be from 1 to 600000, got 1e+20"),
        ("latency_ms: 100, jitter_ms: .nan", "faults[0].jitter_ms", "must be from 0 to 600000"),
        ("latency_ms: 100, toxicity: .nan", "faults[0].toxicity", "finite number"),
    ],
)  # fmt: skip
def test_toxic_numbers_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toxic: str, field: str, reason: str
) -> None:
    text = outage("kind: outage", f"kind: latency\n    {toxic.replace(', ', chr(10) + '    ')}")
    folder = suite(tmp_path, slow=text)
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 2
    assert f"{folder / 'slow.yaml'}: {field}: " in err and reason in err, err


# -- case 4 and 5: the time scale ---------------------------------------------------------

RANGE = "give a time scale from 1 (real durations) to 187.5"


@pytest.mark.parametrize(
    ("scale", "reason"),
    [
        ("0", f"0 is below 1; {RANGE}"),
        ("-1", f"-1 is below 1; {RANGE}"),
        ("nan", f"nan is not a finite number; {RANGE}"),
        ("inf", f"inf is not a finite number; {RANGE}"),
        ("1e9", "1e+09 is above 187.5: the shortest window (5m) would last 3e-07 s, less than "
                "8 samples at the fastest scrape interval (0.2 s)"),
    ],
)  # fmt: skip
def test_a_time_scale_the_run_cannot_honour_is_refused_by_validate(
    capsys: pytest.CaptureFixture[str], scale: str, reason: str
) -> None:
    code, err = validate(capsys, "--scenarios", str(ROOT / "scenarios"), "--time-scale", scale)
    assert code == 2
    assert f"command line: time scale: {reason}" in err


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf", "1e9"])
def test_a_time_scale_the_run_cannot_honour_stops_wrkh_run(tmp_path: Path, scale: str) -> None:
    proc = wrkh_run(tmp_path, "--scenario", "healthy-baseline", "--time-scale", scale)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "command line: time scale: " in proc.stderr and RANGE in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("scale", ["-1", "nan", "inf"])
def test_a_time_scale_the_run_cannot_honour_stops_pytest(tmp_path: Path, scale: str) -> None:
    assert RANGE in pytest_scenarios(tmp_path, "--wrk-time-scale", scale)


# -- case 4: the game-day target file ------------------------------------------------------

GAMEDAY = {
    "prometheus": "http://prom.internal:9090",
    "alertmanager": "http://am.internal:9093",
    "toxiproxy": "http://toxiproxy.internal:8474",
    "services": {"edge": "http://edge.internal:8080"},
    "proxies": {"wrk_platform": "copilot_to_platform"},
    "api_keys": [{"key": "k-123"}],
}


def gameday(tmp_path: Path, **changes: object) -> tuple[int, str]:
    path = tmp_path / "gameday.yaml"
    path.write_text(yaml.safe_dump({**GAMEDAY, **changes}))
    request = GamedayRequest("wrk-platform-outage", path, scenarios_dir=ROOT / "scenarios")
    with pytest.raises(ConfigError) as err:
        prepare(request)
    code = main(["gameday", "wrk-platform-outage", "--config", str(path),
                 "--report-dir", str(tmp_path / "reports")])  # fmt: skip
    assert not (tmp_path / "reports").exists()
    return code, str(err.value)


def test_a_game_day_port_out_of_range_is_bad_input(tmp_path: Path) -> None:
    code, err = gameday(tmp_path, prometheus="http://prom.internal:99999")
    assert code == 2
    assert "prometheus: port of 'http://prom.internal:99999' is not a TCP port (1-65535)" in err


def test_a_game_day_proxy_the_file_does_not_list_is_bad_input(tmp_path: Path) -> None:
    code, err = gameday(tmp_path, proxies={"postgres": "copilot_to_postgres"})
    assert code == 2
    assert "proxies: the scenario breaks proxy 'wrk_platform', which is not listed" in err


def test_a_game_day_time_scale_the_harness_cannot_honour_is_bad_input(tmp_path: Path) -> None:
    code, err = gameday(tmp_path, time_scale=1e9)
    assert code == 2
    assert "gameday.yaml: time_scale: 1e+09 is above 187.5" in err


# -- case 4: PromQL, and the compose target's proxies ---------------------------------------


def test_a_promql_syntax_error_in_the_catalogue_is_named_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = suite(tmp_path)
    alerts = folder / "catalog" / "alerts.yaml"
    text = alerts.read_text()
    assert "> 0.01\n" in text, "the catalogue changed; update this test"
    alerts.write_text(text.replace("> 0.01\n", "> 0.01 )\n", 1))
    shutil.copy(OUTAGE, folder)
    code, err = validate(capsys, "--scenarios", str(folder))
    assert code == 2
    assert f"{alerts}: alerts[0].expr: alert ApiHigh5xxRate: PromQL syntax error" in err
    assert "unexpected right parenthesis" in err


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("(" * 5000 + "1" + ")" * 5000, "longer than 2000 characters"),  # crashed the parser
        ("1+" * 500 + "1", "more than 64 operators and brackets"),  # minutes to read its tree
    ],
)
def test_a_promql_expression_past_the_parser_bounds_is_refused_not_a_crash(
    tmp_path: Path, expr: str, reason: str
) -> None:
    folder = suite(tmp_path)
    alerts = folder / "catalog" / "alerts.yaml"
    doc = yaml.safe_load(alerts.read_text())
    doc["alerts"][0]["expr"] = expr
    alerts.write_text(yaml.safe_dump(doc, width=1_000_000))
    shutil.copy(OUTAGE, folder)
    proc = run("-m", "harness.cli", "validate", "--scenarios", str(folder))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"{alerts}: alerts[0].expr: " in proc.stderr
    assert f"alert ApiHigh5xxRate: PromQL expression refused: {reason}" in proc.stderr


@pytest.mark.parametrize("proxies", ["[{name: postgres}]", "{postgres: 1}", "[" * 100])
def test_a_broken_toxiproxy_configuration_is_named(tmp_path: Path, proxies: str) -> None:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    (tmp_path / "deploy" / "toxiproxy.json").write_text(proxies)
    compose = load_compose(tmp_path / "docker-compose.yml")
    with pytest.raises(ConfigError) as err:
        read_proxies(compose)
    (problem,) = err.value.problems
    assert problem.file.endswith("deploy/toxiproxy.json")
