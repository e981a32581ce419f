"""What a scenario states about dashboards (`expect.dashboards`), validated against the catalogue.

    dashboards:
      have_data: all                    # or a list of panels: each must show data in the baseline
      moves:                            # each must move in the fault window vs the baseline
        5xx by route: {direction: up, ratio: 2}
        Queue depth per queue: {each: {queue: [build-requests, notifications]}}

`each` judges a panel per label value rather than by its total: one queue's backlog rising
must not hide another's that stays flat (a gauge stuck at 0, a queue no longer exported).

A panel is named by its title or its key `<dashboard uid>/<slug>`; both are resolved to the
key here, so an unknown panel is rejected when the scenario is loaded, not when it has run.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from harness.dashboards.model import DashboardsFile
from harness.spec.fields import LabelName, StrictModel

ALL_PANELS: Final = "all"


def _dashboards(info: ValidationInfo) -> DashboardsFile | None:
    """The catalogue's dashboards, from the scenario loader's validation context."""
    catalog = (info.context or {}).get("catalog")
    found = getattr(catalog, "dashboards", None)
    if catalog is not None and found is None:
        raise ValueError("the catalogue has no dashboards (scenarios/catalog/dashboards.yaml)")
    return found if isinstance(found, DashboardsFile) else None


def panel_keys(file: DashboardsFile) -> dict[str, str]:
    """Every name a panel may be referred by (title, key) -> its key."""
    names: dict[str, str] = {}
    for dashboard in file.dashboards:
        for panel in dashboard.panels:
            key = dashboard.panel_key(panel)
            names[panel.title] = names[key] = key
    return names


def _resolve(name: str, info: ValidationInfo) -> str:
    file = _dashboards(info)
    if file is None:  # validated without a catalogue: kept as written
        return name
    known = panel_keys(file)
    if name not in known:
        titles = ", ".join(repr(p.title) for d in file.dashboards for p in d.panels)
        raise ValueError(f"unknown panel {name!r}; the dashboards have: {titles}")
    return known[name]


def _every_panel(value: object, info: ValidationInfo) -> object:
    if value != ALL_PANELS:
        return value
    file = _dashboards(info)
    if file is None:
        raise ValueError(f"{ALL_PANELS!r} needs the catalogue (use load_scenario)")
    return tuple(d.panel_key(p) for d in file.dashboards for p in d.panels)


PanelRef = Annotated[str, AfterValidator(_resolve)]


def _keeps(expr: str, label: str) -> bool:
    """Whether an aggregation of `expr` groups by `label` (`by (..., label, ...)`)."""
    return any(
        label in (n.strip() for n in group.split(","))
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr)
    )


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Move(StrictModel):
    """How a panel must move: its total, averaged over the fault window, against the baseline."""

    direction: Direction = Direction.UP
    ratio: float = Field(default=2.0, gt=1.0)
    """up: fault >= ratio x baseline; down: fault <= baseline / ratio."""
    each: dict[LabelName, tuple[str, ...]] = {}
    """Label -> values: each value's series must move on its own, in every query of the panel
    (one check per value); empty: the panel's total must move."""

    @property
    def label_values(self) -> tuple[tuple[str, str], ...]:
        """(label, value) pairs of `each`, in order."""
        return tuple((label, v) for label, values in self.each.items() for v in values)


class DashboardExpect(StrictModel):
    """Panels that must show data in the healthy baseline, and panels the fault must move."""

    have_data: Annotated[tuple[PanelRef, ...], BeforeValidator(_every_panel)] = ()
    """`all` or a list of panels (title or key)."""
    moves: dict[PanelRef, Move] = {}
    """Panel (title or key) -> how it must move while the faults are active."""

    @model_validator(mode="after")
    def _each_label_is_grouped_by(self, info: ValidationInfo) -> DashboardExpect:
        """A label of `each` that a query does not keep would match no series: every value
        would fail, so it is refused when the scenario is loaded."""
        file = _dashboards(info)
        if file is None:
            return self
        exprs = {
            d.panel_key(p): [t.expr for t in p.targets] for d in file.dashboards for p in d.panels
        }
        problems = [
            f"panel {key!r}: a query does not group by {label!r}"
            for key, move in self.moves.items()
            for label in move.each
            if not all(_keeps(expr, label) for expr in exprs.get(key, ()))
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def panels(self) -> tuple[str, ...]:
        """Keys of every panel this expectation checks, in order, once each."""
        return tuple(dict.fromkeys((*self.have_data, *self.moves)))
