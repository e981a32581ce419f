"""`python -m fake_services worker-<queue>`: one process per queue.

All workers: WRK_HOST, WRK_PORT (/healthz, /metrics), WRK_REDIS_URL, WRK_DATABASE_URL,
WRK_MAX_ATTEMPTS (default 5), WRK_RETRY_BASE_S (default 2), WRK_RETRY_MAX_S (default 60),
WRK_WORKER_CONCURRENCY (default 4), WRK_WORKER_LEASE_S (default 10), WRK_DEFER_S (default 5),
WRK_REFRESH_INTERVAL_S (default 1), WRK_DB_TIMEOUT_S (default 2),
WRK_DB_CONNECT_DEADLINE_S (default 20).
worker-build also: WRK_PLATFORM_URL (required), WRK_PLATFORM_TIMEOUT_S (default 5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NoReturn

from fake_services.observability import Telemetry
from fake_services.routes import WORKER_ROUTES
from fake_services.server import BuiltService, run_service
from fake_services.workers.ai_ingestion import AiIngestionWorker
from fake_services.workers.app import HandlerFactory, create_app
from fake_services.workers.build import BuildWorker
from fake_services.workers.notifications import NotificationsWorker
from fake_services.workers.settings import WorkerSettings
from fake_services.workers.usage import UsageAggregationWorker


def _runner(
    service: str, factory: HandlerFactory, needs_platform: bool = False
) -> Callable[[], NoReturn]:
    def build(env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
        settings = WorkerSettings.from_env(env, needs_platform=needs_platform)
        return BuiltService(create_app(settings, telemetry, factory), secrets=settings.secrets())

    def main() -> NoReturn:
        run_service(service, WORKER_ROUTES, build)

    return main


build_main = _runner("worker-build", BuildWorker, needs_platform=True)
ai_ingestion_main = _runner("worker-ai-ingestion", AiIngestionWorker)
notifications_main = _runner("worker-notifications", NotificationsWorker)
usage_aggregation_main = _runner("worker-usage-aggregation", UsageAggregationWorker)
