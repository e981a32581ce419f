"""The Alertmanager webhook receiver: records every notification with its arrival time.

Alertmanager posts to `/hook/<receiver>`; the path tells which receiver the route chose, so a
test can prove routing as well as delivery. Errors in the server thread are kept and
re-raised on the caller's thread by `raise_errors()`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.errors import ObserveError

__all__ = [
    "Notification",
    "NotificationLog",
    "NotificationReceiver",
    "NotifiedAlert",
    "parse_notification",
]


@dataclass(frozen=True)
class NotifiedAlert:
    name: str
    status: str  # firing | resolved
    labels: dict[str, str]
    starts_at: str
    ends_at: str


@dataclass(frozen=True)
class Notification:
    receiver: str  # from the URL path: the receiver Alertmanager's route chose
    status: str
    alerts: tuple[NotifiedAlert, ...]
    received_at: float  # unix seconds

    def mentions(self, alertname: str, status: str) -> bool:
        return any(a.name == alertname and a.status == status for a in self.alerts)


def parse_notification(receiver: str, body: dict[str, Any], received_at: float) -> Notification:
    alerts = tuple(
        NotifiedAlert(
            name=a.get("labels", {}).get("alertname", ""),
            status=a.get("status", ""),
            labels=a.get("labels", {}),
            starts_at=a.get("startsAt", ""),
            ends_at=a.get("endsAt", ""),
        )
        for a in body.get("alerts", [])
    )
    return Notification(receiver, body.get("status", ""), alerts, received_at)


class NotificationLog:
    """Notifications seen so far, thread-safe; what the runner reads deliveries from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notifications: list[Notification] = []
        self._errors: list[str] = []

    def _record(self, notes: list[Notification]) -> None:
        with self._lock:
            self._notifications += notes

    def notifications(self, since: float = 0.0) -> list[Notification]:
        with self._lock:
            return [n for n in self._notifications if n.received_at >= since]

    def first(self, alertname: str, status: str, since: float) -> Notification | None:
        return next(
            (n for n in self.notifications(since) if n.mentions(alertname, status)),
            None,
        )


class NotificationReceiver(NotificationLog):
    """A small HTTP server on 127.0.0.1 that Alertmanager's webhook configs point at."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="am-receiver", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> NotificationReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, receiver: str, raw: bytes) -> None:
        received_at = time.time()
        try:
            note = parse_notification(receiver, json.loads(raw), received_at)
        except (ValueError, AttributeError) as exc:
            with self._lock:
                self._errors.append(f"unreadable notification for {receiver}: {exc}")
            raise
        self._record([note])

    def raise_errors(self) -> None:
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise ObserveError("; ".join(errors))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                prefix = "/hook/"
                if not self.path.startswith(prefix):
                    self.send_error(404, "unknown path")
                    return
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    receiver.record(self.path[len(prefix) :], self.rfile.read(length))
                except (ValueError, AttributeError):
                    self.send_error(400, "bad notification")
                    return
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Alertmanager posts often; its requests are not worth a log line."""

        return Handler
