"""The dashboards of spec §4 as typed catalogue data (`scenarios/catalog/dashboards.yaml`).

A panel's queries are PromQL written once and used twice: Grafana shows them (with its own
`$__rate_interval`) and the harness reads them at the run's time scale to check the panel has
data and moves during a fault. So they obey the same rules as the catalogue's alerts: only
series, labels and label values declared in metrics.yaml (`vocabulary_problems`), and no
literal range durations: a fixed window is a named `{{placeholder}}` from `windows` (scaled in
a test run), the rate window is Grafana's `$__rate_interval` (scaled from `rate_interval`).
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from harness.spec.fields import PositiveSeconds, SpecRef, StrictModel
from harness.spec.templates import literal_duration, placeholders
from harness.spec.vocabulary import context_vocabulary, vocabulary_problems

RATE_INTERVAL = "$__rate_interval"
_VARIABLES = (RATE_INTERVAL,)  # filled like a window placeholder when the query is parsed
# Any Grafana variable in an expression: only `$__rate_interval` has a meaning the harness can
# reproduce; `$__interval` or a dashboard variable would make the checked query differ from
# the shown one.
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")

Uid = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]  # Grafana: 40 chars at most
RefId = Annotated[str, Field(pattern=r"^[A-Z]$")]


class PanelType(StrEnum):
    """Grafana panel types the generator knows how to configure."""

    TIMESERIES = "timeseries"
    BARGAUGE = "bargauge"
    STATUS_HISTORY = "status-history"  # one row per series, coloured by value: a heatmap
    STAT = "stat"


class Unit(StrEnum):
    """Grafana unit ids used by the dashboards."""

    REQUESTS_PER_SECOND = "reqps"
    OPS_PER_SECOND = "ops"
    PERCENT_UNIT = "percentunit"
    SECONDS = "s"
    SHORT = "short"


def slugify(title: str) -> str:
    """`5xx by route` -> `5xx-by-route`: a panel's key in results and scenario files."""
    return _SLUG_JUNK.sub("-", title.lower()).strip("-")


class PanelQuery(StrictModel):
    """One query of a panel."""

    ref: RefId = "A"
    expr: str = Field(min_length=1)
    """PromQL; windows as `[$__rate_interval]` or `[{{name}}]` of the file's `windows`."""
    legend: str = ""
    """Grafana legend format, e.g. `{{route}}`."""

    @field_validator("expr")
    @classmethod
    def _check_expr(cls, expr: str, info: ValidationInfo) -> str:
        problems = _window_problems(expr, info)
        subject = f"query {info.data.get('ref', '?')}"
        vocabulary = context_vocabulary(info)
        problems += vocabulary_problems(expr, vocabulary, subject=subject, variables=_VARIABLES)
        if problems:
            raise ValueError("; ".join(problems))
        return expr


def _window_problems(expr: str, info: ValidationInfo) -> list[str]:
    problems: list[str] = []
    literal = literal_duration(expr, _VARIABLES)
    if literal is not None:
        problems.append(
            f"literal duration {literal!r} would not scale: use [{RATE_INTERVAL}] or a "
            "{{name}} of `windows`"
        )
    others = sorted({m for m in _VARIABLE.findall(expr) if f"${m}" != RATE_INTERVAL})
    if others:
        problems.append(f"only {RATE_INTERVAL} may be used, not ${', $'.join(others)}")
    known = (info.context or {}).get("windows")
    unknown = sorted(placeholders(expr) - set(known)) if isinstance(known, dict) else []
    if unknown:
        problems.append(f"window(s) {unknown} not declared in `windows`")
    return problems


class Panel(StrictModel):
    """One panel: a title people recognise during an incident, and the queries behind it."""

    title: str = Field(min_length=1, max_length=80)
    """Unique across all dashboards: scenarios and check messages name panels by it."""
    type: PanelType = PanelType.TIMESERIES
    unit: Unit = Unit.SHORT
    description: str = ""
    width: int = Field(default=12, ge=1, le=24)
    """Grafana grid columns (24 = full width)."""
    targets: tuple[PanelQuery, ...] = Field(min_length=1, max_length=26)

    @field_validator("targets")
    @classmethod
    def _refs_unique(cls, targets: tuple[PanelQuery, ...]) -> tuple[PanelQuery, ...]:
        dupes = sorted(r for r, n in Counter(t.ref for t in targets).items() if n > 1)
        if dupes:
            raise ValueError(f"duplicate target ref(s) {dupes}")
        return targets

    @property
    def slug(self) -> str:
        return slugify(self.title)


class Dashboard(StrictModel):
    """One dashboard of spec §4."""

    uid: Uid
    title: str = Field(min_length=1)
    spec_ref: SpecRef
    description: str = ""
    panels: tuple[Panel, ...] = Field(min_length=1)

    def panel_key(self, panel: Panel) -> str:
        """`<dashboard uid>/<panel slug>`: a panel's key, unique in the catalogue."""
        return f"{self.uid}/{panel.slug}"


class DashboardsFile(StrictModel):
    """Shape of dashboards.yaml."""

    rate_interval_s: PositiveSeconds = Field(alias="rate_interval")
    """What `$__rate_interval` stands for in a harness run, at REAL scale (divided by the
    run's time scale, never below four scrape intervals, as in Grafana)."""
    windows_s: dict[str, PositiveSeconds] = Field(default={}, alias="windows")
    """Named fixed windows (`week: 1w`), written `[{{week}}]` in queries."""
    dashboards: tuple[Dashboard, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> DashboardsFile:
        problems = []
        for what, names in (
            ("dashboard uid", [d.uid for d in self.dashboards]),
            ("panel title", [p.title for d in self.dashboards for p in d.panels]),
            ("panel slug", [p.slug for d in self.dashboards for p in d.panels]),
        ):
            dupes = sorted(n for n, c in Counter(names).items() if c > 1)
            if dupes:
                problems.append(f"duplicate {what}(s): {dupes}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
