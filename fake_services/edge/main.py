"""`python -m fake_services edge`: WRK_HOST, WRK_PORT, WRK_CORE_URL, WRK_API_KEYS,
WRK_CORE_TIMEOUT_S (default 10), WRK_TRUST_FORWARDED (default 0), WRK_RATE_LIMIT_RPS (default 0,
no limit), WRK_AUTH_FAILURE_SOURCES_MAX (default 1000)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fake_services.edge.app import create_app
from fake_services.edge.settings import EdgeSettings
from fake_services.observability import Telemetry
from fake_services.routes import EDGE_ROUTES
from fake_services.server import BuiltService, run_service


def build(env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
    settings = EdgeSettings.from_env(env)
    return BuiltService(create_app(settings, telemetry), secrets=settings.secrets())


def main() -> NoReturn:
    run_service("edge", EDGE_ROUTES, build)
