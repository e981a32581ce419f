"""Field types every input model shares: the strict base model, durations, percentages.

Durations are written with a unit (`30s`, `5m`) and percentages with `%` (`99.5%`): a bare
YAML number is ambiguous, so it is refused with a message saying how to write it.

Every number is bounded to what the harness can honour, and the message states the bound:
floats are finite (no `.inf`, no `.nan`), durations at most `MAX_DURATION_S` (tighter where a
model says so, with `at_most`), counts and rates by the fields' own limits.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from harness.spec.timescale import format_duration, parse_duration

# No duration of the spec is longer than an SLO period (30d); a year bounds every sum of them.
MAX_DURATION_S = 365 * 86400.0


class StrictModel(BaseModel):
    """Base of every input model: unknown keys are errors, instances are immutable.

    Fields may be filled by their YAML name (alias, e.g. `for`) or their Python name
    (e.g. `for_s`); error paths always use the YAML name.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        allow_inf_nan=False,  # `.inf` users or a `.nan` ratio would pass every `>` check
    )


def to_seconds(value: object) -> float:
    """Accept only duration strings: a bare YAML number has no unit and is ambiguous."""
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r} (write it with a unit, e.g. 30s, 5m)")
    return parse_duration(value)


def positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def bounded(seconds: float, limit_s: float) -> float:
    """`seconds`, or a ValueError stating the bound it passes."""
    if not seconds <= limit_s:  # also catches an overflow to inf
        raise ValueError(f"longer than {format_duration(limit_s)}, the most allowed here")
    return seconds


def at_most(limit_s: float) -> AfterValidator:
    """A validator bounding a duration in seconds (see `bounded`)."""
    return AfterValidator(lambda seconds: bounded(seconds, limit_s))


# A duration written as text (`30s`, `5m`, `1h30m`, `250ms`) and held as seconds.
Seconds = Annotated[float, BeforeValidator(to_seconds), at_most(MAX_DURATION_S)]
# The same, strictly positive (range windows: `rate(x[0s])` is invalid PromQL).
PositiveSeconds = Annotated[Seconds, AfterValidator(positive)]


def within(low: float, high: float) -> BeforeValidator:
    """A number's range, checked before pydantic converts it, so the message states the range
    for any number written (`1.0e+23` users would otherwise fail as "not an integer"). Pair
    it with the same `Field(ge=, le=)`, which also bounds numbers written as strings."""

    def check(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value  # pydantic's own checks name what it is instead
        if not low <= value <= high:  # also refuses nan
            raise ValueError(f"must be from {_plain(low)} to {_plain(high)}, got {value!r}")
        return value

    return BeforeValidator(check)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def to_fraction(value: object) -> float:
    """Accept only percentages written with `%`: a bare 0.995 or 99.5 is ambiguous."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        number = float(text.removesuffix("%")) if text.endswith("%") else math.nan
    except ValueError:
        number = math.nan
    if math.isnan(number):
        raise ValueError(f"not a percentage: {value!r} (write it with %, e.g. 99.5%)")
    if not 0 < number <= 100:
        raise ValueError(f"must be above 0% and at most 100%, got {value!r}")
    return round(number / 100, 12)


# A percentage written as text (`99.5%`) and held as a fraction (0.995), in (0, 1].
Percent = Annotated[float, BeforeValidator(to_fraction)]


# A section of the specification, e.g. `§5.1`.
SpecRef = Annotated[str, Field(pattern=r"^§\d+(\.\d+)*$")]


def _label_name(name: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"not a valid Prometheus label name: {name!r}")
    return name


LabelName = Annotated[str, AfterValidator(_label_name)]
SeriesName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]


def raise_if_any(problems: list[str]) -> None:
    """A validator's findings as one ValueError (pydantic reports it on the field)."""
    if problems:
        raise ValueError("; ".join(problems))


# A name in lower-case words joined by dashes (scenarios, SLOs, faults), e.g. `database-outage`.
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
# A service of the target, as the target names it, e.g. `edge` or `platform`.
ServiceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
