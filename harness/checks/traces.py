"""trace_continuity (spec §2.3): whole traces through every hop of a path, one connected tree."""

from __future__ import annotations

from collections.abc import Sequence

from harness.checks.results import Check
from harness.observe.traces import PathResult, SpanStore, TracePath, follow_all


def _reached_counts(path: TracePath, results: Sequence[PathResult]) -> str:
    return ", ".join(
        f"{sum(1 for r in results if r.reached > i)} reached {hop.name!r}"
        for i, hop in enumerate(path.hops)
    )


def _broken_example(results: Sequence[PathResult]) -> str:
    broken = [(r.trace_id, r.broken_link) for r in results if r.broken_link is not None]
    if not broken:
        return ""
    trace_id, span = broken[0]
    return (
        f"; {len(broken)} trace(s) have a broken parent link, e.g. trace {trace_id}: "
        f"{span.label()} names parent {span.parent_span_id}, which is not in the trace"
    )


def trace_continuity(
    scenario: str,
    spans: SpanStore,
    path: TracePath,
    *,
    since: float,
    until: float,
    min_traces: int = 1,
) -> Check:
    """At least `min_traces` traces with a span starting in [since, until] go through every
    hop of `path` and are one connected tree (every parent in the trace, a single root)."""
    results = follow_all(path, spans.traces(since, until))
    hops = " → ".join(h.name for h in path.hops)
    complete = [r for r in results if r.reached == len(path.hops)]
    good = [r for r in complete if r.connected]
    window = f"the {until - since:.1f} s window"
    if len(good) >= min_traces:
        msg = (
            f"{len(good)} of {len(results)} traces in {window} went {path.description} "
            f"({hops}) in one connected trace, e.g. trace {good[0].trace_id}"
        )
        return Check.of(scenario, "trace_continuity", True, msg, path.name)
    want = f"expected ≥ {min_traces} connected trace(s) through {hops} ({path.description})"
    if not results:
        msg = f"{want}; no span started in {window} (are spans exported to {spans.span_dir}?)"
    elif complete:
        msg = (
            f"{want}; {len(complete)} trace(s) went through every hop, {len(good)} of them "
            f"one connected trace" + _broken_example(complete) + _roots_example(complete)
        )
    else:
        stuck = path.hops[max((r.reached for r in results), default=0)]
        msg = (
            f"{want}; examined {len(results)} trace(s) in {window}: "
            f"{_reached_counts(path, results)}; missing hop {stuck.name!r} "
            f"({stuck.describe()})" + _broken_example(results)
        )
    return Check.of(scenario, "trace_continuity", False, msg, path.name)


def _roots_example(results: Sequence[PathResult]) -> str:
    split = [r for r in results if r.broken_link is None and r.roots != 1]
    if not split:
        return ""
    return f"; {len(split)} trace(s) have {split[0].roots} roots, e.g. trace {split[0].trace_id}"
