"""Responses are written in one piece, in order, and nothing is written after a close."""

from __future__ import annotations

import asyncio
from typing import Any

from fake_services.http_protocol import CoalescingTransport


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.paused = True


def _wrapped(loop: asyncio.AbstractEventLoop) -> tuple[FakeTransport, CoalescingTransport]:
    raw = FakeTransport()
    transport: Any = raw
    return raw, CoalescingTransport(transport, loop)


def test_writes_of_one_step_become_one_write_in_order() -> None:
    async def scenario() -> list[bytes]:
        raw, transport = _wrapped(asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert raw.writes == []
        assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        transport.write(b"next")
        await asyncio.sleep(0)
        return raw.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


def test_close_writes_what_is_pending_first() -> None:
    async def scenario() -> FakeTransport:
        raw, transport = _wrapped(asyncio.get_running_loop())
        transport.write(b"last words")
        transport.close()
        await asyncio.sleep(0)  # the scheduled flush finds nothing left to write
        return raw

    raw = asyncio.run(scenario())
    assert raw.writes == [b"last words"]
    assert raw.closed


def test_nothing_is_written_once_the_peer_has_gone() -> None:
    async def scenario() -> FakeTransport:
        raw, transport = _wrapped(asyncio.get_running_loop())
        transport.write(b"too late")
        raw.closed = True  # the connection was lost before the end of the step
        await asyncio.sleep(0)
        return raw

    assert asyncio.run(scenario()).writes == []


def test_other_calls_reach_the_transport() -> None:
    async def scenario() -> FakeTransport:
        raw, transport = _wrapped(asyncio.get_running_loop())
        transport.pause_reading()
        assert not transport.is_closing()
        return raw

    assert asyncio.run(scenario()).paused
