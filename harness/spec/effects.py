"""How a fault shows in the system's own signals (`effects.yaml`): what `fault_effective` reads.

A quiet verdict under a fault means something only if the fault is shown to act. Each kind of
fault states the effect it must leave in the target's signals (the metric contract, read from
its Prometheus, never from the fakes' internals):

- a fault on a dependency's proxy, by what it does to the dependency: `failing` (outage,
  timeout, reset_peer) or `slow` (latency, bandwidth), from `dependencies.<proxy>`;
- a fault through the levers of a service that is a dependency (`kind: http` on the WRK
  Platform): that dependency's `failing` signal (a fault mode's injected answers, counted by
  the services calling it);
- extra load (`kind: load`): the requests the loaded service answers (`requests`, a counter
  of the contract by service) rise by at least a quarter of the load's planned rate.

Any fault may state its own `effect` in its scenario instead (a data change shows in the data's
own gauge); one that can be given none is refused when the scenario is loaded. Queries use
`[{{window}}]` for a short rate window (a few scrape intervals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

from pydantic import AfterValidator, Field, ValidationInfo

from harness.dashboards.expect import Direction
from harness.errors import Problem
from harness.spec.fields import StrictModel
from harness.spec.files import display_path, read_yaml, validate_data
from harness.spec.vocabulary import SeriesVocabulary, context_vocabulary, vocabulary_problems

EFFECTS_FILE: Final = "effects.yaml"


def _in_contract(query: str, info: ValidationInfo) -> str:
    vocabulary = context_vocabulary(info)
    catalog = (info.context or {}).get("catalog")  # a scenario's `effect`: its catalogue's
    if vocabulary is None and catalog is not None:
        vocabulary = getattr(catalog, "vocabulary", None)
    problems = vocabulary_problems(query, vocabulary)
    if problems:
        raise ValueError("; ".join(problems))
    return query


Query = Annotated[str, Field(min_length=1), AfterValidator(_in_contract)]


class Signal(StrictModel):
    """A query of the target's signals and the way a fault must move it: its mean over the
    fault window against its mean over the healthy baseline before it."""

    query: Query
    direction: Direction = Direction.UP
    at_least: float | None = Field(default=None, gt=0)
    """The change it must show, in the query's unit; by default up means x1.5 or more (and
    more than nothing), down means half or less."""


class DependencySignals(StrictModel):
    """How a fault on one dependency shows."""

    service: str | None = None
    """The target's service that is this dependency, when it is one (its HTTP levers)."""
    failing: Signal | None = None
    """Outage, timeout, reset_peer, injected error answers: the work done through it fails
    or stops."""
    slow: Signal | None = None
    """Latency, bandwidth: in seconds, so a latency of L ms must raise it by L/2 at least."""


class EffectsFile(StrictModel):
    dependencies: dict[str, DependencySignals] = {}
    """By the proxy name scenarios use (`proxy:`)."""
    requests: str | None = None
    """A counter of the metric contract, by service (`job`): what a service answers."""

    def dependency_of(self, service: str) -> str | None:
        """The dependency that `service` is, if any."""
        return next((d for d, s in self.dependencies.items() if s.service == service), None)


def load_effects(
    path: Path, vocabulary: SeriesVocabulary | None
) -> tuple[EffectsFile | None, list[Problem]]:
    """The file and every problem in it; (None, []) without a file (then every fault's effect
    must be stated in its scenario)."""
    if not path.exists():
        return None, []
    data, problems = read_yaml(path)
    if data is None and problems:
        return None, problems
    parsed, more = validate_data(EffectsFile, data, display_path(path), {"vocabulary": vocabulary})
    problems += more
    return (None if problems else parsed), problems
