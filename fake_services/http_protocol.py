"""uvicorn's httptools protocol, with each response written in one piece.

uvicorn writes a response's head when the app starts it and the body when the app sends it:
two socket writes, and on the other side two segments to read and often two wake-ups. Within
one event-loop step the writes are only collected here, then written together at the end of
the step, which changes nothing in what is sent, nor its order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """Stands in for the connection's transport: `write` gathers, the rest is passed on."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():  # the peer left: nothing to write to
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Only the writes of requests go through the stand-in; flow control keeps the original.
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
