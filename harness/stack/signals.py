"""Turning SIGTERM / SIGINT / SIGHUP into `Interrupted`, so `finally` blocks tear down.

The default action of SIGTERM and SIGHUP kills the process without running any cleanup, and
would leave every service of the stack running. While at least one supervisor is active, the
trap raises `Interrupted(signum)` in the main thread instead. Previous handlers come back when
the last supervisor is done.

Two moments must not be cut short by an exception: spawning a child (a child started but not
yet recorded could never be stopped) and teardown itself. Inside `deferred()` a signal is only
recorded; `spawning()` raises it at the end of the block, `tearing_down()` re-delivers it once
the previous handlers are back, so whoever handled it before still gets it.

One signal stops a run; the run then tears down. A second or third Ctrl-C while it does (the
impatient user's) is acknowledged on stderr and changes nothing: an exception raised in the
middle of teardown would leave processes, toxics and reports half done. `shielded()` holds
the trap over a whole teardown, so the handlers stay installed after the stack's supervisor
has released them, until the reports are written. Every teardown step is bounded in time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from harness.errors import Interrupted

log = logging.getLogger(__name__)

TRAPPED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

_Handler = Callable[[int, FrameType | None], Any] | int | None


class SignalTrap:
    """Process-wide: signal handlers belong to the process, so there is one trap (`TRAP`)."""

    def __init__(self) -> None:
        self._users = 0
        self._previous: dict[int, _Handler] = {}
        self._defer_depth = 0
        self._pending: int | None = None
        self._stopping = False  # a signal already stopped the run: the next ones only wait

    @staticmethod
    def available() -> bool:
        """Handlers can only be installed from the main thread."""
        return threading.current_thread() is threading.main_thread()

    @property
    def installed(self) -> bool:
        return self._users > 0

    def acquire(self) -> bool:
        """Install the handlers (first user) and count the user; False off the main thread."""
        if not self.available():
            return False
        if self._users == 0:
            for sig in TRAPPED:
                self._previous[sig] = signal.signal(sig, self._handle)
        self._users += 1
        return True

    def release(self) -> None:
        """Uncount a user; the last one restores the previous handlers."""
        if self._users == 0:
            return
        self._users -= 1
        if self._users == 0:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            self._previous.clear()
            self._stopping = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            _say(f"signal {signum} received; already stopping: rolling back and writing reports")
            return
        if self._defer_depth:
            log.warning("signal %d received; acting on it once the current step is done", signum)
            self._pending = signum
            return
        self._interrupt(signum)

    def _interrupt(self, signum: int) -> None:
        self._stopping = True
        raise Interrupted(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Record signals instead of raising; the caller decides what to do afterwards."""
        self._defer_depth += 1
        try:
            yield
        finally:
            self._defer_depth -= 1

    def take_pending(self) -> int | None:
        if self._defer_depth:
            return None
        pending, self._pending = self._pending, None
        return pending

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        """No interruption while a child is being started and recorded; raise right after."""
        with self.deferred():
            yield
        pending = self.take_pending()
        if pending is not None:
            self._interrupt(pending)

    def redeliver_pending(self) -> None:
        """After teardown: send a deferred signal again, to whatever handles it now."""
        pending = self.take_pending()
        if pending is not None:
            signal.raise_signal(pending)

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """A teardown no signal cuts short: handlers installed (main thread) and every signal
        only acknowledged until the block ends; the run is stopping already."""
        acquired = self.acquire()
        stopping, self._stopping = self._stopping, True
        try:
            with self.deferred():
                yield
        finally:
            self._pending = None  # stopping is what it asked for, and it is done
            self._stopping = stopping
            if acquired:
                self.release()


def _say(message: str) -> None:
    """One line on stderr, written unbuffered: a handler may run while the main thread is in
    the middle of a buffered write to the same stream."""
    with contextlib.suppress(OSError):
        os.write(2, f"wrkh: {message}\n".encode())


TRAP = SignalTrap()
