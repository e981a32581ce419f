"""Turning input files into typed models, or into every problem they contain at once.

Catalogue and scenario files are validated before anything starts. A user fixing a file should
see all of its problems in one run, each as `file: field.path[0]: reason`, so this module:

- reads YAML and reports syntax errors with their line and column, and duplicate mapping keys
  (PyYAML silently keeps the last one, which would hide a typo such as two `for:` keys);
- converts a pydantic `ValidationError` into `Problem`s with dotted paths written as the user
  wrote them (aliases, list indexes), without pydantic's internal path segments;
- offers the strict base model and the duration and percentage field types the loaders share;
- checks PromQL templates (alert expressions, SLO queries) against the metric contract: range
  windows written as `[{{window}}]` placeholders (a literal `[5m]` would escape time scaling),
  series names, label names and closed label values, and `histogram_quantile` thresholds that
  must be bucket edges. These checks read PromQL with regular expressions, not a parser: good
  enough for the catalogue's own expressions, which promtool then checks for real.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails

from harness.errors import Problem
from harness.spec.timescale import format_duration, parse_duration

ROOT_FIELD = "(root)"
FILE_FIELD = "(file)"


class StrictModel(BaseModel):
    """Base of every input model: unknown keys are errors, instances are immutable.

    Fields may be filled by their YAML name (alias, e.g. `for`) or their Python name
    (e.g. `for_s`); error paths always use the YAML name.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True
    )


def to_seconds(value: object) -> float:
    """Accept only duration strings: a bare YAML number has no unit and is ambiguous."""
    if not isinstance(value, str):
        raise ValueError(f"not a duration: {value!r} (write it with a unit, e.g. 30s, 5m)")
    return parse_duration(value)


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _finite(seconds: float) -> float:
    if not math.isfinite(seconds):
        raise ValueError("duration is too large")
    return seconds


# A duration written as text (`30s`, `5m`, `1h30m`, `250ms`) and held as seconds.
Seconds = Annotated[float, BeforeValidator(to_seconds), AfterValidator(_finite)]
# The same, strictly positive (range windows: `rate(x[0s])` is invalid PromQL).
PositiveSeconds = Annotated[Seconds, AfterValidator(_positive)]


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


def display_path(path: Path) -> str:
    """Path as shown in problems: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[object, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                self.duplicates.append((key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> tuple[object, list[Problem]]:
    """Load one YAML document; problems instead of exceptions (file unreadable, bad syntax)."""
    file = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, FILE_FIELD, f"cannot read: {exc}")]
    loader = _DuplicateKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    finally:
        loader.dispose()
    problems = [
        Problem(file, f"line {line}", f"duplicate key {key!r}") for key, line in loader.duplicates
    ]
    return data, problems


def _syntax_problem(file: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        return Problem(file, where, f"YAML syntax error: {what}")
    return Problem(file, ROOT_FIELD, f"YAML syntax error: {exc}")


M = TypeVar("M", bound=BaseModel)


def validate_data(
    model: type[M], data: object, file: str, context: Mapping[str, object] | None = None
) -> tuple[M | None, list[Problem]]:
    """Validate already-loaded data against `model`; the model, or None and every problem."""
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else type(data).__name__
        return None, [Problem(file, ROOT_FIELD, f"expected a mapping at the top, got {kind}")]
    try:
        return model.model_validate(data, context=dict(context or {})), []
    except ValidationError as exc:
        return None, problems_from_validation_error(file, exc, data)


def load_model(
    model: type[M], path: Path, context: Mapping[str, object] | None = None
) -> tuple[M | None, list[Problem]]:
    """Read and validate one YAML file; the model (if valid) and all problems found."""
    data, problems = read_yaml(path)
    if problems and data is None:
        return None, problems
    result, more = validate_data(model, data, display_path(path), context)
    return (result if not problems else None), problems + more


def problems_from_validation_error(
    file: str, error: ValidationError, data: object
) -> list[Problem]:
    """One Problem per pydantic error, with the path as written in the input file."""
    errors = _without_echoes(error.errors())
    return [
        Problem(file, field_path(e["loc"], data, missing=e["type"] == "missing"), reason(e))
        for e in errors
    ]


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop a length error caused only by invalid items: pydantic counts the valid ones, so a
    list whose only item is invalid is also reported as too short."""
    locs = [tuple(e["loc"]) for e in errors]

    def echo(e: ErrorDetails) -> bool:
        loc = tuple(e["loc"])
        return e["type"] == "too_short" and any(o[: len(loc)] == loc != o for o in locs)

    return [e for e in errors if not echo(e)]


def field_path(loc: Sequence[int | str], data: object, missing: bool = False) -> str:
    """Render a pydantic location as `alerts[0].for`, walking the input alongside it.

    Pydantic inserts segments that are not in the input: the tag of a discriminated union
    (`faults.0.latency.latency_ms`) and `[key]` for a bad mapping key. A string segment the
    input does not have is dropped, except the last one of a `missing` error (the field the
    user must add); a last segment that is not missing is kept unless it is the union tag
    itself (a value of the mapping it would index, as for a member's model-level error).
    """
    parts: list[str] = []
    node: object = data
    for i, seg in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
        elif isinstance(node, dict) and seg in node:
            parts.append(f".{seg}")
            node = node[seg]
        elif seg == "[key]" or not last or (not missing and _is_tag(node, seg)):
            continue
        else:
            parts.append(f".{seg}")
    return "".join(parts).lstrip(".") or ROOT_FIELD


def _is_tag(node: object, seg: str) -> bool:
    return isinstance(node, dict) and seg in {v for v in node.values() if isinstance(v, str)}


def reason(error: ErrorDetails) -> str:
    """A short human reason; pydantic's wording where it is already good."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not allowed here)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "too_short" and "min_length" in ctx:
        return f"needs at least {ctx['min_length']} item(s), got {ctx.get('actual_length')}"
    if kind == "union_tag_invalid":
        return (
            f"unknown {ctx['discriminator'].strip(chr(39))} {ctx['tag']!r}; "
            f"expected one of {ctx['expected_tags']}"
        )
    if kind == "union_tag_not_found":
        return f"required field {ctx['discriminator']} is missing"
    value = error.get("input")
    got = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    return f"{error['msg']}{got}"


# -- PromQL templates -----------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LITERAL_DURATION = re.compile(r"(?<![\w.])\d+(?:ms|s|m|h|d|w|y)(?!\w)")
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


def placeholders(template: str) -> set[str]:
    """Names of the `{{name}}` window placeholders a template uses."""
    return set(PLACEHOLDER.findall(template))


def render_template(template: str, windows_s: Mapping[str, float], scale: float) -> str:
    """Fill every `{{name}}` with its window divided by `scale`, as Prometheus writes it."""
    return PLACEHOLDER.sub(lambda m: format_duration(windows_s[m.group(1)] / scale), template)


def literal_duration(template: str) -> str | None:
    """A duration written literally (outside strings and placeholders): it would not scale."""
    literal = _LITERAL_DURATION.search(_STRING.sub('""', PLACEHOLDER.sub("", template)))
    return literal.group() if literal else None


def referenced_series(expr: str) -> frozenset[str]:
    """Metric names an expression selects (heuristic, good for catalogue cross-checks).

    Strips strings, label matchers, ranges and grouping clauses, then keeps identifiers that
    are not function calls or PromQL keywords.
    """
    text = _STRING.sub('""', PLACEHOLDER.sub("", expr))
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

    return _STRING.sub(mask, text)


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
