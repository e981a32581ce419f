"""Readiness strategies against tiny local servers, and the wait loop's failure modes."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.errors import ServiceStartError
from harness.stack import tools
from harness.stack.process import ManagedProcess
from harness.stack.readiness import (
    Cancelled,
    Exited,
    HttpReady,
    PostgresReady,
    PrometheusScraped,
    RedisReady,
    wait_exited,
    wait_ready,
)
from harness.stack.service import Readiness, ServiceSpec

Routes = dict[str, Callable[[], tuple[int, bytes]]]


@pytest.fixture
def http_server() -> Iterator[tuple[str, Routes]]:
    """A local HTTP server whose answers each test sets in `routes`."""
    routes: Routes = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = routes.get(self.path.split("?")[0], lambda: (404, b""))()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", routes
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_ready(http_server: tuple[str, Routes]) -> None:
    url, routes = http_server
    routes["/healthz"] = lambda: (200, b"ok")
    routes["/starting"] = lambda: (503, b"")
    assert HttpReady(f"{url}/healthz").check() is None
    assert "HTTP 503" in (HttpReady(f"{url}/starting").check() or "")
    assert HttpReady(f"{url}/starting", expect_status=503).check() is None


def test_http_not_listening() -> None:
    reason = HttpReady(f"http://127.0.0.1:{closed_port()}/healthz").check()
    assert reason is not None and "connection refused" in reason


@pytest.mark.parametrize(("reply", "ready"), [(b"+PONG\r\n", True), (b"-LOADING\r\n", False)])
def test_redis_ready(reply: bytes, ready: bool) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(reply)

        threading.Thread(target=answer, daemon=True).start()
        reason = RedisReady("127.0.0.1", server.getsockname()[1]).check()
    assert (reason is None) is ready
    if not ready:
        assert "LOADING" in (reason or "")


def test_redis_not_listening() -> None:
    assert RedisReady("127.0.0.1", closed_port()).check() is not None


@pytest.mark.skipif(tools.find("psql") is None, reason="psql not installed")
def test_postgres_not_listening() -> None:
    reason = PostgresReady(tools.locate("psql"), "127.0.0.1", closed_port(), timeout_s=2).check()
    assert reason is not None and reason.startswith("psql:")


def up_series(samples: dict[str, tuple[float, float]]) -> bytes:
    result = [
        {"metric": {"__name__": "up", "job": job}, "values": [[ts - 1, "0"], [ts, str(value)]]}
        for job, (ts, value) in samples.items()
    ]
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": result}}
    ).encode()


def test_prometheus_scraped(http_server: tuple[str, Routes]) -> None:
    url, routes = http_server
    since = 1000.0
    active = [{"labels": {"job": "core"}, "lastError": "refused"}]
    targets = {"status": "success", "data": {"activeTargets": active}}
    routes["/api/v1/targets"] = lambda: (200, json.dumps(targets).encode())
    check = PrometheusScraped(url, ("edge", "core"), since).check

    routes["/api/v1/query"] = lambda: (200, up_series({"edge": (1001.0, 1.0)}))
    assert check() == "no scrape yet of core"
    routes["/api/v1/query"] = lambda: (200, up_series({"edge": (1001.0, 1), "core": (999.0, 1)}))
    assert check() == "no scrape yet of core"  # a sample from before the start does not count
    routes["/api/v1/query"] = lambda: (200, up_series({"edge": (1001.0, 1), "core": (1002.0, 0)}))
    assert check() == "down: core (refused)"
    routes["/api/v1/query"] = lambda: (200, up_series({"edge": (1001.0, 1), "core": (1002.0, 1)}))
    assert check() is None


def test_prometheus_not_answering() -> None:
    reason = PrometheusScraped(f"http://127.0.0.1:{closed_port()}", ("edge",), 0).check()
    assert reason is not None and "query failed" in reason


def python_spec(tmp_path: Path, code: str, readiness: Readiness, **kw: object) -> ServiceSpec:
    return ServiceSpec(
        name="svc",
        command=[sys.executable, "-c", code],
        readiness=readiness,
        log_file=tmp_path / "svc.log",
        **kw,  # type: ignore[arg-type]
    )


def test_process_exiting_early_fails_fast_with_its_log(tmp_path: Path) -> None:
    code = "import sys; print('config error: bad flag', flush=True); sys.exit(3)"
    spec = python_spec(tmp_path, code, HttpReady(f"http://127.0.0.1:{closed_port()}/"))
    process = ManagedProcess(spec)
    process.start()
    began = time.monotonic()
    with pytest.raises(ServiceStartError) as caught:
        wait_ready(spec, process)
    assert time.monotonic() - began < 5  # not the 30 s start timeout
    error = caught.value
    assert error.service == "svc"
    assert "exited with code 3 before becoming ready" in error.reason
    assert "config error: bad flag" in error.log_tail
    process.stop()


def test_not_ready_in_time(tmp_path: Path) -> None:
    spec = python_spec(tmp_path, "import time; time.sleep(30)", Exited(), start_timeout_s=0.3)
    process = ManagedProcess(spec)
    process.start()
    try:
        with pytest.raises(ServiceStartError, match=r"not ready after 0\.3s: still running"):
            wait_ready(spec, process)
    finally:
        process.stop()


def test_cancelled_wait(tmp_path: Path) -> None:
    spec = python_spec(tmp_path, "import time; time.sleep(30)", Exited())
    process = ManagedProcess(spec)
    process.start()
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    try:
        with pytest.raises(Cancelled):
            wait_ready(spec, process, cancel=cancel)
    finally:
        process.stop()


def test_oneshot(tmp_path: Path) -> None:
    ok = ManagedProcess(python_spec(tmp_path, "pass", Exited(), oneshot=True))
    ok.start()
    assert wait_exited(ok) < 5
    failing = ManagedProcess(python_spec(tmp_path, "raise SystemExit(2)", Exited(), oneshot=True))
    failing.start()
    with pytest.raises(ServiceStartError) as caught:
        wait_exited(failing)
    assert caught.value.reason == "exited with code 2"
    ok.stop()
    failing.stop()
