"""`python -m fake_services webhook`: WRK_HOST, WRK_PORT, WRK_DATABASE_URL, WRK_REDIS_URL,
WRK_WEBHOOK_SECRET (>= 16 characters), WRK_WEBHOOK_REPLAY_WINDOW_S (default 300),
WRK_WEBHOOK_MAX_BODY_BYTES (default 65536), WRK_DB_TIMEOUT_S (default 2),
WRK_DB_CONNECT_DEADLINE_S (default 20)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fake_services.observability import Telemetry
from fake_services.routes import WEBHOOK_ROUTES
from fake_services.server import BuiltService, run_service
from fake_services.webhook.app import create_app
from fake_services.webhook.settings import WebhookSettings


def build(env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
    settings = WebhookSettings.from_env(env)
    return BuiltService(create_app(settings, telemetry), secrets=settings.secrets())


def main() -> NoReturn:
    run_service("webhook", WEBHOOK_ROUTES, build)
