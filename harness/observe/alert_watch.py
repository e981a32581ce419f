"""Polls Prometheus's alert states in the background so a run can wait on them and show them.

Times of record come from Prometheus itself afterwards (`ALERTS` series); this watcher is
for waiting ("has it fired yet?") and live progress, so a poll every 100 ms is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import ObserveError
from harness.observe.prometheus import ActiveAlert, PrometheusClient

log = logging.getLogger("harness.observe")


@dataclass(frozen=True)
class StateChange:
    alertname: str
    state: str  # pending | firing | inactive
    at: float  # unix seconds of the poll that saw it


class AlertWatcher:
    def __init__(self, prometheus: PrometheusClient, poll_s: float = 0.1) -> None:
        self._prom = prometheus
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._current: dict[str, str] = {}
        self._changes: list[StateChange] = []
        self._errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alert-watch", daemon=True)

    def start(self) -> AlertWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self._observe(self._prom.alerts(), time.time())
            except ObserveError as exc:
                with self._lock:
                    self._errors.append(str(exc))

    def _observe(self, alerts: list[ActiveAlert], now: float) -> None:
        states = {a.name: a.state for a in alerts if a.state == "firing"}
        for a in alerts:
            states.setdefault(a.name, a.state)
        with self._lock:
            for name in set(self._current) | set(states):
                new = states.get(name, "inactive")
                if self._current.get(name, "inactive") != new:
                    self._changes.append(StateChange(name, new, now))
                    log.debug("alert %s -> %s", name, new)
            self._current = states

    def current(self) -> dict[str, str]:
        with self._lock:
            return dict(self._current)

    def changes(self, since: float = 0.0) -> list[StateChange]:
        with self._lock:
            return [c for c in self._changes if c.at >= since]

    def first(self, alertname: str, state: str, since: float) -> StateChange | None:
        return next(
            (c for c in self.changes(since) if c.alertname == alertname and c.state == state),
            None,
        )

    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)


def wait_until(condition: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> bool:
    """Poll `condition` until true or the monotonic deadline passes; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
