"""Why a query found nothing: a metric that lacks a label the check selects or groups by.

"No requests in the window" sends a reader to the load generator; when the real cause is an
instrumentation change (a histogram aggregated without `route`), the message must say so,
naming the metric and the label. Asked of the same Prometheus, at the same moment, one
question per label: does any series of the metric carry it at all?
"""

from __future__ import annotations

from collections.abc import Iterable

import promql_parser as pp

from harness.errors import ObserveError
from harness.observe.metrics_presence import InstantQuery
from harness.spec import promql

# Labels every scraped series carries or that the query engine adds; never a cause.
_IMPLIED = frozenset({"__name__", "job", "instance"})


def missing_label(
    query: InstantQuery, expr: str, at: float | None, grouped_by: Iterable[str] = ()
) -> str | None:
    """The first metric of `expr` that has series but lacks a label its selector matches on
    (or one of `grouped_by`), as "metric X has no label `route` ..."; None when no such gap
    explains the empty answer (or the question cannot be asked)."""
    try:
        parsed = promql.parse(expr)
    except ValueError:
        return None
    grouped = [*grouped_by, *_by_labels(parsed)]
    for selector in promql.selectors(parsed):
        name = promql.metric_name(selector)
        if name is None:
            continue
        labels = [m.name for m in selector.matchers.matchers if m.name not in _IMPLIED]
        wanted = [*labels, *(g for g in grouped if g not in _IMPLIED and g != "le")]
        for label in dict.fromkeys(wanted):
            cause = _lacks(query, name, label, at)
            if cause is not None:
                return cause
    return None


def _by_labels(expr: pp.Expr) -> list[str]:
    """Labels the expression's aggregations group by (`sum by (route) (...)`)."""
    found: list[pp.Expr] = []
    pp.walk(expr, pre_visit=found.append)
    return [
        str(label)
        for node in found
        if isinstance(node, pp.AggregateExpr)
        and node.modifier is not None
        and node.modifier.type == pp.AggModifierType.By
        for label in node.modifier.labels
    ]


def _lacks(query: InstantQuery, metric: str, label: str, at: float | None) -> str | None:
    try:
        series = query(f'count({{__name__="{metric}"}})', at)
        if not series or series[0].value == 0:
            return None  # absent altogether: metrics_present names that
        carrying = query(f'count({{__name__="{metric}", {label}!=""}})', at)
    except ObserveError:
        return None
    if carrying:
        return None
    return (
        f"metric {metric} has no label `{label}` on any of its {series[0].value:.0f} series "
        f"(the query selects or groups by `{label}`), so nothing matched"
    )
