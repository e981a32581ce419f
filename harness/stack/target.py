"""What the rest of the harness knows of a running system under test: addresses only.

Every stack (local processes, compose, an external deployment) produces a `Target`; nothing
else of the stack leaks out, which keeps the harness usable against a real deployment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Credentials",
    "Proxy",
    "Target",
]


@dataclass(frozen=True)
class Proxy:
    """A Toxiproxy proxy standing between a service and one of its dependencies."""

    name: str
    listen: str  # host:port the service connects to
    upstream: str  # host:port of the real dependency


@dataclass(frozen=True)
class Credentials:
    """An API key the load generator and checks use, with the tenant it belongs to."""

    api_key: str
    tenant_id: str
    user_id: str


@dataclass(frozen=True)
class Target:
    """Addresses of a running system under test and of its observation backends."""

    name: str
    edge_url: str
    prometheus_url: str
    alertmanager_url: str
    toxiproxy_url: str
    services: dict[str, str]  # service name -> base URL (each serves /healthz and /metrics)
    proxies: dict[str, Proxy] = field(default_factory=dict)
    credentials: tuple[Credentials, ...] = ()
    log_dir: Path | None = None  # where each service's JSON log lines land, if readable
    span_dir: Path | None = None  # where each service's spans land as JSON lines, if readable
    database_url: str | None = None  # read-only use: async SLIs are measured in the database
    webhook_secret: str | None = None  # signs run events; also a value no log may contain
    cold_start_s: float | None = None
    # Prometheus was started by the harness with its admin API (local and compose targets):
    # a run may delete series there between scenarios. Never for an external deployment.
    admin_prometheus: bool = False
