"""A tiny HTTP target for Locust runs: records when each request came and from which process."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROCESS_HEADER = "X-Load-Process"  # a test locustfile may name its process (PID) in it


class LoadTarget(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.by_process: collections.Counter[str] = collections.Counter()
        self.stall_until = 0.0  # a request that comes before this is answered only then

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def since(self, start: float, end: float = float("inf")) -> list[float]:
        """Arrival times in [start, end)."""
        with self.lock:
            return [t for t in self.arrivals if start <= t < end]

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.by_process.clear()


class _Handler(BaseHTTPRequestHandler):
    server: LoadTarget
    protocol_version = "HTTP/1.1"  # keep-alive, as the services answer

    def do_GET(self) -> None:
        arrived = time.monotonic()
        with self.server.lock:
            self.server.arrivals.append(arrived)
            self.server.by_process[self.headers.get(PROCESS_HEADER, "?")] += 1
        time.sleep(max(0.0, self.server.stall_until - arrived))
        body = b'{"items": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving() -> Iterator[LoadTarget]:
    target = LoadTarget()
    thread = threading.Thread(target=target.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        target.shutdown()
        target.server_close()
