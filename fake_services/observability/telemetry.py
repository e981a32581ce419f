"""The per-service bundle of observability providers, built once at startup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from fake_services.observability.metrics import HttpMetrics, new_registry
from fake_services.observability.redaction import Redactor
from fake_services.observability.tracing import Tracing, create_tracing
from fake_services.routes import RouteTable


@dataclass(frozen=True)
class Telemetry:
    service: str
    registry: CollectorRegistry
    http: HttpMetrics
    tracing: Tracing

    def shutdown(self) -> None:
        self.tracing.shutdown()


def create_telemetry(
    service: str,
    routes: RouteTable,
    span_file: Path | None = None,
    redactor: Redactor | None = None,
) -> Telemetry:
    registry = new_registry()
    return Telemetry(
        service=service,
        registry=registry,
        http=HttpMetrics(registry, known_routes=routes.templates),
        tracing=create_tracing(service, span_file, redactor),
    )


def span_file_from_env(env: Mapping[str, str]) -> Path | None:
    value = env.get("WRK_SPAN_FILE", "").strip()
    return Path(value) if value else None
