"""What a scenario states about dashboards (`expect.dashboards`), validated against the catalogue.

    dashboards:
      have_data: all                    # or a list of panels: each must show data in the baseline
      moves:                            # each must move in the fault window vs the baseline
        5xx by route: {direction: up, ratio: 2}

A panel is named by its title or its key `<dashboard uid>/<slug>`; both are resolved to the
key here, so an unknown panel is rejected when the scenario is loaded, not when it has run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from harness.dashboards.model import DashboardsFile
from harness.spec.fields import StrictModel

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


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Move(StrictModel):
    """How a panel must move: its total, averaged over the fault window, against the baseline."""

    direction: Direction = Direction.UP
    ratio: float = Field(default=2.0, gt=1.0)
    """up: fault >= ratio x baseline; down: fault <= baseline / ratio."""


class DashboardExpect(StrictModel):
    """Panels that must show data in the healthy baseline, and panels the fault must move."""

    have_data: Annotated[tuple[PanelRef, ...], BeforeValidator(_every_panel)] = ()
    """`all` or a list of panels (title or key)."""
    moves: dict[PanelRef, Move] = {}
    """Panel (title or key) -> how it must move while the faults are active."""

    @property
    def panels(self) -> tuple[str, ...]:
        """Keys of every panel this expectation checks, in order, once each."""
        return tuple(dict.fromkeys((*self.have_data, *self.moves)))
