"""Live progress in the terminal: phase banners, alert states and time left to each budget.

One concept for every long run (`wrkh run`, `wrkh gameday`). Phases are announced as lines;
while a scenario runs, a ticker shows each watched alert's state (inactive, pending, firing,
notified, resolved) and the seconds left before its budget runs out. On a terminal the status
is one line refreshed in place; elsewhere (CI logs) it is a timestamped line per state change,
in the same `[wrkh HH:MM:SS] message` form as the phase lines, so logs stay readable.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from harness.run.faults import ActiveFault

TICK_S = 0.5
_CLEAR_LINE = "\r\x1b[K"


@dataclass(frozen=True)
class WatchedAlert:
    """An alert the scenario expects, with its budgets (seconds from fault start / end)."""

    name: str
    budget_s: float
    resolve_budget_s: float


@dataclass(frozen=True)
class AlertView:
    name: str
    state: str  # inactive | pending | firing | notified | resolved
    seconds_left: float | None  # to the budget being counted down; negative: over it


@dataclass(frozen=True)
class FaultWindow:
    start: float | None = None
    end: float | None = None


class _States(Protocol):
    def current(self) -> dict[str, str]: ...


class _Deliveries(Protocol):
    def first(self, alertname: str, status: str, since: float) -> object | None: ...


class _Faults(Protocol):
    @property
    def active(self) -> tuple[ActiveFault, ...]: ...


def alert_view(
    alert: WatchedAlert,
    state: str,
    *,
    notified: bool,
    resolved: bool,
    window: FaultWindow,
    now: float,
) -> AlertView:
    """What one alert looks like now; the countdown runs while its budget still matters."""
    if window.start is None:
        return AlertView(alert.name, state, None)
    if window.end is None:
        shown = "notified" if state == "firing" and notified else state
        left = None if state == "firing" else alert.budget_s - (now - window.start)
        return AlertView(alert.name, shown, left)
    if resolved:
        return AlertView(alert.name, "resolved", None)
    return AlertView(alert.name, state, alert.resolve_budget_s - (now - window.end))


def render_status(scenario: str, phase: str, views: Sequence[AlertView]) -> str:
    """One compact line: `[scenario] phase | Alert state 3.2 s left · ...`."""
    parts = [f"{v.name} {v.state}{_left(v.seconds_left)}" for v in views]
    alerts = " · ".join(parts) if parts else "no alert watched"
    return f"[{scenario}] {phase} | {alerts}"


def render_change(scenario: str, view: AlertView) -> str:
    """One line per state change, for logs."""
    return f"[{scenario}] {view.name}: {view.state}{_left(view.seconds_left)}"


def _left(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds >= 0:
        return f" {seconds:.1f} s left"
    return f" {-seconds:.1f} s over budget"


def stamp(message: str, now: float | None = None) -> str:
    clock = time.localtime(now) if now is not None else time.localtime()
    return f"[wrkh {time.strftime('%H:%M:%S', clock)}] {message}"


class AlertTracker:
    """Reads the watched alerts' live states from the run's observers."""

    def __init__(
        self,
        scenario: str,
        alerts: Sequence[WatchedAlert],
        states: _States,
        deliveries: _Deliveries,
        faults: _Faults,
    ) -> None:
        self.scenario = scenario
        self.alerts = tuple(alerts)
        self._states, self._deliveries, self._faults = states, deliveries, faults
        self._window = FaultWindow()

    def window(self, now: float) -> FaultWindow:
        """Start: the first active fault's; end: first seen without an active fault."""
        active = self._faults.active
        if active and self._window.start is None:
            self._window = FaultWindow(active[0].started_at)
        elif not active and self._window.start is not None and self._window.end is None:
            self._window = FaultWindow(self._window.start, now)
        return self._window

    def views(self, now: float) -> list[AlertView]:
        window = self.window(now)
        current = self._states.current()
        out = []
        for a in self.alerts:
            notified = window.start is not None and bool(
                self._deliveries.first(a.name, "firing", window.start)
            )
            resolved = window.end is not None and bool(
                self._deliveries.first(a.name, "resolved", window.end)
            )
            state = current.get(a.name, "inactive")
            out.append(
                alert_view(a, state, notified=notified, resolved=resolved, window=window, now=now)
            )
        return out


class LiveProgress:
    """The one progress printer; callable with a phase message like any `Progress`."""

    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        tick_s: float = TICK_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # None: sys.stderr at each write, as pytest swaps it while capturing.
        self._stream, self._tty = stream, tty
        self._tick_s, self._clock = tick_s, clock
        self._lock = threading.Lock()
        self._phase = ""
        self._status_shown = False
        self._last_states: dict[str, str] = {}
        self._tracker: AlertTracker | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, message: str) -> None:
        """A phase banner: always its own line, above the live status."""
        with self._lock:
            self._phase = message.split("] ", 1)[-1]
            self._clear_status()
            self._write(stamp(message, self._clock()) + "\n")

    def track(self, tracker: AlertTracker) -> None:
        """Show `tracker`'s alerts until `untrack`; a ticker thread refreshes them."""
        self.untrack()
        with self._lock:
            self._tracker, self._last_states = tracker, {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="live-progress", daemon=True)
        self._thread.start()

    def untrack(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._clear_status()
            self._tracker = None

    close = untrack

    def refresh(self) -> None:
        """Render the tracked alerts once (the ticker calls this)."""
        with self._lock:
            tracker = self._tracker
            if tracker is None:
                return
            now = self._clock()
            views = tracker.views(now)
            if self.tty:
                line = render_status(tracker.scenario, self._phase, views)
                self._write(_CLEAR_LINE + line)
                self._status_shown = True
                return
            for view in views:
                if self._last_states.get(view.name) != view.state:
                    self._last_states[view.name] = view.state
                    self._write(stamp(render_change(tracker.scenario, view), now) + "\n")

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.refresh()
            except Exception as exc:  # a display must never break a run: show why and stop
                with self._lock:
                    self._write(stamp(f"live progress stopped: {exc}") + "\n")
                return

    def _clear_status(self) -> None:
        if self._status_shown:
            self._write(_CLEAR_LINE)
            self._status_shown = False

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def tty(self) -> bool:
        """A terminal gets the refreshed line; anything else (CI logs, files) plain lines."""
        return self._tty if self._tty is not None else self.stream.isatty()

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
