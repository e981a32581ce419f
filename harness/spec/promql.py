"""PromQL read by a real parser (promql-parser), for every check of an expression.

`parse` gives the syntax tree or a `PromQLError`. promql-parser names what is wrong but not
where, so on an error Prometheus's own parser, through `promtool check rules` on a one-rule
file, is asked for the line and column (when promtool is installed; about 50 ms, and only
when the expression is already known to be wrong). The walks below (`selectors`,
`durations`, `comparisons`) are what the catalogue checks and rewrites are built on.

Rules written elsewhere (a team's rule file, an SLO spec) carry literal windows; `templated`
turns those into the catalogue's placeholders on the parsed tree, never by matching text (a
duration inside a label value, a string or a regex stays what it is). What cannot be scaled is
refused with the reason (`unscalable`): a subquery (its step, or the evaluation interval it
defaults to, sets how many points it reads), an `offset` or `@` (a fixed moment, not a
window), and functions that compare with a number of seconds (`time()`, `timestamp()`,
`predict_linear`): compressing the windows around them would change what the rule means.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import promql_parser as pp
import yaml

from harness.stack.tools import find

__all__ = [
    "Comparison",
    "Duration",
    "PromQLError",
    "canonical",
    "comparisons",
    "durations",
    "metric_name",
    "parse",
    "range_windows",
    "selectors",
    "templated",
    "unscalable",
]

PROMTOOL_TIMEOUT_S = 10.0
_PROMTOOL_POSITION = re.compile(r"could not parse expression: (\d+):(\d+): parse error: (.*)$")
COMPARISON_OPS = frozenset({">", "<", ">=", "<=", "==", "!="})
# Functions whose arguments or results are seconds of wall-clock time.
_TIME_FUNCTIONS = frozenset({"time", "timestamp", "predict_linear", "day_of_month"})
# Sentinel windows: far from any real one, whole seconds (the printer drops milliseconds).
_SENTINEL_BASE_S = 10_000_019
MAX_EXPR_CHARS = 2000
MAX_OPERATORS = 64
_OPERATOR_CHARS = frozenset("([{+-*/%^=!<>")
_BINARY_WORDS = frozenset({"and", "or", "unless", "atan2"})


class PromQLError(ValueError):
    """An expression PromQL cannot parse: the reason, and where when it could be found."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason, self.line, self.column = reason, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.column is not None:
            line = f"line {self.line}, " if self.line not in (None, 1) else ""
            where = f" at {line}column {self.column}"
        return f"PromQL syntax error{where}: {self.reason}"


class PromQLTooComplex(PromQLError):
    """An expression past the bounds the parser is run within (see `parse`)."""

    def __str__(self) -> str:
        return f"PromQL expression refused: {self.reason}"


def parse(expr: str) -> pp.Expr:
    """The syntax tree of `expr`; PromQLError (with its position, if found) otherwise.

    Bounded first: promql-parser crashes the whole process (a native stack overflow) on a few
    thousand nested operators, and reading its tree slows with about the cube of its depth
    (measured: 100 levels 0.2 s, 200 levels 1.1 s). No expression of the catalogue comes near:
    the largest rendered rule has 373 characters and 21 operators and brackets.
    """
    if len(expr) > MAX_EXPR_CHARS:
        raise PromQLTooComplex(f"longer than {MAX_EXPR_CHARS} characters, the most allowed")
    if _operators(expr) > MAX_OPERATORS:
        reason = f"more than {MAX_OPERATORS} operators and brackets, the most allowed"
        raise PromQLTooComplex(reason)
    try:
        return pp.parse(expr)
    except ValueError as exc:
        found = _promtool_position(expr)
        if found is None:
            raise PromQLError(str(exc)) from None
        line, column, reason = found
        raise PromQLError(reason, line, column) from None


def _operators(expr: str) -> int:
    """Operators, opening brackets and set operators (`and`, `or`, `unless`, `atan2`) outside
    string literals and label matchers: an upper bound on how deep the expression's tree is."""
    count, quote, escaped, word, in_braces = 0, "", False, "", False
    for char in expr + " ":
        if quote:  # inside a string: only its end matters
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif in_braces:  # label matchers add no depth
            in_braces = char != "}"
        elif char.isalnum() or char == "_":
            word += char
            continue
        elif char in _OPERATOR_CHARS:
            count += 1
            in_braces = char == "{"
        count += word.lower() in _BINARY_WORDS
        word = ""
    return count


def _promtool_position(expr: str) -> tuple[int, int, str] | None:
    """Where Prometheus's parser stops on `expr`: (line, column, reason), or None."""
    promtool = find("promtool")
    if promtool is None:
        return None
    doc = {"groups": [{"name": "check", "rules": [{"record": "check", "expr": expr}]}]}
    with tempfile.TemporaryDirectory(prefix="wrkh-promql-") as folder:
        rules = Path(folder) / "rules.yml"
        rules.write_text(yaml.safe_dump(doc), encoding="utf-8")
        try:
            done = subprocess.run(
                [promtool, "check", "rules", str(rules)],
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    for line in (done.stdout + done.stderr).splitlines():
        match = _PROMTOOL_POSITION.search(line)
        if match:
            return int(match[1]), int(match[2]), match[3].strip()
    return None


def _children(node: pp.Expr) -> Iterator[pp.Expr]:
    found: list[pp.Expr] = []
    pp.walk(node, pre_visit=found.append)
    return iter(found)


def selectors(expr: pp.Expr) -> Iterator[pp.VectorSelector]:
    """Every vector selector, also those inside range selectors and subqueries."""
    return (n for n in _children(expr) if isinstance(n, pp.VectorSelector))


def metric_name(selector: pp.VectorSelector) -> str | None:
    """The metric a selector names: `x{...}`, or `{__name__="x"}`; None when it names none."""
    if selector.name:
        return str(selector.name)
    for matcher in selector.matchers.matchers:
        if matcher.name == "__name__" and matcher.op == pp.MatchOp.Equal:
            return str(matcher.value)
    return None


@dataclass(frozen=True)
class Duration:
    """A duration written in an expression, and what it is: range, subquery step, offset."""

    kind: str  # range | subquery_range | subquery_step | offset
    value: timedelta

    def __str__(self) -> str:
        return str(pp.display_duration(self.value))


def durations(expr: pp.Expr) -> Iterator[Duration]:
    """Every duration of `expr`, depth first."""
    for node in _children(expr):
        if isinstance(node, pp.MatrixSelector):
            yield Duration("range", node.range)
        elif isinstance(node, pp.SubqueryExpr):
            if node.range is not None:
                yield Duration("subquery_range", node.range)
            if node.step is not None:
                yield Duration("subquery_step", node.step)
            if node.offset is not None:
                yield Duration("offset", node.offset)
        elif isinstance(node, pp.VectorSelector) and node.offset is not None:
            yield Duration("offset", node.offset)


@dataclass(frozen=True)
class Comparison:
    """`call(...) OP number` (either way round), e.g. `histogram_quantile(...) > 0.4`."""

    function: str
    call: pp.Call
    op: str
    threshold: float


def comparisons(expr: pp.Expr) -> Iterator[Comparison]:
    """Every comparison of a function call (in parentheses or not) with a number."""
    for node in _children(expr):
        if not isinstance(node, pp.BinaryExpr) or str(node.op) not in COMPARISON_OPS:
            continue
        for side, other in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
            call, number = _unwrapped(side), _unwrapped(other)
            if isinstance(call, pp.Call) and isinstance(number, pp.NumberLiteral):
                yield Comparison(str(call.func.name), call, str(node.op), float(number.val))


def _unwrapped(node: pp.Expr) -> pp.Expr:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


# -- windows of rules written elsewhere: found, checked and templated on the tree ----------


def canonical(expr: str) -> str:
    """The parser's own printing of `expr`: equal for expressions that parse alike."""
    return str(parse(expr))


def range_windows(expr: str) -> list[float]:
    """Seconds of every range selector's window, in the order they appear."""
    found: list[float] = []

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.MatrixSelector):
            found.append(node.range.total_seconds())

    pp.walk(parse(expr), visit)
    return found


def unscalable(expr: str) -> list[str]:
    """Why the expression's windows cannot simply be divided by a time scale (empty: they can)."""
    reasons: list[str] = []

    def visit(node: pp.Expr) -> None:
        if isinstance(node, pp.SubqueryExpr):
            reasons.append(
                f"subquery {_short(node)}: its step (or the evaluation interval it defaults "
                "to) sets how many points it reads, which scaling its range would change"
            )
        elif isinstance(node, pp.VectorSelector):
            if node.offset is not None:
                reasons.append(f"{node} has an offset: a fixed look-back, not a window")
            if node.at is not None:
                reasons.append(f"{node} has an @ modifier: a fixed moment, not a window")
        elif isinstance(node, pp.Call) and node.func.name in _TIME_FUNCTIONS:
            reasons.append(
                f"{node.func.name}() works in seconds of wall-clock time, which a scaled "
                "run would not compress"
            )

    pp.walk(parse(expr), visit)
    return reasons


def templated(expr: str, names: Mapping[float, str]) -> str:
    """`expr` printed by the parser with each range window `w` written `{{names[w]}}`.

    Each window is first replaced on the tree by a sentinel duration no rule uses, the tree
    is printed, and each sentinel (checked absent from the original) becomes its placeholder.
    KeyError names a window `names` lacks.
    """
    tree = parse(expr)
    original = str(tree)
    sentinels = {w: _duration(_SENTINEL_BASE_S + 7 * i) for i, w in enumerate(sorted(names))}
    clash = [s for s in sentinels.values() if s in original]
    if clash:
        raise ValueError(f"expression already contains the duration {clash[0]}")

    def replace(node: pp.Expr) -> pp.Expr | None:
        if not isinstance(node, pp.MatrixSelector):
            return None
        window = node.range.total_seconds()
        if window not in names:
            raise KeyError(window)
        return pp.parse(f"{node.vector_selector}[{sentinels[window]}]")

    text = str(pp.transform(tree, post_visit=replace))
    for window, sentinel in sentinels.items():
        text = text.replace(f"[{sentinel}]", "[{{" + names[window] + "}}]")
    return text


def _duration(seconds: int) -> str:
    return str(pp.display_duration(timedelta(seconds=seconds)))


def _short(node: pp.Expr, limit: int = 60) -> str:
    text = str(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"
