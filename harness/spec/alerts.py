"""The alerts of spec §5 at real durations: severity, receiver, PromQL with window
placeholders, and the budget each alert gets at a time scale."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from harness.spec.alert_tests import AlertTest
from harness.spec.fields import (
    LabelName,
    PositiveSeconds,
    Seconds,
    SpecRef,
    StrictModel,
    raise_if_any,
)
from harness.spec.slo import SLOS_FILE
from harness.spec.templates import literal_duration, placeholders, render_template
from harness.spec.timescale import AlertBudget, Timing, budget, compressed_scale, format_duration
from harness.spec.vocabulary import context_vocabulary, vocabulary_problems

MAIN_WINDOW = "window"
# Labels and annotations the renderer sets itself; an alert may not override them.
RESERVED_LABELS = frozenset({"alertname", "severity", "receiver"})
RESERVED_ANNOTATIONS = frozenset({"summary", "spec_ref"})


class Severity(StrEnum):
    """Incident severities of spec §6.1."""

    SEV_1 = "SEV-1"  # platform-wide outage, key flows broken
    SEV_2 = "SEV-2"  # major feature impacted for a subset of tenants
    SEV_3 = "SEV-3"  # degraded performance, partial failures


class Receiver(StrEnum):
    """Who is notified (spec §5, §6.2); Alertmanager routes on the `receiver` label."""

    ONCALL = "oncall"
    SECURITY = "security"
    OPS_ESCALATION = "ops-escalation"


class ScalePolicy(StrEnum):
    """Which time scale an alert runs at in a test run (see harness.spec.timescale)."""

    RUN = "run"  # the run's scale, like everything else
    COMPRESS = "compress"  # as fast as its shortest window allows at the run's interval


class AlertFields(StrictModel):
    """Fields every alert has, written or generated."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Prometheus `alertname`, e.g. `ApiHigh5xxRate`."""
    summary: str = Field(min_length=1)
    spec_ref: SpecRef
    """Section of the spec the alert comes from, e.g. `§5.1`."""
    severity: Severity
    receiver: Receiver
    for_s: Seconds = Field(alias="for")
    """How long the condition must hold before the alert fires (Prometheus `for`)."""
    labels: dict[LabelName, str] = {}
    annotations: dict[LabelName, str] = {}
    test_scale: ScalePolicy = ScalePolicy.RUN
    """`compress` only for alerts a run could not prove at its own scale (3-day windows)."""
    test: AlertTest
    """promtool unit-test inputs proving the rule fires and stays quiet."""

    @field_validator("labels")
    @classmethod
    def _labels_not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        _reject_reserved(labels, RESERVED_LABELS, "label")
        return labels

    @field_validator("annotations")
    @classmethod
    def _annotations_not_reserved(cls, annotations: dict[str, str]) -> dict[str, str]:
        _reject_reserved(annotations, RESERVED_ANNOTATIONS, "annotation")
        return annotations

    @field_validator("test")
    @classmethod
    def _templated_annotations_expected(cls, test: AlertTest, info: ValidationInfo) -> AlertTest:
        annotations: dict[str, str] = info.data.get("annotations", {})
        missing = [k for k, v in annotations.items() if "{{" in v and k not in test.annotations]
        if missing:
            raise ValueError(
                f"templated annotations need their expected text in test.annotations: {missing}"
            )
        return test


def _reject_reserved(keys: Mapping[str, str], reserved: frozenset[str], what: str) -> None:
    clash = sorted(set(keys) & reserved)
    if clash:
        raise ValueError(f"{what}(s) {clash} are set from the alert's own fields")


class Alert(AlertFields):
    """One alert of spec §5, at real durations, with its PromQL."""

    window_s: PositiveSeconds | None = Field(default=None, alias="window")
    """Main range window, `{{window}}` in `expr`: it must fill before a step fault fires the
    alert, so the budget includes it. None: nothing to fill (gauge + `for`, look-back)."""
    windows_s: dict[LabelName, PositiveSeconds] = Field(default={}, alias="windows")
    """Further named windows, e.g. `{long: 1h}` for `[{{long}}]` (multi-window burn rates)."""
    expr: str
    """PromQL with every range window written as a placeholder: `rate(x[{{window}}])`."""
    slo: str | None = None
    """The SLO (slos.yaml) this alert protects, if any."""

    @field_validator("windows_s")
    @classmethod
    def _main_window_not_redefined(cls, windows: dict[str, float]) -> dict[str, float]:
        if MAIN_WINDOW in windows:
            raise ValueError(f"{MAIN_WINDOW!r} is the main window; set it with `window:`")
        return windows

    @field_validator("expr")
    @classmethod
    def _check_expr(cls, expr: str, info: ValidationInfo) -> str:
        problems = expr_window_problems(expr, info.data)
        subject = f"alert {info.data.get('name', '?')}"
        problems += vocabulary_problems(expr, context_vocabulary(info), subject=subject)
        raise_if_any(problems)
        return expr

    @field_validator("slo")
    @classmethod
    def _known_slo(cls, slo: str | None, info: ValidationInfo) -> str | None:
        known = (info.context or {}).get("slos")
        if slo is not None and isinstance(known, Mapping) and slo not in known:
            raise ValueError(f"unknown SLO {slo!r}; {SLOS_FILE} has: {', '.join(known)}")
        return slo

    @property
    def all_windows_s(self) -> dict[str, float]:
        """Every window the expression may reference, by placeholder name."""
        main = {} if self.window_s is None else {MAIN_WINDOW: self.window_s}
        return {**main, **self.windows_s}

    @property
    def longest_window_s(self) -> float:
        """The longest window of the expression (0: none): history a scenario's warm-up must
        give the alert before its ratios mean what they mean in production."""
        return max(self.all_windows_s.values(), default=0.0)

    @property
    def fill_window_s(self) -> float:
        """The window a step fault must fill before the alert can fire (0: none)."""
        return self.window_s or 0.0

    def expr_at(self, scale: float) -> str:
        """The PromQL expression with each window divided by `scale` (1 = production)."""
        return render_template(self.expr, self.all_windows_s, scale)

    def signal_at(self, scale: float) -> tuple[str, float | None]:
        """What to plot: the expression without its final `> N` and the threshold N.

        An expression not ending in a numeric comparison is returned whole, threshold None.
        """
        expr = self.expr_at(scale)
        match = _TRAILING_COMPARISON.match(expr)
        if match is None or not _balanced(match["signal"]):
            return expr, None
        return match["signal"].strip(), float(match["threshold"])

    def for_at(self, scale: float) -> str:
        """The `for` duration divided by `scale`, as Prometheus writes it."""
        return format_duration(self.for_s / scale)

    def rule_labels(self) -> dict[str, str]:
        """Labels the rule attaches: severity and receiver first, then the alert's own."""
        own = dict(sorted(self.labels.items()))
        return {"severity": self.severity.value, "receiver": self.receiver.value, **own}

    def rule_annotations(self) -> dict[str, str]:
        """Annotations the rule attaches: summary and spec_ref first, then the alert's own."""
        own = dict(sorted(self.annotations.items()))
        return {"summary": self.summary, "spec_ref": self.spec_ref, **own}

    def effective_scale(self, timing: Timing) -> float:
        """The time scale this alert's rules, budget and scaled tests use under `timing`."""
        if self.test_scale is ScalePolicy.COMPRESS:
            windows = self.all_windows_s.values()
            return compressed_scale(timing.time_scale, windows, timing.scrape_interval_s)
        return timing.time_scale

    def budget(self, timing: Timing) -> AlertBudget:
        """How soon, at best and at worst, the alert fires and resolves under `timing`."""
        own = timing.at_scale(self.effective_scale(timing))
        return budget(own, self.fill_window_s, self.for_s)


_TRAILING_COMPARISON = re.compile(
    r"^(?P<signal>.*?)\s*(?:>=|<=|>|<|==)\s*(?P<threshold>-?[0-9.]+(?:e-?[0-9]+)?)\s*$", re.DOTALL
)


def _balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def expr_window_problems(expr: str, fields: Mapping[str, Any]) -> list[str]:
    """Every window must be a declared placeholder; no literal duration may remain."""
    used = placeholders(expr)
    problems: list[str] = []
    main = fields.get("window_s")
    if main is not None and MAIN_WINDOW not in used:
        problems.append("must reference a window, e.g. rate(x[{{window}}])")
    extra = fields.get("windows_s")
    if "window_s" in fields and extra is not None:  # absent: invalid, already reported
        declared = set(extra) | ({MAIN_WINDOW} if main is not None else set())
        if used - declared:
            problems.append(f"undeclared window placeholder(s): {sorted(used - declared)}")
        if set(extra) - used:
            problems.append(f"declared but unused window(s): {sorted(set(extra) - used)}")
    literal = literal_duration(expr)
    if literal:
        problems.append(
            f"literal duration {literal!r} would not be time-scaled; "
            "use a placeholder such as [{{window}}]"
        )
    return problems
