"""Multiwindow multi-burn-rate alerts, generated from an availability SLO (objective, period,
error-ratio queries) so the objective is written once; and the recording rules they read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field, ValidationInfo, field_validator, model_validator

from harness.spec.alerts import MAIN_WINDOW, Alert, AlertFields, expr_window_problems
from harness.spec.fields import Percent, PositiveSeconds, StrictModel
from harness.spec.slo import SLOS_FILE, AvailabilitySlo
from harness.spec.templates import render_template
from harness.spec.timescale import format_duration
from harness.spec.vocabulary import SeriesVocabulary, vocabulary_problems

# Recording rules of the SLO error ratios, one series per SLO (label `slo`) and window. The
# window in the name is the window actually computed, e.g. `ratio_rate1h` in production and
# `ratio_rate1m` at scale 60: alerts at different effective scales that need the same
# computation share one rule, and no name claims a window it does not compute.
RECORDED_RATIO = "slo:errors_per_request:ratio_rate"
SLO_LABEL = "slo"


def recorded_vocabulary(slo_names: frozenset[str]) -> SeriesVocabulary:
    """The recorded error-ratio family: only generated burn-rate alerts select it."""
    return SeriesVocabulary(
        labels={RECORDED_RATIO: frozenset({SLO_LABEL})},
        values={RECORDED_RATIO: {SLO_LABEL: slo_names}},
        buckets={},
    )


class BurnWindow(StrictModel):
    """One window pair of a multiwindow burn-rate alert (SRE workbook, chapter 5).

    It fires when the error ratio over BOTH windows is above `burn rate x error budget`, where
    the burn rate is the pace that spends `budget_consumed` of the SLO period's budget in
    `long`: over a 30-day period, 2 % in 1h is 14.4, 5 % in 6h is 6, 10 % in 3d is 1. The
    short window (1/12 of the long one) makes the alert stop soon after the errors do.
    """

    long_s: PositiveSeconds = Field(alias="long")
    short_s: PositiveSeconds = Field(alias="short")
    budget_consumed: Percent

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnWindow:
        if self.short_s >= self.long_s:
            raise ValueError("the short window must be shorter than the long one")
        return self


class BurnRateAlertSpec(AlertFields):
    """A burn-rate alert as written in alerts.yaml: the SLO and the window pairs."""

    slo: str
    """An availability SLO of slos.yaml."""
    windows: tuple[BurnWindow, ...] = Field(min_length=1)

    @field_validator("slo")
    @classmethod
    def _availability_slo(cls, slo: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("slos")
        if not isinstance(known, Mapping):  # slos.yaml invalid: already reported
            return slo
        found = known.get(slo)
        if not isinstance(found, AvailabilitySlo):
            names = [n for n, s in known.items() if isinstance(s, AvailabilitySlo)]
            raise ValueError(f"not an availability SLO of {SLOS_FILE}: {slo!r}; known: {names}")
        return slo

    @field_validator("windows")
    @classmethod
    def _windows_fit_the_period(
        cls, windows: tuple[BurnWindow, ...], info: ValidationInfo
    ) -> tuple[BurnWindow, ...]:
        found = ((info.context or {}).get("slos") or {}).get(info.data.get("slo"))
        longest = max(w.long_s for w in windows)
        if isinstance(found, AvailabilitySlo) and longest > found.period_s:
            period = format_duration(found.period_s)
            raise ValueError(f"a window of {format_duration(longest)} exceeds the SLO's {period}")
        return windows

    def to_alert(self, slo: AvailabilitySlo) -> BurnRateAlert:
        """The alert with its expression and windows generated from `slo`.

        Built from already-validated parts (no second parse of durations); the loader checks
        the generated expression like a written one (`generated_expr_problems`).
        """
        pairs = tuple(sorted(self.windows, key=lambda w: w.long_s))
        windows: dict[str, float] = {}
        for i, pair in enumerate(pairs):
            long_name, short_name = _pair_names(i)
            windows |= {long_name: pair.long_s, short_name: pair.short_s}
        labels = {SLO_LABEL: slo.name, **self.test.output_labels}
        common = {name: getattr(self, name) for name in AlertFields.model_fields if name != "test"}
        return BurnRateAlert.model_construct(
            **common,
            test=self.test.model_copy(update={"output_labels": labels}),
            window_s=windows.pop(MAIN_WINDOW),
            windows_s=windows,
            expr=_burn_expr(slo, pairs),
            slo=slo.name,
            burn_windows=pairs,
        )


def _pair_names(index: int) -> tuple[str, str]:
    """Placeholders of pair `index`: the fastest pair's long window is the main window (a
    fault that trips it fills that window first), the others are numbered."""
    return (MAIN_WINDOW, "short") if index == 0 else (f"long{index + 1}", f"short{index + 1}")


def _burn_expr(slo: AvailabilitySlo, pairs: tuple[BurnWindow, ...]) -> str:
    selector = f'{{{SLO_LABEL}="{slo.name}"}}'
    clauses = []
    for i, pair in enumerate(pairs):
        long_name, short_name = _pair_names(i)
        threshold = f"({slo.burn_rate(pair.budget_consumed, pair.long_s):g} * {slo.error_budget:g})"
        long_ratio = f"{RECORDED_RATIO}{{{{{long_name}}}}}{selector}"
        short_ratio = f"{RECORDED_RATIO}{{{{{short_name}}}}}{selector}"
        clauses.append(f"({long_ratio} > {threshold} and {short_ratio} > {threshold})")
    return " or ".join(clauses)


class BurnRateAlert(Alert):
    """A burn-rate alert with its generated expression, reading the recorded error ratios."""

    slo: str
    burn_windows: tuple[BurnWindow, ...] = Field(min_length=1)
    """The window pairs it was generated from, fastest first."""

    def signal_at(self, scale: float) -> tuple[str, float | None]:
        """The error ratio over the fastest pair's long window (its threshold is the SLO's)."""
        selector = f'{{{SLO_LABEL}="{self.slo}"}}'
        return render_template(
            f"{RECORDED_RATIO}{{{{{MAIN_WINDOW}}}}}{selector}", self.all_windows_s, scale
        ), None

    def generated_expr_problems(self, vocabulary: SeriesVocabulary | None) -> list[str]:
        """The checks a written `expr` gets, for the generated one (a generator bug, or an
        SLO whose name cannot be a label value, shows here rather than in promtool)."""
        fields = {"window_s": self.window_s, "windows_s": self.windows_s}
        subject = f"alert {self.name}"
        return expr_window_problems(self.expr, fields) + vocabulary_problems(
            self.expr, vocabulary, subject=subject
        )


@dataclass(frozen=True)
class RecordedRatio:
    """One recording rule: an SLO's error ratio over one (rendered) window."""

    record: str
    slo: str
    window: str
    expr: str
