"""`python -m fake_services platform`: WRK_HOST, WRK_PORT (no other settings)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fake_services.observability import Telemetry
from fake_services.platform.app import create_app
from fake_services.routes import PLATFORM_ROUTES
from fake_services.server import BuiltService, run_service


def build(_env: Mapping[str, str], telemetry: Telemetry) -> BuiltService:
    return BuiltService(create_app(telemetry))


def main() -> NoReturn:
    run_service("platform", PLATFORM_ROUTES, build)
