"""One upstream reached over HTTP: a shared httpx client, and its failures as two exceptions.

Each caller (the edge forwarding to core, core and the build worker calling the WRK Platform,
core's platform probe) keeps one client for the life of the process: keep-alive connections are
pooled and the timeouts are set once. Tests hand it an httpx transport (an app in-process, or a
handler that fails on purpose); either way the caller gets a `Reply`, or an
`UpstreamTimeoutError` (no answer in time) or another `UpstreamError` (unreachable, connection
broken, answer cut short), which it maps to its own error codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

# uvicorn closes a keep-alive connection idle for 5 s: ours are dropped first, so a request is
# never written to a connection the server is closing.
KEEPALIVE_S = 4.0
# Idle connections kept for reuse. httpcore looks at every pooled connection on each request
# (a poll of each idle socket, and a count of all for each): with the 40 a burst leaves behind,
# the edge spent 1.1 ms of CPU per forwarded request, with 8 0.65 ms (the handshakes of the
# connections a burst opens anew included). More in flight at once is still allowed.
IDLE_CONNECTIONS = 8


class UpstreamError(Exception):
    """The upstream could not be reached, broke the connection or cut its answer short."""


class UpstreamTimeoutError(UpstreamError):
    """The upstream did not answer in time."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]  # names in lower case


class Sender:
    def __init__(
        self,
        base_url: str,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        max_connections: int,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=min(IDLE_CONNECTIONS, max_connections),
                keepalive_expiry=KEEPALIVE_S,
            ),
            transport=transport,
            trust_env=False,  # the configured upstream, never a proxy from the environment
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        """`target`: the path and query, as they go on the request line."""
        try:
            response = await self._client.request(method, target, content=body, headers=headers)
        except httpx.TimeoutException as exc:  # a RequestError too: first
            raise UpstreamTimeoutError(type(exc).__name__) from exc
        except httpx.RequestError as exc:
            raise UpstreamError(type(exc).__name__) from exc
        return Reply(response.status_code, response.content, dict(response.headers))
