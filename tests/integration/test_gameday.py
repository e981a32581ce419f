"""`wrkh gameday` against the local stack used as an external target: URLs only.

The stack is started here with the catalogue's rules at the default time scale and an
Alertmanager whose receivers point at an address nobody listens on, so the game day can only
see deliveries through Alertmanager's API, as against a real deployment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.observe.alert_watch import wait_until
from harness.run.toxiproxy import ToxiproxyAPI
from harness.spec.catalog import load_catalog
from harness.spec.rules import render_alertmanager_config, render_rules
from harness.spec.timescale import DEFAULT_TIME_SCALE, Timing
from harness.stack import tools
from harness.stack.layout import REQUIRED_TOOLS
from harness.stack.local import LocalStack, LocalStackConfig
from harness.stack.target import Target
from tests.open_dirs import open_tempdir

ROOT = Path(__file__).resolve().parents[2]
WRKH = [sys.executable, "-m", "harness.cli"]
SCENARIO = Path(__file__).with_name("gameday") / "platform_blip.yaml"
SCALE = DEFAULT_TIME_SCALE
UNREACHABLE_RECEIVERS = "http://127.0.0.1:9"  # the discard port: nothing answers
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        any(tools.find(t) is None for t in REQUIRED_TOOLS), reason="stack binaries missing"
    ),
]


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with open_tempdir("wrkh-gameday-") as root:
        catalog = load_catalog(ROOT / "scenarios" / "catalog")
        timing = Timing.for_scale(SCALE, catalog.shortest_window_s())
        rules = root / "rules.yml"
        rules.write_text(render_rules(catalog, timing))
        am = root / "alertmanager.yml"
        am.write_text(render_alertmanager_config(catalog, UNREACHABLE_RECEIVERS, timing))
        config = LocalStackConfig(
            base_dir=root / "stack", timing=timing, alertmanager_config=am, rules_file=rules
        )
        with LocalStack(config) as stack:
            yield stack.target


def _config(target: Target, path: Path, max_percent: float = 50.0) -> Path:
    doc = {
        "prometheus": target.prometheus_url,
        "alertmanager": target.alertmanager_url,
        "toxiproxy": target.toxiproxy_url,
        "services": dict(target.services),
        "proxies": {"wrk_platform": "wrk_platform"},
        "api_keys": [{"env": "WRKH_TEST_GAMEDAY_KEY"}],
        "abort_on": {
            "unexpected_severity": "SEV-1",
            "error_budget_burned": {"slo": "studio-api-availability", "max_percent": max_percent},
        },
        "time_scale": SCALE,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def _command(config: Path, reports: Path) -> list[str]:
    return [
        *WRKH, "gameday", str(SCENARIO), "--target", "external", "--config", str(config),
        "--catalog", str(ROOT / "scenarios" / "catalog"), "--report-dir", str(reports),
    ]  # fmt: skip


def _env(target: Target) -> dict[str, str]:
    return {**os.environ, "WRKH_TEST_GAMEDAY_KEY": target.credentials[0].api_key}


def _outputs(reports: Path) -> tuple[dict[str, Any], str, str]:
    (folder,) = [p for p in reports.iterdir() if p.name.startswith("gameday-")]
    timeline = json.loads((folder / "timeline.json").read_text())
    return timeline, (folder / "timeline.md").read_text(), (folder / "postmortem.md").read_text()


def _proxies_clean(target: Target) -> dict[str, tuple[bool, tuple[str, ...]]]:
    api = ToxiproxyAPI(target.toxiproxy_url)
    try:
        states = [api.state(name) for name in target.proxies]
    finally:
        api.close()
    return {s.name: (s.enabled, s.toxics) for s in states if not s.clean}


def test_a_game_day_runs_to_completion_and_writes_timeline_and_postmortem(
    target: Target, tmp_path: Path
) -> None:
    config = _config(target, tmp_path / "gameday.yaml")
    proc = subprocess.run(
        _command(config, tmp_path / "reports"), cwd=ROOT, env=_env(target),
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-4000:]
    timeline, markdown, postmortem = _outputs(tmp_path / "reports")
    assert timeline["outcome"] == "completed"
    m = timeline["measures"]
    assert m["detected_by"] == "ApiHigh5xxRate"
    assert 0 < m["time_to_detect_s"] <= m["time_to_recover_s"]
    assert m["time_to_notify_s"] is not None  # seen through Alertmanager's API
    assert m["time_to_detect_s"] <= m["time_to_mitigate_s"] <= m["time_to_recover_s"]
    kinds = {(e["kind"], e["subject"]) for e in timeline["events"]}
    for kind in ("alert pending", "alert firing", "alert notified", "alert resolved"):
        assert (kind, "ApiHigh5xxRate") in kinds, kind
    assert ("fault applied", "platform-down") in kinds and (
        "fault removed",
        "platform-down",
    ) in kinds
    assert timeline["impact"]["failed_requests_prometheus"] > 0
    assert timeline["impact"]["budget_burned_percent"] > 0
    assert timeline["rollback_verified"] is True
    assert "time to detect (MTTD)" in markdown and "time to recover (MTTR)" in markdown
    for section in ("## What happened", "## Why", "## Impact", "## Remediation", "## Follow-ups"):
        assert section in postmortem
    assert "[TO FILL]" in postmortem
    assert "ApiHigh5xxRate" in proc.stderr  # live alert states were shown


def test_sigint_while_the_fault_is_on_aborts_rolls_back_and_still_reports(
    target: Target, tmp_path: Path
) -> None:
    config = _config(target, tmp_path / "gameday.yaml")
    proc = subprocess.Popen(
        _command(config, tmp_path / "reports"), cwd=ROOT, env=_env(target),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "fault platform-down" in line or not line:
            break
    assert any("fault platform-down" in ln for ln in lines), "".join(lines)
    outage_on = wait_until(lambda: _proxies_clean(target) != {}, timeout_s=10, poll_s=0.1)
    assert outage_on, "the fault should be active before the interrupt"
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    output = "".join(lines) + rest
    assert proc.returncode == 3, output[-3000:]
    assert time.monotonic() - sent < 30, "the abort was not prompt"
    assert _proxies_clean(target) == {}, "a proxy was left disabled or with a toxic"
    timeline, _, postmortem = _outputs(tmp_path / "reports")
    assert timeline["outcome"] == "aborted"
    assert "signal 2" in timeline["abort_reason"]
    assert any(e["kind"] == "abort" for e in timeline["events"])
    assert timeline["rollback_verified"] is True
    assert "aborted" in postmortem


def test_burning_more_than_the_stated_budget_aborts_and_rolls_back(
    target: Target, tmp_path: Path
) -> None:
    # Nothing fails in the baseline (0% burned); the outage burns ~0.5% in its first seconds.
    config = _config(target, tmp_path / "gameday.yaml", max_percent=0.1)
    proc = subprocess.run(
        _command(config, tmp_path / "reports"), cwd=ROOT, env=_env(target),
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-4000:]
    assert _proxies_clean(target) == {}, "a proxy was left disabled or with a toxic"
    timeline, _, postmortem = _outputs(tmp_path / "reports")
    assert "studio-api-availability burned" in timeline["abort_reason"]
    assert "(limit 0.1%)" in timeline["abort_reason"]
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds.index("fault applied") < kinds.index("abort") < kinds.index("fault removed")
    assert timeline["impact"]["budget_burned_percent"] > 0.1
    assert "burned" in postmortem


def test_a_deployment_without_the_scenarios_fault_point_is_stopped_before_any_load(
    target: Target, tmp_path: Path
) -> None:
    config = _config(target, tmp_path / "gameday.yaml")
    doc = yaml.safe_load(config.read_text())
    doc["proxies"] = {"wrk_platform": "copilot_to_platform"}  # no such proxy deployed
    config.write_text(yaml.safe_dump(doc))
    proc = subprocess.run(
        _command(config, tmp_path / "reports"), cwd=ROOT, env=_env(target),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "GAP  proxy wrk_platform (deployed as copilot_to_platform): no Toxiproxy proxy" in output
    assert "game day not started" in output
    (folder,) = [p for p in (tmp_path / "reports").iterdir() if p.name.startswith("gameday-")]
    report = json.loads((folder / "preflight.json").read_text())
    assert [(g["kind"], g["item"]) for g in report["gaps"] if g["blocks"]] == [
        ("proxy", "wrk_platform (deployed as copilot_to_platform)")
    ]
    assert not (folder / "timeline.json").exists()  # nothing was started
