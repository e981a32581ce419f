"""Grafana dashboard JSON (schemaVersion 39: Grafana 10.4 / 11) generated from the catalogue.

Every panel and every target uses the `datasource` template variable, so the same JSON works
imported by hand (Grafana asks for nothing; the variable picks the default Prometheus) and
provisioned from files. Panel ids are numbered in order, positions flow left to right.
"""

from __future__ import annotations

import json
from typing import Any

from harness.dashboards.model import Dashboard, DashboardsFile, Panel, PanelQuery, PanelType
from harness.dashboards.queries import grafana_expr

SCHEMA_VERSION = 39
GRID_COLUMNS = 24
PANEL_HEIGHT = 8
DATASOURCE_VARIABLE = "datasource"
DATASOURCE = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
TAGS = ("wrk-copilot", "generated")

_LEGEND = {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []}
_TOOLTIP = {"mode": "multi", "sort": "desc"}
_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}
_OPTIONS: dict[PanelType, dict[str, Any]] = {
    PanelType.TIMESERIES: {"legend": _LEGEND, "tooltip": _TOOLTIP},
    PanelType.BARGAUGE: {
        "reduceOptions": _LAST,
        "orientation": "horizontal",
        "displayMode": "gradient",
        "showUnfilled": True,
    },
    PanelType.STAT: {"reduceOptions": _LAST, "colorMode": "value", "graphMode": "area"},
    PanelType.STATUS_HISTORY: {
        "showValue": "never",
        "rowHeight": 0.9,
        "colWidth": 0.9,
        "legend": _LEGEND,
        "tooltip": _TOOLTIP,
    },
}
_COLOR: dict[PanelType, dict[str, str]] = {
    PanelType.STATUS_HISTORY: {"mode": "continuous-GrYlRd"},
}
_TIMESERIES_STYLE = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}


def _target(target: PanelQuery, file: DashboardsFile) -> dict[str, Any]:
    return {
        "refId": target.ref,
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": grafana_expr(target.expr, file),
        "legendFormat": target.legend or "__auto",
        "range": True,
        "instant": False,
    }


def _field_config(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": panel.unit.value,
        "color": _COLOR.get(panel.type, {"mode": "palette-classic"}),
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
    }
    if panel.type is PanelType.TIMESERIES:
        defaults["custom"] = _TIMESERIES_STYLE
    return {"defaults": defaults, "overrides": []}


def panel_json(
    panel: Panel, panel_id: int, grid: tuple[int, int], file: DashboardsFile
) -> dict[str, Any]:
    x, y = grid
    return {
        "id": panel_id,
        "type": panel.type.value,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": PANEL_HEIGHT, "w": panel.width, "x": x, "y": y},
        "fieldConfig": _field_config(panel),
        "options": _OPTIONS[panel.type],
        "targets": [_target(t, file) for t in panel.targets],
    }


def layout(panels: tuple[Panel, ...]) -> list[tuple[int, int]]:
    """Grid (x, y) of each panel: left to right, a new row when the next one does not fit."""
    x = y = 0
    grid = []
    for panel in panels:
        if x + panel.width > GRID_COLUMNS:
            x, y = 0, y + PANEL_HEIGHT
        grid.append((x, y))
        x += panel.width
    return grid


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": DATASOURCE_VARIABLE,
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
        "skipUrlSync": False,
    }


def dashboard_json(dashboard: Dashboard, file: DashboardsFile) -> dict[str, Any]:
    """One dashboard as Grafana stores it (id null: Grafana assigns it on import)."""
    grid = layout(dashboard.panels)
    panels = [
        panel_json(p, i, g, file)
        for i, (p, g) in enumerate(zip(dashboard.panels, grid, strict=True), 1)
    ]
    return {
        "id": None,
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": f"{dashboard.description} (spec {dashboard.spec_ref})",
        "tags": [*TAGS, dashboard.spec_ref],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "browser",
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [_datasource_variable()]},
        "panels": panels,
    }


def render_dashboards(file: DashboardsFile) -> dict[str, str]:
    """File name (`<uid>.json`) -> JSON text, for every dashboard."""
    return {
        f"{d.uid}.json": json.dumps(dashboard_json(d, file), indent=2, ensure_ascii=False) + "\n"
        for d in file.dashboards
    }
