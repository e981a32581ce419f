"""The dashboards catalogue (harness.dashboards.model, .load): vocabulary, windows, names."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.dashboards.load import DASHBOARDS_FILE, load_dashboards
from harness.dashboards.model import DashboardsFile, slugify
from harness.dashboards.queries import expr_at, grafana_expr
from harness.errors import ConfigError
from harness.spec.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog

SPEC_PANELS = {
    "§4.1": ["Request rate by route", "4xx by route", "5xx by route", "Latency by route"],
    "§4.2": ["Queue depth per queue", "Job failure rate by queue", "Dead-letter queue size"],
    "§4.3": ["WRK Platform calls by outcome", "WRK Platform call latency", "Webhook failures"],
    "§4.4": ["Automations by status", "New automations per week", "Quotes by status",
             "Clients by health status", "New At Risk / Churn Risk clients per week"],
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def dashboards(catalog: Catalog) -> DashboardsFile:
    assert catalog.dashboards is not None
    return catalog.dashboards


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEFAULT_CATALOG_DIR / DASHBOARDS_FILE).read_text())
    return data


def problems_of(tmp_path: Path, data: dict[str, Any]) -> dict[str, str]:
    folder = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, folder)
    (folder / DASHBOARDS_FILE).write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_catalog(folder)
    return {p.field: p.reason for p in info.value.problems}


def first_target(data: dict[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = data["dashboards"][0]["panels"][0]["targets"][0]
    return target


def test_the_four_dashboards_of_spec_section_4_are_there(dashboards: DashboardsFile) -> None:
    by_ref = {d.spec_ref: [p.title for p in d.panels] for d in dashboards.dashboards}
    assert sorted(by_ref) == sorted(SPEC_PANELS)
    for ref, wanted in SPEC_PANELS.items():
        for title in wanted:
            assert any(t.startswith(title) for t in by_ref[ref]), (ref, title)


def test_a_series_not_in_the_metric_contract_is_rejected(tmp_path: Path) -> None:
    data = raw()
    first_target(data)["expr"] = "sum(rate(http_requests_total[$__rate_interval]))"
    problems = problems_of(tmp_path, data)
    field = "dashboards[0].panels[0].targets[0].expr"
    assert "http_requests_total" in problems[field]
    assert "not declared in metrics.yaml" in problems[field]


def test_an_undeclared_label_or_value_is_rejected(tmp_path: Path) -> None:
    data = raw()
    first_target(data)["expr"] = (
        'sum by (tenant) (rate(http_5xx_count_total{tenant="a"}[$__rate_interval]))'
    )
    data["dashboards"][0]["panels"][1]["targets"][0]["expr"] = 'max(queue_depth{queue="emails"})'
    problems = problems_of(tmp_path, data)
    assert "has no label 'tenant'" in problems["dashboards[0].panels[0].targets[0].expr"]
    assert "matches none of its values" in problems["dashboards[0].panels[1].targets[0].expr"]


def test_literal_windows_and_other_grafana_variables_are_rejected(tmp_path: Path) -> None:
    data = raw()
    first_target(data)["expr"] = "sum(rate(http_5xx_count_total[5m]))"
    data["dashboards"][0]["panels"][1]["targets"][0]["expr"] = (
        "sum(rate(http_5xx_count_total[$__interval]))"
    )
    data["dashboards"][0]["panels"][2]["targets"][0]["expr"] = (
        "sum(increase(http_5xx_count_total[{{month}}]))"
    )
    problems = problems_of(tmp_path, data)
    assert "literal duration '5m'" in problems["dashboards[0].panels[0].targets[0].expr"]
    assert "$__interval" in problems["dashboards[0].panels[1].targets[0].expr"]
    assert "['month'] not declared" in problems["dashboards[0].panels[2].targets[0].expr"]


def test_panel_titles_are_unique_across_dashboards(tmp_path: Path) -> None:
    data = raw()
    data["dashboards"][1]["panels"][0]["title"] = data["dashboards"][0]["panels"][0]["title"]
    problems = problems_of(tmp_path, data)
    assert "duplicate panel title(s): ['Request rate by route']" in problems["(root)"]


def test_unknown_fields_units_and_types_are_rejected(tmp_path: Path) -> None:
    data = raw()
    data["dashboards"][0]["panels"][0]["unit"] = "furlongs"
    data["dashboards"][0]["panels"][1]["type"] = "piechart3d"
    data["dashboards"][0]["panels"][2]["colour"] = "red"
    problems = problems_of(tmp_path, data)
    assert "dashboards[0].panels[0].unit" in problems
    assert "dashboards[0].panels[1].type" in problems
    assert problems["dashboards[0].panels[2].colour"] == "unknown field (not allowed here)"


def test_a_catalogue_without_dashboards_file_is_valid(tmp_path: Path) -> None:
    assert load_dashboards(tmp_path / DASHBOARDS_FILE, None) == (None, [])


def test_windows_scale_and_rate_interval_keeps_four_scrapes(dashboards: DashboardsFile) -> None:
    week = "delta(automation_versions_by_status[{{week}}])"
    assert expr_at(week, dashboards, 60, 0.625) == "delta(automation_versions_by_status[168m])"
    assert grafana_expr(week, dashboards) == "delta(automation_versions_by_status[7d])"
    rate = "rate(http_5xx_count_total[$__rate_interval])"
    assert expr_at(rate, dashboards, 60, 0.625) == "rate(http_5xx_count_total[5s])"
    assert expr_at(rate, dashboards, 600, 0.2) == "rate(http_5xx_count_total[800ms])"  # 4 x 0.2 s
    assert grafana_expr(rate, dashboards) == rate


def test_slugs_are_readable_keys() -> None:
    assert slugify("New At Risk / Churn Risk clients per week") == (
        "new-at-risk-churn-risk-clients-per-week"
    )
