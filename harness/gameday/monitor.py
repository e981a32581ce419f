"""Watches the abort conditions in the background and stops the main thread when one holds.

The runner's timeline runs in the main thread (sleeps, waits on alerts). A signal is the one
way to cut it short wherever it is, and SIGINT already means "stop, roll back, report" there
(`Interrupted`), so an abort is delivered as SIGINT to the main thread, with its reason kept.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from harness.errors import ObserveError
from harness.gameday.abort import AbortPolicy, FiringAlert
from harness.gameday.budget import BudgetBurn, BudgetMeter
from harness.observe.prometheus import PrometheusClient

log = logging.getLogger("harness.gameday")


def interrupt_main_thread(reason: str) -> None:
    ident = threading.main_thread().ident
    if ident is not None:
        signal.pthread_kill(ident, signal.SIGINT)


class AbortMonitor:
    def __init__(
        self,
        policy: AbortPolicy,
        prometheus: PrometheusClient,
        meter: BudgetMeter | None,
        interval_s: float = 1.0,
        on_abort: Callable[[str], None] = interrupt_main_thread,
    ) -> None:
        self.policy, self._prom, self._meter = policy, prometheus, meter
        self._interval_s, self._on_abort = interval_s, on_abort
        self.reason: str | None = None
        self.aborted_at: float | None = None
        self.last_burn: BudgetBurn | None = None
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gameday-abort", daemon=True)

    def start(self) -> AbortMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def check(self, now: float) -> str | None:
        """One evaluation; a monitoring blip is recorded, not an abort."""
        try:
            firing = [
                FiringAlert(a.name, a.labels.get("severity"))
                for a in self._prom.alerts()
                if a.state == "firing"
            ]
            burn = self._meter.measure(now) if self._meter is not None else None
        except ObserveError as exc:
            self.errors.append(str(exc))
            log.warning("abort conditions not evaluated: %s", exc)
            return None
        self.last_burn = burn or self.last_burn
        return self.policy.reason(firing, burn)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            reason = self.check(time.time())
            if reason is not None:
                self.reason, self.aborted_at = reason, time.time()
                self._on_abort(reason)
                return
