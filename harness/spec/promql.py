"""PromQL read through a real parser (promql-parser): range windows found on the syntax tree.

The catalogue writes every range window as a placeholder (`rate(x[{{window}}])`) so one
expression serves every time scale. Rules written elsewhere (a team's rule file, an SLO
spec) carry literal windows; turning those into placeholders is done here on the parsed
tree, never by matching text: a duration inside a label value, a string or a regex stays
what it is, and what the parser does not accept is refused with its own message.

What cannot be scaled is refused with the reason (`unscalable`): a subquery (its step, or
the evaluation interval it defaults to, sets how many points it reads), an `offset` or `@`
(a fixed moment, not a window), and functions that compare with a number of seconds
(`time()`, `timestamp()`, `predict_linear`): compressing the windows around them would
change what the rule means.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import promql_parser as pp

__all__ = ["canonical", "parse", "range_windows", "templated", "unscalable"]

# Functions whose arguments or results are seconds of wall-clock time.
_TIME_FUNCTIONS = frozenset({"time", "timestamp", "predict_linear", "day_of_month"})
# Sentinel windows: far from any real one, whole seconds (the printer drops milliseconds).
_SENTINEL_BASE_S = 10_000_019


def parse(expr: str) -> pp.Expr:
    """The parsed expression; ValueError with the parser's message when it is not PromQL."""
    try:
        return pp.parse(expr)
    except ValueError as exc:
        raise ValueError(f"not valid PromQL: {exc}") from None


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
