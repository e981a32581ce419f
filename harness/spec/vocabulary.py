"""What PromQL may select: series, labels, closed label values and bucket edges of the metric
contract (metrics.yaml), and the checks of alert, SLO and dashboard expressions against it.

These checks read PromQL with regular expressions, not a parser: good enough for the
catalogue's own expressions, which promtool then checks for real.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationInfo

from harness.spec.templates import PLACEHOLDER, STRING

_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# An identifier not followed by `(` (that would be a function); possessive so `rate(` never
# matches as `rat`.
_IDENTIFIER = re.compile(r"(?<![\w.:])[A-Za-z_:][\w:]*+(?!\s*\()")
_PROMQL_WORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "start", "end"}
)
_SELECTOR = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)\s*\{([^{}]*)\}")
_MATCHER = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
)
_QUANTILE = re.compile(r"\bhistogram_quantile\s*\(")
_THRESHOLD = re.compile(r"\s*(?:>=|<=|>|<)\s*(?:bool\s+)?([0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)")
# Labels every scraped series carries besides its own (Prometheus adds them at scrape time).
TARGET_LABELS = frozenset({"job", "instance"})


def referenced_series(expr: str) -> frozenset[str]:
    """Metric names an expression selects (heuristic, good for catalogue cross-checks).

    Strips strings, label matchers, ranges and grouping clauses, then keeps identifiers that
    are not function calls or PromQL keywords.
    """
    text = STRING.sub('""', PLACEHOLDER.sub("", expr))
    for pattern in (_MATCHERS, _RANGES, _GROUPING):
        text = pattern.sub(" ", text)
    names = {m.group() for m in _IDENTIFIER.finditer(text)}
    return frozenset(n for n in names if n.lower() not in _PROMQL_WORDS)


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


def vocabulary_problems(expr: str, vocabulary: SeriesVocabulary | None) -> list[str]:
    """Series, labels, label values and quantile thresholds not in the contract."""
    if vocabulary is None:  # the metrics file was invalid: already reported there
        return []
    unknown = sorted(referenced_series(expr) - vocabulary.names)
    problems = (
        [f"uses series not declared in metrics.yaml: {', '.join(unknown)}"] if unknown else []
    )
    text = PLACEHOLDER.sub("", expr)
    for selector in _SELECTOR.finditer(_strings_masked(text, keep=True)):
        series = selector.group(1)
        if series in vocabulary.labels:
            problems += _matcher_problems(
                series, text[selector.start(2) : selector.end(2)], vocabulary
            )
    return problems + _quantile_threshold_problems(text, vocabulary)


def _strings_masked(text: str, keep: bool = False) -> str:
    """Text with every string's content masked, same length (positions stay valid).

    `keep` masks only braces and brackets, so selectors can be found without string content
    (e.g. a regex with `{2}`) confusing the scan.
    """

    def mask(m: re.Match[str]) -> str:
        inner = m.group()[1:-1]
        inner = re.sub(r"[{}()\[\]]", "_", inner) if keep else "_" * len(inner)
        return m.group()[0] + inner + m.group()[-1]

    return STRING.sub(mask, text)


def _matcher_problems(series: str, matchers: str, vocabulary: SeriesVocabulary) -> list[str]:
    problems: list[str] = []
    own = vocabulary.labels[series]
    closed = vocabulary.values.get(series, {})
    for label, op, quoted in _MATCHER.findall(matchers):
        value = re.sub(r"\\(.)", r"\1", quoted[1:-1])
        if label not in own | {"__name__"}:
            problems.append(f"{series} has no label {label!r} (it has: {', '.join(sorted(own))})")
        elif label in closed and not _matches_some(op, value, closed[label]):
            known = ", ".join(sorted(closed[label]))
            problems.append(f"{series}{{{label}{op}{quoted}}} matches none of its values: {known}")
    return problems


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


def _quantile_threshold_problems(text: str, vocabulary: SeriesVocabulary) -> list[str]:
    """`histogram_quantile(...) > X` is exact only when X is a bucket edge of the histogram."""
    masked = _strings_masked(text)
    problems: list[str] = []
    for call in _QUANTILE.finditer(masked):
        end = _closing_paren(masked, call.end())
        threshold = _THRESHOLD.match(masked, end + 1) if end is not None else None
        if end is None or threshold is None:
            continue
        value = float(threshold.group(1))
        for series in sorted(referenced_series(masked[call.end() : end]) & set(vocabulary.buckets)):
            edges = vocabulary.buckets[series]
            if not any(math.isclose(value, edge) for edge in edges):
                problems.append(
                    f"threshold {value:g} is not a bucket edge of {series} "
                    f"({', '.join(f'{e:g}' for e in edges)}): histogram_quantile would "
                    "interpolate inside a bucket"
                )
    return problems


def _closing_paren(text: str, start: int) -> int | None:
    """Index of the `)` closing the `(` just before `start`, or None when unbalanced."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return None
