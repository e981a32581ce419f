"""The dashboard part of a runnable plan: which panel queries to capture, which checks to run."""

from __future__ import annotations

from dataclasses import dataclass

from harness.dashboards.expect import DashboardExpect, Move
from harness.dashboards.model import Dashboard, DashboardsFile, Panel
from harness.dashboards.queries import expr_at
from harness.observe.series import SeriesSpec
from harness.spec.timescale import Timing

PANEL_KIND = "panel"


@dataclass(frozen=True)
class PanelPlan:
    """One checked panel and its queries, rendered at the run's scale."""

    key: str
    dashboard: str  # the dashboard's title
    title: str
    queries: tuple[SeriesSpec, ...]  # one per target; `key` of each is unique in the plan

    @property
    def name(self) -> str:
        """How check messages name the panel."""
        return f'dashboard "{self.dashboard}" panel "{self.title}"'


@dataclass(frozen=True)
class DashboardPlan:
    panels: tuple[PanelPlan, ...]
    have_data: tuple[str, ...]  # panel keys
    moves: tuple[tuple[str, Move], ...]

    @property
    def series(self) -> tuple[SeriesSpec, ...]:
        return tuple(q for p in self.panels for q in p.queries)

    def panel(self, key: str) -> PanelPlan:
        return next(p for p in self.panels if p.key == key)


def series_key(dashboard: Dashboard, panel: Panel, ref: str) -> str:
    """`<dashboard>/<panel>` for a one-query panel, `<dashboard>/<panel>/<ref>` otherwise."""
    key = dashboard.panel_key(panel)
    return key if len(panel.targets) == 1 else f"{key}/{ref}"


def panel_plan(file: DashboardsFile, key: str, timing: Timing) -> PanelPlan:
    """The panel `key` with its queries at `timing`'s scale; KeyError if there is none."""
    for dashboard in file.dashboards:
        for panel in dashboard.panels:
            if dashboard.panel_key(panel) != key:
                continue
            queries = tuple(
                SeriesSpec(
                    key=series_key(dashboard, panel, t.ref),
                    title=panel.title,
                    expr=expr_at(t.expr, file, timing.time_scale, timing.scrape_interval_s),
                    kind=PANEL_KIND,
                )
                for t in panel.targets
            )
            return PanelPlan(key, dashboard.title, panel.title, queries)
    raise KeyError(key)


def dashboard_plan(
    expect: DashboardExpect | None, file: DashboardsFile | None, timing: Timing
) -> DashboardPlan | None:
    """What to capture and check; None when the scenario states nothing about dashboards."""
    if expect is None or file is None or not expect.panels:
        return None
    return DashboardPlan(
        panels=tuple(panel_plan(file, key, timing) for key in expect.panels),
        have_data=expect.have_data,
        moves=tuple(expect.moves.items()),
    )
