"""Port allocation for one run: every port reserved up front, held until its service binds it.

Why not simply bind port 0 and close the socket? Two things can take the port between the
close and the service's own bind:

- another harness run picking ports at the same moment;
- any outgoing connection on the machine: the kernel picks the local port of a `connect()`
  from the same ephemeral range that `bind(0)` uses.

So ports are drawn at random *below* the ephemeral range (`ip_local_port_range`), where the
kernel never auto-assigns, and each one is guarded twice while the run needs it:

1. an exclusive `flock` on `<lock_dir>/<port>.lock`, held for the whole run: another harness
   run skips the port, also after our placeholder is closed and before the service binds it;
2. a bound (not listening) placeholder socket with SO_REUSEADDR, closed by `release()` just
   before the service starts: programs binding without SO_REUSEADDR are kept out meanwhile.

Why SO_REUSEADDR on the placeholder: a `fork()` anywhere in the harness (a readiness probe
running psql, the spawn of another service) copies the placeholder into the child until it
execs, so closing ours does not always free the port at once. Measured: with a plain
placeholder, a proxy bound right after `release()` failed with EADDRINUSE in about one run
in five when two stacks started together. With SO_REUSEADDR on both sides, Linux lets the
service bind and listen while a stray copy still exists. Every service here sets
SO_REUSEADDR on its listener (Go, Redis, Postgres and Python's servers all do). Two
SO_REUSEADDR placeholders may share a port, which is why exclusivity between runs comes from
the lock, not the socket.

The locks are advisory and only other harness runs honour them; an unrelated program binding
an explicit port in our range can still collide, which then shows up as a start failure with
"address already in use" in the service's log.

A lock file lives as long as its lock: `close()` unlinks it while still holding the lock, and
a sweep unlinks those nobody holds (a killed run's). A run locking a file checks afterwards
that the path still names the file it locked, so a file unlinked in between is never taken
for a lock (the usual flock-and-unlink protocol).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import socket
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.errors import StackError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
# Draw from [DEFAULT_LOW, start of the ephemeral range); 20000 keeps clear of well-known ports.
DEFAULT_LOW = 20000
FALLBACK_EPHEMERAL_START = 32768
MIN_RANGE = 1000
MAX_ATTEMPTS = 500
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def default_lock_dir() -> Path:
    """Shared by all harness runs on the machine (read at call time, honours TMPDIR)."""
    return Path(tempfile.gettempdir()) / "wrkh-port-locks"


def ephemeral_start() -> int:
    """First port of the kernel's ephemeral range (32768 when it cannot be read)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return FALLBACK_EPHEMERAL_START


def default_range() -> tuple[int, int]:
    """Half-open range of candidate ports; empty means "let the kernel choose".

    Empty when the ephemeral range starts too low to leave room below it.
    """
    high = ephemeral_start()
    return (DEFAULT_LOW, high) if high - DEFAULT_LOW >= MIN_RANGE else (0, 0)


@dataclass
class _Held:
    port: int
    sock: socket.socket | None
    lock_fd: int
    lock_path: Path | None = None


class PortReservation:
    """Ports of one run by name; a context manager that frees everything on exit."""

    def __init__(self, held: dict[str, _Held]) -> None:
        self._held = held
        self._lock = threading.Lock()  # release() is called from worker threads too
        self.ports: dict[str, int] = {name: h.port for name, h in held.items()}

    def __getitem__(self, name: str) -> int:
        return self.ports[name]

    def release(self, ports: Iterable[int]) -> None:
        """Close the placeholder sockets of these ports so a service can bind them.

        The locks stay: other harness runs keep away until `close()`.
        """
        wanted = set(ports)
        with self._lock:
            for held in self._held.values():
                if held.port in wanted and held.sock is not None:
                    held.sock.close()
                    held.sock = None

    def close(self) -> None:
        """Release sockets and locks (idempotent); call once the run's services are stopped."""
        with self._lock:
            for held in self._held.values():
                if held.sock is not None:
                    held.sock.close()
                    held.sock = None
                if held.lock_fd >= 0:
                    _unlink_locked(held.lock_path)
                    os.close(held.lock_fd)  # closing the descriptor drops the flock
                    held.lock_fd = -1

    def __enter__(self) -> PortReservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def allocate_ports(
    names: Iterable[str],
    *,
    lock_dir: Path | None = None,
    port_range: tuple[int, int] | None = None,
    rng: random.Random | None = None,
) -> PortReservation:
    """Reserve one distinct free port on 127.0.0.1 per name, all up front."""
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate port names in {names}")
    folder = lock_dir or default_lock_dir()
    _ensure_lock_dir(folder)
    low, high = port_range or default_range()
    chooser = rng or random.SystemRandom()
    held: dict[str, _Held] = {}
    try:
        for name in names:
            held[name] = _reserve_one(folder, low, high, chooser)
    except BaseException:
        PortReservation(held).close()
        raise
    log.debug("reserved ports %s", {n: h.port for n, h in held.items()})
    return PortReservation(held)


def _ensure_lock_dir(folder: Path) -> None:
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    # Sticky and world-writable like /tmp, so runs of different users share one lock set.
    with contextlib.suppress(PermissionError):
        folder.chmod(0o1777)


def _reserve_one(folder: Path, low: int, high: int, rng: random.Random) -> _Held:
    use_kernel = high <= low
    for _ in range(MAX_ATTEMPTS):
        if use_kernel:
            sock = _bind(0)
            port = sock.getsockname()[1] if sock else 0
        else:
            port = rng.randrange(low, high)
            sock = None
        lock_fd = _lock(folder, port) if port else -1
        if lock_fd < 0:
            if sock is not None:
                sock.close()
            continue
        sock = sock or _bind(port)
        if sock is None:
            _unlink_locked(folder / f"{port}.lock")
            os.close(lock_fd)
            continue
        return _Held(port, sock, lock_fd, folder / f"{port}.lock")
    raise StackError(f"no free port on {HOST} after {MAX_ATTEMPTS} attempts in [{low}, {high})")


def _bind(port: int) -> socket.socket | None:
    """A bound placeholder holding the port, or None when it is taken (see module doc)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        return None
    return sock


def _lock(folder: Path, port: int) -> int:
    """Descriptor holding an exclusive flock for the port, or -1 when another run has it."""
    path = folder / f"{port}.lock"
    try:
        fd = _open_lock_file(path)
    except OSError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not _names(path, fd):  # unlinked by its holder or a sweep before we locked it
            raise BlockingIOError
    except OSError:
        os.close(fd)
        return -1
    return fd


def _names(path: Path, fd: int) -> bool:
    """Whether `path` still is the file open as `fd`."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _unlink_locked(path: Path | None) -> None:
    """Remove a lock file while its lock is held (see the module doc); best effort."""
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def sweep_port_locks(lock_dir: Path | None = None) -> int:
    """Remove the lock files no run holds (a killed run's); how many were removed."""
    folder = lock_dir or default_lock_dir()
    removed = 0
    for path in folder.glob("*.lock") if folder.is_dir() else ():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _names(path, fd):
                path.unlink()
                removed += 1
        except OSError:  # held by a live run, or gone meanwhile
            pass
        finally:
            os.close(fd)
    return removed


def _open_lock_file(path: Path) -> int:
    # flock works on a read-only descriptor, so a lock file created by another user is usable.
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
