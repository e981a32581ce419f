"""Grafana JSON and provisioning generated from the catalogue (harness.dashboards.grafana)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.dashboards.grafana import (
    DATASOURCE_VARIABLE,
    GRID_COLUMNS,
    SCHEMA_VERSION,
    render_dashboards,
)
from harness.dashboards.model import RATE_INTERVAL, DashboardsFile
from harness.dashboards.provisioning import DASHBOARDS_PATH, grafana_tree
from harness.spec.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "grafana"


@pytest.fixture(scope="module")
def dashboards() -> DashboardsFile:
    found = load_catalog().dashboards
    assert found is not None
    return found


@pytest.fixture(scope="module")
def rendered(dashboards: DashboardsFile) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in render_dashboards(dashboards).items()}


def targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for p in dashboard["panels"] for t in p["targets"]]


def test_one_file_per_dashboard_in_grafana_10_11_schema(
    rendered: dict[str, dict[str, Any]], dashboards: DashboardsFile
) -> None:
    assert sorted(rendered) == sorted(f"{d.uid}.json" for d in dashboards.dashboards)
    for name, doc in rendered.items():
        assert doc["schemaVersion"] == SCHEMA_VERSION == 39
        assert doc["uid"] == name.removesuffix(".json")
        assert doc["id"] is None  # Grafana assigns it on import
        assert doc["title"] and doc["panels"]


def test_panel_ids_are_unique_and_positions_fit_the_grid(
    rendered: dict[str, dict[str, Any]],
) -> None:
    for doc in rendered.values():
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids))
        cells: set[tuple[int, int]] = set()
        for panel in doc["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_COLUMNS
            covered = {
                (grid["y"] + dy, grid["x"] + dx)
                for dy in range(grid["h"])
                for dx in range(grid["w"])
            }
            assert not covered & cells, f"{panel['title']} overlaps another panel"
            cells |= covered
            assert panel["fieldConfig"]["defaults"]["unit"]


def test_every_panel_and_target_uses_the_datasource_variable(
    rendered: dict[str, dict[str, Any]],
) -> None:
    for doc in rendered.values():
        variables = doc["templating"]["list"]
        assert [(v["name"], v["type"], v["query"]) for v in variables] == [
            (DATASOURCE_VARIABLE, "datasource", "prometheus")
        ]
        wanted = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
        assert all(p["datasource"] == wanted for p in doc["panels"])
        assert all(t["datasource"] == wanted for t in targets(doc))


def test_grafana_queries_keep_rate_interval_and_real_windows(
    rendered: dict[str, dict[str, Any]],
) -> None:
    exprs = [t["expr"] for doc in rendered.values() for t in targets(doc)]
    assert any(RATE_INTERVAL in e for e in exprs)
    assert not any("{{" in e for e in exprs), "a window placeholder was left unrendered"
    assert any("[7d]" in e for e in exprs)  # per week, at production length


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_every_query_parses_in_prometheus(
    rendered: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Each query as a recording rule: promtool parses it as Prometheus would."""
    exprs = [
        t["expr"].replace(RATE_INTERVAL, "1m") for doc in rendered.values() for t in targets(doc)
    ]
    rules = [{"record": f"dashboard:query:{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_rejects_a_broken_query(tmp_path: Path) -> None:
    """The parse check above can fail."""
    path = tmp_path / "bad.rules.yml"
    rule = {"record": "dashboard:query:0", "expr": "sum by (route) (rate(x[1m])"}
    path.write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": [rule]}]}))
    proc = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0


def test_checked_in_provisioning_is_what_the_generator_writes(dashboards: DashboardsFile) -> None:
    tree = grafana_tree(dashboards)
    on_disk = {
        str(p.relative_to(DEPLOY)): p.read_text(encoding="utf-8")
        for p in DEPLOY.rglob("*")
        if p.is_file()
    }
    assert sorted(on_disk) == sorted(tree), (
        "regenerate: wrkh dashboards --provisioning --out deploy/grafana"
    )
    for path, text in tree.items():
        assert on_disk[path] == text, (
            f"{path} is stale: wrkh dashboards --provisioning --out deploy/grafana"
        )


def test_provisioning_points_at_the_mounted_paths(dashboards: DashboardsFile) -> None:
    tree = grafana_tree(dashboards)
    provider = yaml.safe_load(tree["provisioning/dashboards/wrk.yaml"])["providers"][0]
    assert provider["options"]["path"] == DASHBOARDS_PATH == "/var/lib/grafana/dashboards"
    datasource = yaml.safe_load(tree["provisioning/datasources/prometheus.yaml"])["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["isDefault"] is True


def test_the_cli_writes_the_dashboards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{d}.json"
        for d in ("wrk-api-health", "wrk-worker-queue", "wrk-platform-integration", "wrk-domain")
    )
    assert "wrote 4 file(s)" in capsys.readouterr().out
    assert main(["dashboards", "--provisioning", "--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "provisioning" / "dashboards" / "wrk.yaml").is_file()
