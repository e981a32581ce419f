"""`python -m fake_services core`: WRK_HOST, WRK_PORT, WRK_DATABASE_URL, WRK_REDIS_URL,
WRK_PLATFORM_URL, WRK_PLATFORM_TIMEOUT_S (default 2), WRK_DB_TIMEOUT_S (default 2),
WRK_DB_CONNECT_DEADLINE_S (default 20), WRK_REFRESH_INTERVAL_S (default 1),
WRK_QUEUE_DEPTH_INTERVAL_S (default 0.5), WRK_PLATFORM_PROBE_INTERVAL_S (default 0.5),
WRK_PLATFORM_PROBE_TIMEOUT_S (default 1); every service: WRK_DEFECTS (fake_services.defects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fake_services.core.app import create_app
from fake_services.core.settings import CoreSettings
from fake_services.observability import Telemetry
from fake_services.routes import CORE_ROUTES
from fake_services.server import BuiltService, run_service


def build(env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
    settings = CoreSettings.from_env(env)
    return BuiltService(create_app(settings, telemetry), secrets=settings.secrets())


def main() -> NoReturn:
    run_service("core", CORE_ROUTES, build)
