"""`expect.dashboards` in scenario files, and the plan built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.dashboards.plan import PANEL_KIND
from harness.errors import ConfigError
from harness.run.plan import build_plan
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.scenario import load_scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def scenario(dashboards: Any, faults: bool = True) -> dict[str, Any]:
    return {
        "name": "dash",
        "description": "d",
        "load": {"users": 1, "rate_per_user": 1, "mix": {"studio_read": 1}},
        "phases": {"warmup": "1m", "baseline": "1m"},
        "faults": [{"name": "down", "proxy": "wrk_platform", "kind": "outage", "hold": "1m"}]
        if faults
        else [],
        "expect": {"dashboards": dashboards},
    }


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def problems(tmp_path: Path, data: dict[str, Any], catalog: Catalog) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_scenarios([write(tmp_path, data)], catalog)
    return {f"{p.file}: {p.field}": p.reason for p in info.value.problems}


def test_all_means_every_panel_by_key(tmp_path: Path, catalog: Catalog) -> None:
    s = load_scenario(write(tmp_path, scenario({"have_data": "all"})), catalog)
    assert catalog.dashboards is not None
    count = sum(len(d.panels) for d in catalog.dashboards.dashboards)
    assert s.expect.dashboards is not None
    assert len(s.expect.dashboards.have_data) == count
    assert "wrk-api-health/5xx-by-route" in s.expect.dashboards.have_data


def test_panels_are_named_by_title_or_key(tmp_path: Path, catalog: Catalog) -> None:
    data = scenario(
        {"have_data": ["wrk-worker-queue/queue-depth-per-queue"], "moves": {"5xx by route": {}}}
    )
    expect = load_scenario(write(tmp_path, data), catalog).expect.dashboards
    assert expect is not None
    assert expect.have_data == ("wrk-worker-queue/queue-depth-per-queue",)
    move = expect.moves["wrk-api-health/5xx-by-route"]
    assert (move.direction.value, move.ratio) == ("up", 2.0)


def test_unknown_panels_and_bad_moves_are_rejected(tmp_path: Path, catalog: Catalog) -> None:
    data = scenario(
        {
            "have_data": ["5xx per route"],
            "moves": {"No such panel": {"direction": "up"}, "5xx by route": {"ratio": 1}},
        }
    )
    found = problems(tmp_path, data, catalog)
    file = str(tmp_path / "s.yaml")
    assert "unknown panel '5xx per route'" in found[f"{file}: expect.dashboards.have_data[0]"]
    assert (
        "unknown panel 'No such panel'" in found[f"{file}: expect.dashboards.moves.No such panel"]
    )
    assert "greater than 1" in found[f"{file}: expect.dashboards.moves.5xx by route.ratio"]


def test_moves_needs_a_fault(tmp_path: Path, catalog: Catalog) -> None:
    data = scenario({"moves": {"5xx by route": {}}}, faults=False)
    found = problems(tmp_path, data, catalog)
    reason = found[f"{tmp_path / 's.yaml'}: expect.dashboards.moves"]
    assert "only be expected to move during a fault" in reason


def test_the_plan_captures_each_checked_panel_query_at_the_run_scale(catalog: Catalog) -> None:
    s = load_scenario(ROOT / "scenarios" / "healthy_baseline.yaml", catalog)
    plan = build_plan(s, catalog, catalog.timing(60))
    assert plan.dashboards is not None
    panels = [q for q in plan.series if q.kind == PANEL_KIND]
    assert len({q.key for q in panels}) == len(panels)
    assert len(plan.dashboards.have_data) == len(plan.dashboards.panels)
    latency = [q for q in panels if q.title == "Latency by route (p50, p95, p99)"]
    assert [q.key.rsplit("/", 1)[1] for q in latency] == ["A", "B", "C"]
    five = next(q for q in panels if q.key == "wrk-api-health/5xx-by-route")
    assert five.expr == "sum by (route) (rate(http_5xx_count_total[5s]))"
    assert not any("$" in q.expr or "{{" in q.expr for q in panels)


def test_scenarios_without_dashboards_capture_no_panel(catalog: Catalog) -> None:
    s = load_scenario(ROOT / "scenarios" / "database_outage.yaml", catalog)
    plan = build_plan(s, catalog, catalog.timing(60))
    assert plan.dashboards is None
    assert not [q for q in plan.series if q.kind == PANEL_KIND]


def test_each_needs_a_label_every_query_groups_by(tmp_path: Path, catalog: Catalog) -> None:
    ok = {"Queue depth per queue": {"each": {"queue": ["notifications"]}}}
    expect = load_scenario(write(tmp_path, scenario({"moves": ok})), catalog).expect.dashboards
    assert expect is not None
    move = expect.moves["wrk-worker-queue/queue-depth-per-queue"]
    assert move.label_values == (("queue", "notifications"),)
    bad = {"Queue depth per queue": {"each": {"route": ["/v1/automations"]}}}
    found = problems(tmp_path, scenario({"moves": bad}), catalog)
    reason = next(iter(found.values()))
    assert "'wrk-worker-queue/queue-depth-per-queue': a query does not group by 'route'" in reason
