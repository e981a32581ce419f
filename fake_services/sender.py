"""One upstream reached over HTTP, with the same answer and failures whatever carries it.

Services talk to their upstream through the small client of `upstream.py`; tests inject an
httpx transport instead (an app in-process, or a handler that fails on purpose). Either way the
caller gets a `Reply`, and a failure is an `UpstreamTimeoutError` (no answer in time) or another
`UpstreamError` (unreachable, connection broken), which it maps to its own error codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from fake_services.upstream import UpstreamClient, UpstreamError, UpstreamTimeoutError


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]  # names in lower case


class Sender:
    async def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class _RawSender(Sender):
    def __init__(self, base_url: str, timeout_s: float, max_connections: int) -> None:
        self._client = UpstreamClient(base_url, timeout_s, max_connections)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        response = await self._client.request(method, target, headers, body)
        decoded = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
        return Reply(response.status, bytes(response.body), decoded)


class _HttpxSender(Sender):
    def __init__(
        self, base_url: str, timeout_s: float, transport: httpx.AsyncBaseTransport
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        try:
            response = await self._client.request(method, target, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise UpstreamError(type(exc).__name__) from exc
        return Reply(response.status_code, response.content, dict(response.headers))


def open_sender(
    base_url: str,
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    max_connections: int = 200,
) -> Sender:
    """The small client for `base_url`, or an httpx client over `transport` when one is given."""
    if transport is None:
        return _RawSender(base_url, timeout_s, max_connections)
    return _HttpxSender(base_url, timeout_s, transport)
