"""The client that ships (fake_services.sender: httpx, no injected transport) on real sockets,
against a server that answers, fails or breaks the connection on purpose: through core each
failure becomes the same error code as with an injected transport (test_core), and a good
answer creates the automation; on both event loops the services may run on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
import uvloop
from fastapi.testclient import TestClient

from fake_services import env as envvars
from fake_services.core.app import create_app
from fake_services.core.settings import CoreSettings
from fake_services.observability import Telemetry
from fake_services.sender import Sender, UpstreamError, UpstreamTimeoutError
from fake_services.workers.settings import WorkerSettings

from ._core import assert_create_fails_on_the_platform, fetch, sample, settings_for
from ._processes import free_port
from .conftest import CapturedLogs

TENANT = {"X-Tenant-ID": "t1", "X-User-ID": "u1", "X-Request-ID": "req-raw-1"}

Behaviour = Callable[[socket.socket], None]


def _answer(status: int, body: bytes, content_type: str = "application/json") -> Behaviour:
    def behave(conn: socket.socket) -> None:
        head = f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n"
        conn.sendall(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)

    return behave


def _reset(conn: socket.socket) -> None:
    # Linger 0: close sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _hang_up(_: socket.socket) -> None:
    """Close without a word."""


def _half_answer(conn: socket.socket) -> None:
    conn.sendall(b'HTTP/1.1 201 Created\r\ncontent-length: 100\r\n\r\n{"workflow')


class ScriptedPlatform:
    """Reads each request whole, keeps it, then lets `behaviour` answer and closes."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed by stop()
                return
            with conn:
                conn.settimeout(5)  # a client that sends nothing cannot hold the thread
                self.requests.append(_read_request(conn))
                self._behaviour(conn)

    def stop(self) -> None:
        with contextlib.suppress(OSError):  # wakes a blocked accept(); close() alone does not
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=5)


def _read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


@pytest.fixture
def scripted() -> Iterator[Callable[[Behaviour], ScriptedPlatform]]:
    started: list[ScriptedPlatform] = []

    def start(behaviour: Behaviour) -> ScriptedPlatform:
        started.append(ScriptedPlatform(behaviour))
        return started[-1]

    yield start
    for platform in started:
        platform.stop()


def _core(database_url: str, redis_url: str, telemetry: Telemetry, url: str) -> TestClient:
    settings = settings_for(database_url, redis_url, platform_url=url, platform_timeout_s=2.0)
    return TestClient(create_app(settings, telemetry))


@pytest.mark.parametrize(
    ("behaviour", "status", "code"),
    [
        (_reset, 503, "wrk_platform_unavailable"),
        (_hang_up, 503, "wrk_platform_unavailable"),
        (_half_answer, 503, "wrk_platform_unavailable"),
        (_answer(500, b"{}"), 502, "wrk_platform_error"),
        (_answer(201, b"not json", "text/plain"), 502, "wrk_platform_error"),
        (_answer(201, b'{"id": "no workflow_id"}'), 502, "wrk_platform_error"),
    ],
)
def test_platform_failures_map_to_error_codes(
    *,
    database_url: str,
    redis_url: str,
    core_telemetry: Telemetry,
    logs: CapturedLogs,
    scripted: Callable[[Behaviour], ScriptedPlatform],
    behaviour: Behaviour,
    status: int,
    code: str,
) -> None:
    platform = scripted(behaviour)
    with _core(database_url, redis_url, core_telemetry, platform.url) as client:
        assert_create_fails_on_the_platform(client, status, code)
    failures = [e for e in logs.lines() if e.get("platform_call") == "create_workflow"]
    assert [(e["level"], e["error_code"]) for e in failures] == [("ERROR", code)]


def test_refused_connection_is_503(
    database_url: str, redis_url: str, core_telemetry: Telemetry, logs: CapturedLogs
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with _core(database_url, redis_url, core_telemetry, url) as client:
        response = client.post("/v1/automations", json={"name": "a"}, headers=TENANT)
    assert (response.status_code, response.json()["error_code"]) == (
        503,
        "wrk_platform_unavailable",
    )


def test_a_good_answer_creates_the_automation_from_a_well_formed_call(
    *,
    database_url: str,
    redis_url: str,
    core_telemetry: Telemetry,
    logs: CapturedLogs,
    scripted: Callable[[Behaviour], ScriptedPlatform],
) -> None:
    platform = scripted(_answer(201, b'{"workflow_id": "wf-raw-1"}'))
    with _core(database_url, redis_url, core_telemetry, platform.url) as client:
        response = client.post("/v1/automations", json={"name": "a"}, headers=TENANT)
        assert response.status_code == 201, response.text
        assert response.json()["workflow_id"] == "wf-raw-1"
        labels = {"call": "create_workflow", "outcome": "success"}
        assert sample(client, "wrk_platform_calls_total", labels) == 1.0
    rows = fetch(database_url, "SELECT workflow_id FROM automations WHERE tenant_id = 't1'")
    assert rows == [{"workflow_id": "wf-raw-1"}]
    # Core's platform probe GETs /healthz meanwhile: only the workflow call is of interest.
    [(head, body)] = [r for r in platform.requests if r[0].startswith(b"POST ")]
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    assert lines[0] == "POST /v1/workflows HTTP/1.1"
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-raw-1"
    assert headers["idempotency-key"] == response.json()["id"]
    assert headers["traceparent"].startswith("00-")
    assert json.loads(body) == {"name": "a", "tenant_id": "t1"}


@pytest.mark.parametrize("url", ["ftp://platform", "platform:8000", "//platform"])
def test_a_platform_url_that_is_not_http_is_refused_at_startup(url: str) -> None:
    env = {
        "WRK_DATABASE_URL": "postgresql://wrk@127.0.0.1:5432/wrk",
        "WRK_REDIS_URL": "redis://127.0.0.1:6379/0",
        "WRK_PLATFORM_URL": url,
    }
    with pytest.raises(envvars.ConfigError, match="WRK_PLATFORM_URL"):
        CoreSettings.from_env(env)
    with pytest.raises(envvars.ConfigError, match="WRK_PLATFORM_URL"):
        WorkerSettings.from_env(env, needs_platform=True)


# The services run on uvloop, the in-process tests above on asyncio's loop: the client is
# checked on both (their transports differ in ways a protocol can trip on).
LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
T = TypeVar("T")


def run_on(loop_name: str, make: Callable[[], Awaitable[T]]) -> T:
    loop = LOOPS[loop_name]()
    try:
        return loop.run_until_complete(make())
    finally:
        loop.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_the_client_answers_and_reconnects_after_the_server_closed(
    loop: str, scripted: Callable[[Behaviour], ScriptedPlatform]
) -> None:
    platform = scripted(_answer(201, b'{"ok": 1}'))  # one answer per connection, then close

    async def calls() -> list[tuple[int, bytes, str | None]]:
        sender = Sender(platform.url, 2.0, max_connections=4)
        try:
            json_head = {"content-type": "application/json"}
            answers = [await sender.send("POST", "/x", b"{}", json_head)]
            answers.append(await sender.send("GET", "/y?z=1", b"", {}))
        finally:
            await sender.aclose()
        return [(a.status, a.body, a.headers.get("content-type")) for a in answers]

    assert run_on(loop, calls) == [(201, b'{"ok": 1}', "application/json")] * 2
    heads = [head.split(b"\r\n")[0] for head, _ in platform.requests]
    assert heads == [b"POST /x HTTP/1.1", b"GET /y?z=1 HTTP/1.1"]


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("behaviour", [_reset, _hang_up, _half_answer])
def test_a_broken_connection_is_an_upstream_error(
    loop: str, behaviour: Behaviour, scripted: Callable[[Behaviour], ScriptedPlatform]
) -> None:
    platform = scripted(behaviour)

    async def call() -> BaseException:
        sender = Sender(platform.url, 2.0, max_connections=4)
        try:
            with pytest.raises(UpstreamError) as raised:
                await sender.send("GET", "/x", b"", {})
        finally:
            await sender.aclose()
        return raised.value

    assert not isinstance(run_on(loop, call), UpstreamTimeoutError)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_silent_upstream_times_out(
    loop: str, scripted: Callable[[Behaviour], ScriptedPlatform]
) -> None:
    platform = scripted(lambda _: time.sleep(1.0))  # reads the request, then says nothing

    async def call() -> float:
        sender = Sender(platform.url, 0.3, max_connections=4)
        started = time.monotonic()
        try:
            with pytest.raises(UpstreamTimeoutError):
                await sender.send("GET", "/slow", b"", {})
        finally:
            await sender.aclose()
        return time.monotonic() - started

    assert 0.25 < run_on(loop, call) < 0.9


@pytest.mark.parametrize("loop", LOOPS)
def test_a_refused_connection_is_an_upstream_error(loop: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    async def call() -> BaseException:
        sender = Sender(url, 2.0, max_connections=4)
        try:
            with pytest.raises(UpstreamError) as raised:
                await sender.send("GET", "/x", b"", {})
        finally:
            await sender.aclose()
        return raised.value

    assert not isinstance(run_on(loop, call), UpstreamTimeoutError)
