"""The effect each fault of a scenario must leave in the target's signals (see
harness.spec.effects): its own `effect`, or what the catalogue says of its kind."""

from __future__ import annotations

from typing import Final

from harness.dashboards.expect import Direction
from harness.spec.catalog import Catalog
from harness.spec.effects import Signal
from harness.spec.faults import FaultSpec, HttpFaultSpec, LatencyFault, LoadFaultSpec

FAILING: Final = frozenset({"outage", "timeout", "reset_peer"})
SLOW: Final = frozenset({"latency", "bandwidth"})


def stated_effect(fault: FaultSpec, catalog: Catalog) -> Signal | str:
    """The signal that shows `fault` acted, or why none can be stated."""
    if fault.effect is not None:
        return fault.effect
    effects = catalog.effects
    if effects is None:
        return "the fault states no `effect`, and the catalogue has no effects.yaml to say one"
    if isinstance(fault, LoadFaultSpec):
        return _requests(fault, catalog)
    if isinstance(fault, HttpFaultSpec):
        services = sorted({c.service for c in fault.apply})
        for service in services:
            dependency = effects.dependency_of(service)
            signal = effects.dependencies[dependency].failing if dependency else None
            if signal is not None:
                return signal
        return (
            f"the fault states no `effect`, and effects.yaml names no dependency served by "
            f"{', '.join(services)} with a `failing` signal: state what the fault changes"
        )
    which = "failing" if fault.kind in FAILING else "slow"
    signals = effects.dependencies.get(fault.proxy)
    signal = getattr(signals, which, None) if signals is not None else None
    if not isinstance(signal, Signal):
        return (
            f"the fault states no `effect`, and effects.yaml states no `{which}` signal for "
            f"dependency {fault.proxy!r}: nothing could show the {fault.kind} acted"
        )
    if isinstance(fault, LatencyFault) and signal.at_least is None:  # seconds, half of it
        added = fault.toxicity * fault.latency_ms / 2000
        return signal.model_copy(update={"at_least": added})
    return signal


def _requests(fault: LoadFaultSpec, catalog: Catalog) -> Signal | str:
    effects = catalog.effects
    metric = catalog.metrics.get(effects.requests) if effects and effects.requests else None
    if metric is None:
        return "the fault states no `effect`, and effects.yaml names no `requests` counter"
    if metric.jobs and fault.service not in metric.jobs:
        return (
            f"the fault states no `effect`, and service {fault.service!r} does not expose "
            f"{metric.series} (only {', '.join(metric.jobs)} do)"
        )
    query = f'sum(rate({metric.series}{{job="{fault.service}"}}[{{{{window}}}}]))'
    # A quarter, not all: Locust on a starved 2-core machine sends well under its plan, and
    # the check asks whether the load arrived at all; the alert checks judge whether it was enough.
    planned = fault.users * fault.rate_per_user
    return Signal.model_construct(query=query, direction=Direction.UP, at_least=planned / 4)
