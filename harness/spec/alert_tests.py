"""promtool unit-test inputs of an alert, at production scale: traffic that must fire it and
traffic that must not (see harness.spec.rules for the rendered tests)."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from harness.spec.fields import LabelName, PositiveSeconds, Seconds, StrictModel, raise_if_any
from harness.spec.vocabulary import context_vocabulary, vocabulary_problems

# promtool's default sample step at production scale: one sample a minute.
DEFAULT_TEST_INTERVAL_S = 60.0


class InputSeries(StrictModel):
    """One promtool input series: `series` selector and `values` in promtool's notation."""

    series: str
    values: str = Field(examples=["0+100x30"])

    @field_validator("series")
    @classmethod
    def _in_contract(cls, series: str, info: ValidationInfo) -> str:
        """Inputs use the contract's series and labels, so a test cannot pass on a typo."""
        raise_if_any(vocabulary_problems(series, context_vocabulary(info)))
        return series


class PromtoolCase(StrictModel):
    """Input series of one promtool unit test, at production scale, one sample per `interval`."""

    input_series: tuple[InputSeries, ...] = Field(min_length=1)


class AlertCase(PromtoolCase):
    """A further scenario for the rule: inputs, a time, and whether the alert fires then."""

    name: str = Field(min_length=1)
    at_s: Seconds = Field(alias="at")
    """When to check, production scale (e.g. `70m`)."""
    fires: bool
    output_labels: dict[LabelName, str] | None = None
    """Labels of the firing alert when they differ from the test's `output_labels`."""
    annotations: dict[str, str] | None = None
    """Rendered annotations when they differ from the test's `annotations`."""


class AlertTest(StrictModel):
    """Evidence that the rule works: traffic that must fire it and traffic that must not."""

    interval_s: PositiveSeconds = Field(default=DEFAULT_TEST_INTERVAL_S, alias="interval")
    """promtool's sample step at production scale (default 1m; the 3-day alerts use 30m)."""
    firing: PromtoolCase
    """Breaches the threshold from t=0 for at least window + `for` + 2 intervals."""
    healthy: PromtoolCase
    """Stays below the threshold; the alert must not fire."""
    cases: tuple[AlertCase, ...] = ()
    """Further cases: edges, no-data behaviour, each branch of an `or`."""
    output_labels: dict[LabelName, str] = {}
    """Labels the expression's result keeps (none after a plain `sum(...)`)."""
    annotations: dict[str, str] = {}
    """Expected rendered text of annotations that contain Go templates ({{ $value }})."""
