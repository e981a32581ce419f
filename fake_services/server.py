"""Process bootstrap shared by all services: logging first, then settings, then uvicorn.

Logging is configured before anything else so that even a configuration error is reported as a
JSON log line (and on stderr), and the process exits non-zero.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

import uvicorn
from fastapi import FastAPI

from fake_services import defects
from fake_services import env as envvars
from fake_services.observability import (
    Redactor,
    Telemetry,
    configure_logging,
    create_telemetry,
    get_logger,
    span_file_from_env,
)
from fake_services.routes import RouteTable

EXIT_CONFIG_ERROR = 2
EXIT_STARTUP_FAILED = 1
# In-flight requests get this long after SIGTERM; a stuck dependency must not block a stop.
GRACEFUL_SHUTDOWN_S = 5

_log = get_logger(__name__)


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    log_level: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServerSettings:
        level = envvars.optional(env, "WRK_LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARN", "WARNING", "ERROR"):
            raise envvars.ConfigError(f"WRK_LOG_LEVEL must be DEBUG/INFO/WARN/ERROR, got {level!r}")
        return cls(
            host=envvars.optional(env, "WRK_HOST", "127.0.0.1"),
            port=envvars.port(env),
            log_level=level,
        )


@dataclass(frozen=True)
class BuiltService:
    app: FastAPI
    # Values this service knows to be secret (API keys, passwords): redacted from all logs.
    secrets: frozenset[str] = field(default_factory=frozenset)


Builder = Callable[[Mapping[str, str], Telemetry], BuiltService]


def run_service(service: str, routes: RouteTable, build: Builder) -> NoReturn:
    env = dict(os.environ)
    configure_logging(service, Redactor.from_env(env))
    try:
        injected = defects.configure(env)  # first: metrics, logs and clients are built below
        settings = ServerSettings.from_env(env)
        span_file = span_file_from_env(env)
        telemetry = create_telemetry(service, routes, span_file, Redactor.from_env(env))
        built = build(env, telemetry)
    except envvars.ConfigError as exc:
        _log.error(f"invalid configuration: {exc}")
        sys.stderr.write(f"{service}: invalid configuration: {exc}\n")
        sys.exit(EXIT_CONFIG_ERROR)
    redactor = Redactor.from_env(env, built.secrets)
    configure_logging(service, redactor, settings.log_level)
    telemetry.tracing.redact_with(redactor)
    if injected:
        _log.warning("defects injected (WRK_DEFECTS)", defects=sorted(injected))
    sys.exit(serve(built.app, settings))


def freeze_start_up_heap() -> None:
    """Put what start-up built (modules, the app, its routes and models: most of the heap) out
    of the cycle collector's reach. Each full collection walked all of it, a pause of about
    60 ms in edge and core every ten seconds or so under load; now it walks what came after."""
    gc.collect()  # start-up's garbage first: a frozen object is never collected
    gc.freeze()


def serve(app: FastAPI, settings: ServerSettings) -> int:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # uvloop and httptools (C parsers) roughly halve the per-request cost of h11 + asyncio.
        loop="uvloop",
        http="httptools",
        workers=1,
        lifespan="on",
        log_level="warning",
        access_log=False,  # the observability middleware writes the access log
        # The edge alone decides whether to believe X-Forwarded-For (WRK_TRUST_FORWARDED);
        # uvicorn's default would rewrite the peer address from it for any loopback client.
        proxy_headers=False,
        log_config=None,  # keep our JSON handler: uvicorn's loggers propagate to it
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    freeze_start_up_heap()
    server.run()
    if not server.started:
        _log.error("service failed to start", port=settings.port)
        return EXIT_STARTUP_FAILED
    return 0
