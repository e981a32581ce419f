"""Domain gauges of spec §2.2, counted in the database by a periodic query (about 1 s).

A GROUP BY over each table is cheap at the sizes a tenant has, and always agrees with the data;
counting in memory would drift with restarts, replicas and writes made by the workers.
"""

from __future__ import annotations

from fake_services.core.clients import ClientTier, HealthStatus
from fake_services.core.projects import ProjectStatus
from fake_services.core.quotes import QuoteStatus
from fake_services.core.services import CoreServices
from fake_services.core.versions import VersionStatus
from fake_services.observability import CollectorRegistry
from fake_services.observability.domain_metrics import ClientHealthMetrics, StatusGauge


class DomainGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.versions = StatusGauge(
            registry,
            "automation_versions_by_status",
            "Automation versions by status (from the database).",
            VersionStatus,
        )
        self.projects = StatusGauge(
            registry, "projects_by_status", "Projects by status (from the database).", ProjectStatus
        )
        self.quotes = StatusGauge(
            registry, "quotes_by_status", "Quotes by status (from the database).", QuoteStatus
        )
        self.client_health = ClientHealthMetrics(registry, HealthStatus, ClientTier)

    async def refresh(self, svc: CoreServices) -> None:
        versions = await svc.versions.table.count_by("status")
        self.versions.set({key[0]: n for key, n in versions.items()})
        projects = await svc.projects.count_by("status")
        self.projects.set({key[0]: n for key, n in projects.items()})
        quotes = await svc.quotes.count_by("status")
        self.quotes.set({key[0]: n for key, n in quotes.items()})
        health = await svc.clients.count_by("health_status", "tier")
        self.client_health.set({(key[0], key[1]): n for key, n in health.items()})
