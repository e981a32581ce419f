"""What a scenario run observes the target through: Prometheus, the alert watcher, the
deliveries (the harness's own receiver or Alertmanager's API), the faults and the tripwire."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol

from typing_extensions import TypeVar  # TypeVar defaults (PEP 696) before Python 3.13

from harness.checks.evidence import EvidenceSources
from harness.observe.alert_watch import AlertWatcher
from harness.observe.prometheus import PrometheusClient
from harness.observe.receiver import Notification, NotificationReceiver
from harness.run.faults import FaultInjector
from harness.run.tripwire import Tripwire

__all__ = ["DeliveryLog", "Observers"]


class DeliveryLog(Protocol):
    """Where Alertmanager's deliveries are observed: the harness's own webhook receiver, or
    Alertmanager's API when the harness does not own the receivers (a real deployment)."""

    def notifications(self, since: float = 0.0) -> list[Notification]: ...
    def first(self, alertname: str, status: str, since: float) -> Notification | None: ...


# The harness's own receiver unless stated, so `Observers` alone keeps meaning the local kind.
Deliveries_co = TypeVar(
    "Deliveries_co", bound=DeliveryLog, default=NotificationReceiver, covariant=True
)


@dataclass(frozen=True)
class Observers(Generic[Deliveries_co]):
    prometheus: PrometheusClient
    watcher: AlertWatcher
    receiver: Deliveries_co
    faults: FaultInjector
    evidence: EvidenceSources | None = None
    tripwire: Tripwire = field(default_factory=Tripwire)  # tripped by a dead component
    reset: Callable[[], None] | None = None  # empties the scenario series (run/isolation.py)
