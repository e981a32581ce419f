"""`python -m fake_services platform`: WRK_HOST, WRK_PORT, and for run events (all optional):
WRK_WEBHOOK_URL (unset: no events), WRK_WEBHOOK_SECRET (required with a URL),
WRK_RUN_EVENT_RATE (events/s, default 0), WRK_RUN_EVENT_TENANT (default tenant-1),
WRK_WEBHOOK_TIMEOUT_S (default 5), WRK_WEBHOOK_RETRY_MAX_S (default 5),
WRK_WEBHOOK_RETRY_DEADLINE_S (default 3600), WRK_WEBHOOK_CONCURRENCY (default 16)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fake_services.observability import Telemetry
from fake_services.platform.app import create_app
from fake_services.platform.settings import RunEventSettings
from fake_services.routes import PLATFORM_ROUTES
from fake_services.server import BuiltService, run_service


def build(env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
    settings = RunEventSettings.from_env(env)
    return BuiltService(create_app(telemetry, run_events=settings), secrets=settings.secrets())


def main() -> NoReturn:
    run_service("platform", PLATFORM_ROUTES, build)
