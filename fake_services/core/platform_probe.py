"""Core's periodic probe of the WRK Platform: `wrk_platform_up` (spec §5.2 "while WRK Platform
is expected to be online"; RunEventsSilent is excused only while it reads 0).

Every probe is a GET of the platform's /healthz at the address core calls it at
(WRK_PLATFORM_URL, so through the same network path and proxy as the workflow calls), with a
short timeout. It has its own client with one connection: a probe never queues behind workflow
calls nor counts as one, and the `wrk_platform_calls` feature flag does not stop it (the flag says
whether core calls the platform, not whether the platform is up).

Up on the first answered probe; down only after DOWN_AFTER consecutive failures. A refused
connection fails at once, so an outage shows within about one interval more, while a single
probe lost to a busy event loop cannot report a platform down that is not, and so cannot
silence RunEventsSilent for a whole window.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx

from fake_services.observability import ErrorCode, get_logger
from fake_services.observability.metrics import PlatformUpMetric
from fake_services.sender import Sender, UpstreamError, UpstreamTimeoutError

HEALTH_PATH = "/healthz"
DOWN_AFTER = 2

_log = get_logger(__name__)


class PlatformProbe:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        metric: PlatformUpMetric,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._metric = metric
        self._sender = Sender(base_url, timeout_s, transport, max_connections=1)
        self._failures = 0
        self._up: bool | None = None  # unknown until the first verdict

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def probe(self) -> bool:
        """Probe once and publish the verdict; returns whether the platform is up."""
        reason = await self._failure()
        self._failures = 0 if reason is None else self._failures + 1
        if reason is None:
            up = True
        elif self._up is None or self._failures >= DOWN_AFTER:
            up = False  # a platform never reached at startup is not presumed up meanwhile
        else:
            up = self._up
        if up != self._up:
            self._announce(up, reason)
        self._up = up
        self._metric.set(up)
        return up

    async def _failure(self) -> str | None:
        """None when the platform answered its health check, else why not."""
        try:
            reply = await self._sender.send("GET", HEALTH_PATH, b"", {})
        except UpstreamTimeoutError:
            return "timeout"
        except UpstreamError as exc:
            return str(exc) or type(exc).__name__
        if reply.status != HTTPStatus.OK:
            return f"status {reply.status}"
        return None

    def _announce(self, up: bool, reason: str | None) -> None:
        if up:
            _log.info("WRK Platform probe: up", probe=HEALTH_PATH)
        else:
            _log.warning(
                "WRK Platform probe: down",
                error_code=ErrorCode.WRK_PLATFORM_UNAVAILABLE,
                probe=HEALTH_PATH,
                detail=reason,
                consecutive_failures=self._failures,
            )
