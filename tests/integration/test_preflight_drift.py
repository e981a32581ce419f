"""`wrkh preflight` against a deployment that drifted from the catalogue: a rule's `for`
changed, the security route sent to on-call, and histograms with the client library's
default buckets. Each is a gap naming the alert (or metric) and the field (or threshold)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.contract.cli import load_inputs
from harness.contract.preflight import Expectations, PreflightReport, run_preflight
from harness.sandbox import start
from harness.spec.catalog import Catalog
from harness.spec.timescale import Timing
from harness.stack import tools
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


def _deployed(catalog: Catalog) -> Catalog:
    """The catalogue a careless deployment ran: QueueDepthHigh held 1 minute, not 10."""
    alerts = tuple(
        a.model_copy(update={"for_s": 60.0}) if a.name == "QueueDepthHigh" else a
        for a in catalog.alerts
    )
    return catalog.model_copy(update={"alerts": alerts})


def _security_to_oncall(catalog: Catalog, base_url: str, timing: Timing) -> str:
    doc = yaml.safe_load(start_render(catalog, base_url, timing))
    for route in doc["route"]["routes"]:
        if route["receiver"] == "security":
            route["receiver"] = "oncall"
    return yaml.safe_dump(doc, sort_keys=False)


start_render = start.render_alertmanager_config


def test_drifted_rules_routing_and_buckets_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, scenarios, levers = load_inputs(ROOT / "scenarios")
    timing = catalog.timing(SCALE)
    monkeypatch.setattr(start, "render_alertmanager_config", _security_to_oncall)
    with open_tempdir("wrkh-preflight-drift-") as root:
        started = start.start_stack(
            "local", _deployed(catalog), timing, stack_dir=root, run_id="preflight-drift",
            fake_env={"WRK_DEFECTS": "coarse_buckets"},
        )  # fmt: skip
        try:
            report: PreflightReport = run_preflight(
                started.target, Expectations.of(catalog, scenarios, levers, timing)
            )
        finally:
            started.stop()
    gaps = {(g.kind, g.item, g.reason) for g in report.gaps}
    text = "\n".join(report.lines())
    assert ("rule", "QueueDepthHigh", "for: runs 1s, expected 10s (time scale 60)") in gaps, text
    security = "receiver: runs oncall, expected security"
    assert ("routing", "AuthBruteForce", security) in gaps, text
    assert ("routing", "WebhookSignatureFailures", security) in gaps, text
    edges = [g.reason for g in report.gaps if g.kind == "buckets"]
    assert any("threshold 0.4 s of SLO studio-api-read-latency" in r for r in edges), text
