"""What PromQL may select: series, labels, closed label values and bucket edges of the metric
contract (metrics.yaml), and the checks of alert, SLO and dashboard expressions against it.

Expressions are read by the PromQL parser (harness.spec.promql), so a syntax error is found
here too, with its position, before anything starts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import promql_parser as pp
from pydantic import ValidationInfo

from harness.spec.promql import PromQLError, comparisons, metric_name, selectors
from harness.spec.templates import parse_template

# Labels every scraped series carries besides its own (Prometheus adds them at scrape time).
TARGET_LABELS = frozenset({"job", "instance"})
_QUANTILE = "histogram_quantile"
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}  # by MatchOp name


def referenced_series(template: str, variables: Collection[str] = ()) -> frozenset[str]:
    """Metric names a template selects; PromQLError when it is not PromQL."""
    expr, _ = parse_template(template, variables)
    return _names(expr)


def _names(expr: pp.Expr) -> frozenset[str]:
    return frozenset(n for s in selectors(expr) if (n := metric_name(s)) is not None)


@dataclass(frozen=True)
class SeriesVocabulary:
    """What a PromQL template may select: the metric contract, by exposed series name."""

    labels: Mapping[str, frozenset[str]]
    """Series -> every label it may carry (its own, `job`, `instance`, `le` for buckets)."""
    values: Mapping[str, Mapping[str, frozenset[str]]]
    """Series -> label -> the closed set of values it takes (only labels that have one)."""
    buckets: Mapping[str, tuple[float, ...]]
    """Histogram `_bucket` series -> its bucket edges (`le`), +Inf excluded."""
    open_series: frozenset[str] = frozenset()
    """Series known by name only (their contract entry is invalid): no label checks."""

    @property
    def names(self) -> frozenset[str]:
        """Every series name of the vocabulary."""
        return frozenset(self.labels) | self.open_series

    def merged(self, other: SeriesVocabulary) -> SeriesVocabulary:
        """This vocabulary and `other` (e.g. exposed series plus recorded ones)."""
        return SeriesVocabulary(
            labels={**self.labels, **other.labels},
            values={**self.values, **other.values},
            buckets={**self.buckets, **other.buckets},
            open_series=self.open_series | other.open_series,
        )


def context_vocabulary(info: ValidationInfo) -> SeriesVocabulary | None:
    """The vocabulary a loader passes as validation context (`{"vocabulary": ...}`); None
    when validating without one (checks against the contract are then skipped)."""
    vocabulary = (info.context or {}).get("vocabulary")
    return vocabulary if isinstance(vocabulary, SeriesVocabulary) else None


def vocabulary_problems(
    template: str,
    vocabulary: SeriesVocabulary | None,
    *,
    subject: str = "",
    variables: Collection[str] = (),
) -> list[str]:
    """A syntax error (naming `subject`, e.g. `alert X`, and the position); else the series,
    labels, label values and quantile thresholds not in the contract."""
    try:
        expr, _ = parse_template(template, variables)
    except PromQLError as exc:
        return [f"{subject}: {exc}" if subject else str(exc)]
    if vocabulary is None:  # the metrics file was invalid: already reported there
        return []
    unknown = sorted(_names(expr) - vocabulary.names)
    problems = (
        [f"uses series not declared in metrics.yaml: {', '.join(unknown)}"] if unknown else []
    )
    for selector in selectors(expr):
        series = metric_name(selector)
        if series is not None and series in vocabulary.labels:
            problems += _matcher_problems(series, selector, vocabulary)
    return problems + _quantile_threshold_problems(expr, vocabulary)


def _matcher_problems(
    series: str, selector: pp.VectorSelector, vocabulary: SeriesVocabulary
) -> list[str]:
    problems: list[str] = []
    own = vocabulary.labels[series]
    closed = vocabulary.values.get(series, {})
    for m in selector.matchers.matchers:
        label, value = str(m.name), str(m.value)
        op = _OPS[str(m.op).removeprefix("MatchOp.")]
        if label not in own | {"__name__"}:
            problems.append(f"{series} has no label {label!r} (it has: {', '.join(sorted(own))})")
        elif label in closed and not _matches_some(op, value, closed[label]):
            known = ", ".join(sorted(closed[label]))
            quoted = json.dumps(value)
            problems.append(f"{series}{{{label}{op}{quoted}}} matches none of its values: {known}")
    return problems


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}  # by MatchOp name


def _matches_some(op: str, value: str, known: frozenset[str]) -> bool:
    """Whether an `=` or `=~` matcher can select a declared value (negations always can)."""
    if op == "=":
        return value in known
    if op == "=~":
        try:
            return any(re.fullmatch(value, k) for k in known)
        except re.error:  # RE2 syntax Python does not know: promtool judges it
            return True
    return True


def _quantile_threshold_problems(expr: pp.Expr, vocabulary: SeriesVocabulary) -> list[str]:
    """`histogram_quantile(...) > X` is exact only when X is a bucket edge of the histogram."""
    problems: list[str] = []
    for c in comparisons(expr):
        if c.function != _QUANTILE:
            continue
        for series in sorted(_names(c.call) & set(vocabulary.buckets)):
            edges = vocabulary.buckets[series]
            if not any(math.isclose(c.threshold, edge) for edge in edges):
                problems.append(
                    f"threshold {c.threshold:g} is not a bucket edge of {series} "
                    f"({', '.join(f'{e:g}' for e in edges)}): histogram_quantile would "
                    "interpolate inside a bucket"
                )
    return problems
