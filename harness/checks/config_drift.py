"""config_drift: the rules and routing the target runs are the catalogue's, at its time scale.

The scenarios prove alerts as the catalogue defines them; a target running another `for`, a
changed expression or a receiver moved proves nothing about what production will do. The
reading is done by the caller (Prometheus' rules, Alertmanager's status), compared by
harness.contract.drift; this turns the differences into one verdict naming each of them.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.checks.results import Check
from harness.errors import ObserveError

KIND = "config_drift"

DriftReader = Callable[[], list[str]]
"""Reads the target and returns one line per difference, `Alert.field: runs X, expected Y`."""


def config_drift(scenario: str, read: DriftReader) -> Check:
    try:
        differences = read()
    except ObserveError as exc:
        return Check.of(
            scenario, KIND, False, f"the target's configuration could not be read: {exc}"
        )
    if differences:
        msg = f"the target runs {len(differences)} difference(s) from the catalogue: " + "; ".join(
            differences
        )
        return Check.of(scenario, KIND, False, msg)
    msg = "the target's alert rules and routing are the catalogue's at its time scale"
    return Check.of(scenario, KIND, True, msg)
