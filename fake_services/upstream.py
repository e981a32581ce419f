"""A small keep-alive HTTP/1.1 client for a service's one upstream (edge → core, core and the
build worker → WRK Platform).

Why not httpx: on these machines an httpx.AsyncClient request costs about 2-5 ms of CPU (anyio
and httpcore layers), more than core spends answering a request, and the edge forwards every
request. This client writes the request with one `write`, parses the answer with httptools (the
parser uvicorn uses) and keeps a LIFO pool of idle connections: well under a millisecond of CPU.

It speaks only what the fakes need: one host, plain HTTP, Content-Length request bodies,
answers framed by Content-Length or chunked. An answer delimited by the connection's close (no
framing) reads as cut short: uvicorn and the fakes never send one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

# uvicorn closes idle keep-alive connections after 5 s: retire ours before that.
IDLE_LIMIT_S = 4.0
READ_CHUNK = 65536


def is_plain_http(url: str) -> bool:
    """http://host[:port] and nothing more: this client speaks no TLS and sends request paths
    as they are, so a path prefix or query in the base URL would be lost."""
    parts = urlsplit(url)
    bare = parts.path in ("", "/") and not parts.query
    return parts.scheme == "http" and bool(parts.hostname) and bare


class UpstreamError(Exception):
    """The upstream could not be reached or broke the connection."""


class UpstreamTimeoutError(UpstreamError):
    """The upstream did not answer in time."""


@dataclass
class UpstreamResponse:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    def header(self, name: bytes) -> bytes | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class _Reading:
    """httptools' callbacks for one answer. Whatever the upstream sends after it (it was asked
    for one) is not part of it, and leaves the connection's stream out of step: `overrun`.

    The parser holds these callbacks and they hold the parser: `release` parts them once the
    answer is read, so both are freed at once. Left as a cycle, every answer waited for the
    cycle collector, whose passes took about 7 % of the edge's CPU under load."""

    __slots__ = ("complete", "overrun", "parser", "response", "started")

    def __init__(self) -> None:
        self.response = UpstreamResponse()
        self.parser = httptools.HttpResponseParser(self)
        self.started = False
        self.complete = False
        self.overrun = False

    def release(self) -> None:
        del self.parser

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.feed_data(chunk)
        except httptools.HttpParserError as exc:
            if not self.complete:
                raise _AnswerStarted(f"unparseable answer: {exc}") from None
            self.overrun = True  # garbage after a whole answer: the answer stands

    def on_message_begin(self) -> None:
        self.overrun = self.complete
        self.started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.response.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if not self.complete:
            self.response.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.response.body += body

    def on_message_complete(self) -> None:
        self.complete = True


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < IDLE_LIMIT_S
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class UpstreamClient:
    def __init__(self, base_url: str, timeout_s: float, max_connections: int = 200) -> None:
        if not is_plain_http(base_url):
            raise ValueError(f"only http://host:port upstreams are supported, got {base_url!r}")
        parts = urlsplit(base_url)
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc.encode("latin-1")
        self._timeout_s = timeout_s
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> UpstreamResponse:
        payload = self._serialise(method, target, headers, body)
        async with self._slots:
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._exchange(payload)
            except TimeoutError:
                raise UpstreamTimeoutError("the upstream did not answer in time") from None

    async def _exchange(self, payload: bytes) -> UpstreamResponse:
        conn, reused = await self._checkout()
        try:
            reading = await self._round_trip(conn, payload)
        except (UpstreamError, OSError) as exc:
            conn.close()
            if not reused or isinstance(exc, _AnswerStarted):
                raise _as_upstream_error(exc) from exc
            # A pooled connection the server had just closed: nothing was answered, so the
            # request was not processed; one retry on a fresh connection is safe.
            conn, _ = await self._connect(), False
            try:
                reading = await self._round_trip(conn, payload)
            except (UpstreamError, OSError) as retry_exc:
                conn.close()
                raise _as_upstream_error(retry_exc) from retry_exc
        self._checkin(conn, reading)
        return reading.response

    async def _checkout(self) -> tuple[_Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn, True
            conn.close()
        return await self._connect(), False

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise UpstreamError(f"cannot connect: {type(exc).__name__}") from exc
        return _Connection(reader, writer)

    def _checkin(self, conn: _Connection, reading: _Reading) -> None:
        connection = (reading.response.header(b"connection") or b"").lower()
        if connection == b"close" or reading.overrun:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def _round_trip(self, conn: _Connection, payload: bytes) -> _Reading:
        conn.writer.write(payload)
        await conn.writer.drain()
        reading = _Reading()
        try:
            while not reading.complete:
                chunk = await conn.reader.read(READ_CHUNK)
                if not chunk:
                    if reading.started:
                        raise _AnswerStarted("the upstream closed the connection mid-answer")
                    raise UpstreamError("the upstream closed the connection")
                reading.feed(chunk)
        finally:
            reading.release()
        return reading

    def _serialise(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"host: " + self._host_header]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
        lines.append(f"content-length: {len(body)}".encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _AnswerStarted(UpstreamError):
    """Failed after the upstream began answering: it may have acted, so never retry."""


def _as_upstream_error(exc: BaseException) -> UpstreamError:
    if isinstance(exc, UpstreamError):
        return exc
    return UpstreamError(f"connection failed: {type(exc).__name__}")
