"""`wrkh contract`: what a build must expose, generated from the catalogue, byte-stable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.contract.build import build_contract
from harness.contract.cli import load_inputs
from harness.contract.render import to_json, to_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    catalog, scenarios, levers = load_inputs(ROOT / "scenarios")
    loaded: dict[str, Any] = json.loads(to_json(build_contract(catalog, scenarios, levers)))
    return loaded


def test_output_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        assert (
            main(["contract", "--scenarios", str(ROOT / "scenarios"), "--out", str(tmp_path / run)])
            == 0
        )
        outputs.append(
            [(tmp_path / run / f).read_bytes() for f in ("contract.json", "contract.md")]
        )
    assert outputs[0] == outputs[1]
    catalog, scenarios, levers = load_inputs(ROOT / "scenarios")
    contract = build_contract(catalog, scenarios, levers)
    assert to_markdown(contract).encode() == outputs[0][1]


def test_every_metric_with_type_labels_values_and_buckets(doc: dict[str, Any]) -> None:
    metrics = {m["name"]: m for m in doc["metrics"]}
    latency = metrics["http_request_duration_seconds_bucket"]
    assert latency["type"] == "histogram" and latency["labels"] == ["route", "method"]
    assert 0.4 in latency["buckets"] and 2 in latency["buckets"]
    assert latency["jobs"] == ["edge", "core", "webhook"]
    assert "alert ApiHighLatencyP95" in latency["read_by"]
    assert metrics["quotes_by_status"]["values"] == {
        "status": ["draft", "sent", "signed", "rejected"]
    }
    assert len(metrics) == 24


def test_fault_points_levers_logs_traces_and_alerting(doc: dict[str, Any]) -> None:
    points = {p["proxy"]: p for p in doc["fault_points"]}
    assert points["wrk_platform"]["clients"] == ["core", "worker-build"]
    assert points["wrk_platform"]["upstream"] == "platform"
    assert points["redis_workers"]["scenarios"] == ["queue-backlog"]
    levers = {lv["name"]: lv for lv in doc["levers"]}
    assert levers["feature-flags"]["write"] == "PUT /v1/admin/feature-flags/{flag}"
    assert levers["feature-flags"]["scenarios"] == ["mitigation-flag-off"]
    assert levers["rate-limit"]["read"] == "GET /v1/admin/rate-limit"
    fields = [f["name"] for f in doc["log_fields"]]
    assert {"timestamp", "level", "request_id", "tenant_id", "error_code"} <= set(fields)
    codes = {c["code"]: c["scenarios"] for c in doc["error_codes"]}
    assert codes == {
        "db_unavailable": ["database-outage"],
        "wrk_platform_unavailable": ["wrk-platform-outage"],
    }
    traces = {t["name"]: t for t in doc["traces"]}
    assert traces["api_db_enqueue"]["hops"][0]["name"] == "edge server"
    assert doc["receivers"] == ["oncall", "security", "ops-escalation"]


def test_what_each_scenario_needs(doc: dict[str, Any]) -> None:
    needs = {s["name"]: s for s in doc["scenarios"]}
    outage = needs["wrk-platform-outage"]
    assert outage["proxies"] == ["wrk_platform"]
    assert outage["alerts"] == ["ApiHigh5xxRate", "WrkPlatformFailureRate"]
    assert outage["metrics"] == ["http_request_count", "http_5xx_count", "wrk_platform_calls_total"]
    assert outage["error_codes"] == ["wrk_platform_unavailable"]
    assert needs["mitigation-flag-off"]["levers"] == ["feature-flags"]
    assert needs["healthy-baseline"]["tables"] == [
        "automation_versions",
        "job_runs",
        "notifications",
        "run_events",
        "usage_aggregates",
    ]


def test_a_bad_levers_file_is_refused_with_file_field_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", scenarios)
    levers = scenarios / "catalog" / "levers.yaml"
    levers.write_text(levers.read_text().replace("method: GET", "method: FETCH", 1))
    code = main(["contract", "--scenarios", str(scenarios), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "levers.yaml: levers[0].read.method:" in err
