"""The run's tripwire: set once when a process the run depends on dies, so it stops at once.

The stack's supervisor watches every process it started and trips the wire from its watching
thread; the runner waits on the wire instead of sleeping (warm-up, baseline, hold, recovery:
nearly all of a scenario's time), so a wait ends within one poll of a death and raises the
`ComponentDied` that names the component. Outside the waits, a dead component fails the next
query, and the runner raises the death in that failure's place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from harness.errors import ComponentDied

POLL_S = 0.05


class Tripwire:
    def __init__(self) -> None:
        self._tripped = threading.Event()
        self._lock = threading.Lock()
        self._error: ComponentDied | None = None
        self._listeners: list[Callable[[ComponentDied], None]] = []
        self.activity = ""  # what the run is doing now, e.g. `scenario X`, for the message

    @property
    def error(self) -> ComponentDied | None:
        """The first death, or None."""
        return self._error

    def on_trip(self, listener: Callable[[ComponentDied], None]) -> None:
        """Call `listener` (in the tripping thread) with the first death."""
        self._listeners.append(listener)

    def trip(self, death: ComponentDied) -> None:
        """Record a death (only the first counts) and wake every wait."""
        with self._lock:
            if self._error is not None:
                return
            self._error = death.in_context(self.activity) if self.activity else death
        self._tripped.set()
        for listener in self._listeners:
            listener(self._error)

    def check(self) -> None:
        """Raise the death, if there was one."""
        if self._error is not None:
            raise self._error

    def sleep(self, seconds: float) -> None:
        """`time.sleep`, cut short by a death (then raised)."""
        self._tripped.wait(max(0.0, seconds))
        self.check()

    def until(
        self, condition: Callable[[], bool], timeout_s: float, poll_s: float = POLL_S
    ) -> bool:
        """Poll `condition` until true or the monotonic deadline passes (its last result);
        a death raises at once."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.check()
            if condition():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._tripped.wait(min(poll_s, left))
