"""`wrkh preflight` against the real local stack: the fakes meet the contract; a build with a
metric renamed, a lever missing and a fault point missing fails with exactly those gaps.

The three breaks are made as a real build would have them: the metric and the lever through
the fakes' defects (WRK_DEFECTS), the fault point by wiring the stack without that Toxiproxy
proxy (the services then reach the WRK Platform directly).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.contract.cli import load_inputs
from harness.contract.preflight import Expectations, PreflightReport, run_preflight
from harness.sandbox.start import StartedStack, Wiring, start_stack
from harness.stack import tools
from harness.stack.fakes import DEFAULT_FAKES, DEFAULT_PROXIES, FakeService
from harness.stack.layout import REQUIRED_TOOLS
from tests.open_dirs import open_tempdir

ROOT = Path(__file__).resolve().parents[2]
SCALE = 60.0
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        any(tools.find(t) is None for t in REQUIRED_TOOLS), reason="stack binaries missing"
    ),
]


def _direct(fakes: tuple[FakeService, ...], proxy: str, upstream: str) -> tuple[FakeService, ...]:
    """The services reaching `upstream` directly where they went through `proxy`."""
    old, new = f"{{proxy[{proxy}]}}", f"{{service[{upstream}]}}"
    return tuple(
        dataclasses.replace(f, env={k: v.replace(old, new) for k, v in f.env.items()})
        for f in fakes
    )


def _preflight(fake_env: dict[str, str], wiring: Wiring | None = None) -> PreflightReport:
    catalog, scenarios, levers = load_inputs(ROOT / "scenarios")
    timing = catalog.timing(SCALE)
    with open_tempdir("wrkh-preflight-") as root:
        started: StartedStack = start_stack(
            "local", catalog, timing, stack_dir=root, run_id="preflight", fake_env=fake_env,
            wiring=wiring,
        )  # fmt: skip
        try:
            expect = Expectations.of(catalog, scenarios, levers, timing)
            return run_preflight(started.target, expect)
        finally:
            started.stop()


@pytest.fixture(scope="module")
def healthy() -> Iterator[PreflightReport]:
    yield _preflight({})


def test_the_fakes_meet_the_contract(healthy: PreflightReport) -> None:
    assert healthy.gaps == [], "\n".join(healthy.lines())
    print(f"preflight of the healthy fakes: {healthy.duration_s:.2f} s")
    assert len(healthy.checked) == 8


def test_a_renamed_metric_a_missing_lever_and_a_missing_proxy_are_exactly_the_gaps() -> None:
    wiring = Wiring(
        fakes=_direct(DEFAULT_FAKES, "wrk_platform", "platform"),
        proxies=tuple(p for p in DEFAULT_PROXIES if p.name != "wrk_platform"),
    )
    defects = {"WRK_DEFECTS": "rename_metric,no_feature_flag_lever"}
    report = _preflight(defects, wiring)
    found = {(g.kind, g.item): g for g in report.gaps}
    assert set(found) == {
        ("metric", "http_5xx_count"),
        ("lever", "feature-flags"),
        ("proxy", "wrk_platform"),
    }, "\n".join(report.lines())
    metric = found["metric", "http_5xx_count"]
    assert "`http_5xx_count_total` is not exposed by job(s) edge, core, webhook" in metric.reason
    blocked = {"database-outage", "healthy-baseline", "mitigation-flag-off", "wrk-platform-outage"}
    assert set(metric.blocks) == blocked
    lever = found["lever", "feature-flags"]
    assert "GET /v1/admin/feature-flags on edge answered 404" in lever.reason
    assert lever.blocks == ("mitigation-flag-off",)
    proxy = found["proxy", "wrk_platform"]
    assert "no Toxiproxy proxy between core, worker-build and platform" in proxy.reason
    assert set(proxy.blocks) == {"mitigation-flag-off", "wrk-platform-outage"}


def test_wrkh_run_stops_before_any_scenario_on_a_gap_blocking_it(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "harness.cli", "run", "--report-dir", str(tmp_path),
            "--scenario", "mitigation-flag-off",
            "--fake-env", "WRK_DEFECTS=no_feature_flag_lever"]  # fmt: skip
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output[-3000:]
    assert "no scenario was run" in output
    expected = "lever feature-flags: GET /v1/admin/feature-flags on edge answered 404"
    assert f"GAP  {expected} (blocks mitigation-flag-off)" in output
    assert "scenario mitigation-flag-off\n" not in output  # the scenario never started
    (report,) = [p for p in tmp_path.glob("*/preflight.json") if p.parent.name != "latest"]
    gaps = json.loads(report.read_text())["gaps"]
    assert [(g["kind"], g["item"]) for g in gaps] == [("lever", "feature-flags")]
    results = json.loads((tmp_path / "latest" / "results.json").read_text())  # an error verdict
    assert results["passed"] is False and "no scenario was run" in results["errors"][0]
