"""One masking path for every report form: no secret the run knows reaches a report file.

Every secret a run knows (API keys, webhook secret, payload canary, passwords in the target's
URLs) is planted in every shape of log window a scenario's excerpt is cut from, in check
messages, series labels, Locust output and a run error; the run's reports are then written as
a run writes them (Allure through allure-pytest, results and their derived forms, `latest`)
and every file is searched for every form of every secret.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.checks.secrets import Masker, Secret
from harness.report.results import write_results
from tests.report_fixtures import WINDOW_SHAPES, plant_window, planted_run, planted_secrets

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "20261201T000000-1"

_ALLURE_TEST = """
import pytest

from harness.checks.secrets import Masker
from harness.observe.logs import LogStore
from harness.report.allure_steps import record_scenario, scenario_evidence
from harness.spec.catalog import load_catalog
from tests.report_fixtures import TIMING, planted_run, planted_secrets

RUN_DIR = {run_dir!r}
SHAPES = {shapes!r}


@pytest.mark.parametrize("index", range(len(SHAPES)), ids=SHAPES)
def test_scenario(pytestconfig, index):
    from pathlib import Path

    run_dir = Path(RUN_DIR)
    result = planted_run({run_id!r}, run_dir).scenarios[index]
    logs = None if SHAPES[index] == "no-logs" else LogStore(run_dir / "stack" / "logs")
    catalog = load_catalog(Path({catalog!r}))
    evidence = scenario_evidence(catalog, TIMING, result, logs, run_dir)
    listener = pytestconfig.pluginmanager.get_plugin("allure_listener")
    record_scenario(listener.allure_logger, result, evidence, Masker(planted_secrets()))
"""


def _write_reports(reports: Path, tmp_path: Path) -> Path:
    run_dir = reports / RUN_ID
    logs = run_dir / "stack" / "logs"  # where a local stack's services write their lines
    for i, shape in enumerate(WINDOW_SHAPES):
        plant_window(logs, shape, planted_run(RUN_ID, run_dir).scenarios[i].phases.load_start)
    test = tmp_path / "test_allure_planted.py"
    test.write_text(
        textwrap.dedent(_ALLURE_TEST).format(
            run_dir=str(run_dir),
            shapes=WINDOW_SHAPES,
            run_id=RUN_ID,
            catalog=str(ROOT / "scenarios" / "catalog"),
        )
    )
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:locust", "-p", "no:cacheprovider",
           "--alluredir", str(run_dir / "allure-results"), "--rootdir", str(tmp_path),
           str(test)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    write_results(planted_run(RUN_ID, run_dir), reports, Masker(planted_secrets()))
    return run_dir


def _holders(reports: Path, secret: Secret, skip: Path) -> list[str]:
    found = []
    for path in sorted(p for p in reports.rglob("*") if p.is_file()):
        if skip in path.parents:
            continue
        data = path.read_bytes()
        found += [f"{path.relative_to(reports)}: {form!r}" for form in secret.forms()
                  if form.encode() in data]  # fmt: skip
    return found


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("masking")
    _write_reports(tmp / "reports", tmp)
    return tmp / "reports"


@pytest.mark.parametrize("secret", planted_secrets(), ids=lambda s: s.label)
def test_no_report_file_holds_the_secret_in_any_form(reports: Path, secret: Secret) -> None:
    # stack/ is the target's own output (its services wrote the secrets there, which is what
    # no_secret_in_logs reports); it is evidence, never copied into `latest`.
    stack = reports / RUN_ID / "stack"
    assert _holders(reports, secret, skip=stack) == []
    assert (reports / "latest" / "results.json").is_file()
    assert not (reports / "latest" / "stack").exists()


def test_the_secrets_were_copied_and_masked_not_dropped(reports: Path) -> None:
    """Each copy is there, with the placeholder standing in for every secret."""
    allure = reports / RUN_ID / "allure-results"
    texts = [p.read_text() for p in allure.glob("*-attachment.txt")]
    excerpts = [t for t in texts if "warning/error line(s)" in t or "request failed" in t]
    assert len(excerpts) == len(WINDOW_SHAPES) - 1  # the empty window copies nothing
    results = (reports / RUN_ID / "results.json").read_text()
    for secret in planted_secrets():
        assert any(secret.placeholder in t for t in excerpts), secret.label
        assert secret.placeholder in results, secret.label
        assert secret.placeholder in (reports / RUN_ID / "window-quiet" / "locust.log").read_text()
    data = json.loads(results)
    assert data["scenarios"][0]["series"][0]["sets"][0]["labels"]["authorization"].startswith(
        "[masked "
    )


def test_the_quiet_window_excerpt_copies_the_lines_that_held_the_secrets(reports: Path) -> None:
    """The window with no warning: the excerpt is its first lines, which held the secrets."""
    allure = reports / RUN_ID / "allure-results"
    quiet = [
        p.read_text()
        for p in allure.glob("*-attachment.txt")
        if "0 warning/error line(s)" in p.read_text()
    ]
    assert quiet and all("auth with [masked " in text for text in quiet)
