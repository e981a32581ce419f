"""Who each alert must reach, and how severe it is, as the spec says (`routing.yaml`).

alerts.yaml carries each alert's receiver and severity because the rules and Alertmanager's
routing are generated from it; an expectation read from there proves only that the
catalogue agrees with itself. routing.yaml is the independent statement, reviewed against
spec §5 (which alerts exist, who is escalated) and §6.1 (what each severity means): each
category of alert, the spec's words for it, its receiver and severity, and the alerts that
belong to it. The catalogue is checked against it when loaded (a mismatch names the file,
the alert and the field), and the suite judges Alertmanager's deliveries against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import Field, model_validator

from harness.errors import Problem
from harness.spec.alerts import Alert, Receiver, Severity
from harness.spec.fields import SpecRef, StrictModel
from harness.spec.files import display_path, read_yaml, validate_data

ROUTING_FILE: Final = "routing.yaml"
ALERTS_FILE: Final = "alerts.yaml"


class Category(StrictModel):
    """One kind of alert of the spec, with who must hear of it and how severe it is."""

    name: str = Field(min_length=1)
    spec_ref: SpecRef
    spec: str = Field(min_length=1)
    """The spec's own words for these alerts (§5), so a review can compare line by line."""
    why: str = Field(min_length=1)
    """Why this receiver and severity, in §5 and §6.1's terms."""
    receiver: Receiver
    severity: Severity
    alerts: tuple[str, ...] = Field(min_length=1)


class RoutingTable(StrictModel):
    """Shape of routing.yaml; an alert belongs to one category only."""

    categories: tuple[Category, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_category_each(self) -> RoutingTable:
        seen: dict[str, str] = {}
        for category in self.categories:
            for alert in category.alerts:
                if alert in seen:
                    raise ValueError(
                        f"alert {alert} is in categories {seen[alert]} and {category.name}"
                    )
                seen[alert] = category.name
        return self

    def expected(self, alert: str) -> Route | None:
        """What `alert` must reach; None when the table does not list it."""
        for category in self.categories:
            if alert in category.alerts:
                return Route(category.name, category.receiver.value, category.severity.value)
        return None


@dataclass(frozen=True)
class Route:
    """The spec's expectation for one alert."""

    category: str
    receiver: str
    severity: str


def load_routing(path: Path) -> tuple[RoutingTable | None, list[Problem]]:
    """routing.yaml when present (None, no problem, when absent)."""
    if not path.exists():
        return None, []
    data, problems = read_yaml(path)
    if problems:
        return None, problems
    return validate_data(RoutingTable, data, display_path(path))


def routing_problems(
    table: RoutingTable, alerts: Iterable[Alert], routing_path: Path, alerts_path: Path
) -> list[Problem]:
    """Every catalogue alert in the table, with the table's receiver and severity; every
    alert of the table in the catalogue. Each problem names the file, alert and field."""
    alerts = tuple(alerts)
    problems: list[Problem] = []
    alerts_file, routing_file = display_path(alerts_path), display_path(routing_path)
    for alert in alerts:
        route = table.expected(alert.name)
        if route is None:
            reason = f"{alert.name} belongs to no category of {ROUTING_FILE}"
            problems.append(Problem(alerts_file, f"{alert.name}", reason))
            continue
        for field, got, want in (
            ("receiver", alert.receiver.value, route.receiver),
            ("severity", alert.severity.value, route.severity),
        ):
            if got != want:
                reason = f"{got!r}, but {ROUTING_FILE} says {want!r} for category {route.category}"
                problems.append(Problem(alerts_file, f"{alert.name}.{field}", reason))
    known = {a.name for a in alerts}
    for i, category in enumerate(table.categories):
        for alert_name in category.alerts:
            if alert_name not in known:
                where = f"categories[{i}].alerts"
                reason = f"{alert_name} is not an alert of {ALERTS_FILE}"
                problems.append(Problem(routing_file, where, reason))
    return problems
