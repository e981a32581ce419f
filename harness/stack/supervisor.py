"""Supervisor: starts services in dependency order, waits for them, stops them for sure.

Children are spawned only from the calling thread (the main thread in practice: that is
where the death signal is safe and where signals arrive); readiness is awaited in worker
threads so independent services come up in parallel. A failed start stops everything that
was started and raises the ServiceStartError of the first service that failed.

Teardown is guaranteed by the context manager, an atexit hook and the signal trap; every
stop is idempotent and stops dependents before what they depend on (see `_stop_waves`).

Once the stack runs, `watch` reports every service that exits before `stop` (a service killed
by the OOM killer, a crash): a thread polls each process's exit status (`waitid` with
WNOWAIT, which leaves the process to `stop`), so the run learns of a death within
WATCH_INTERVAL_S instead of at its next failed query.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType

from harness.errors import ComponentDied, ServiceStartError, StackError
from harness.stack.process import ManagedProcess, describe_exit
from harness.stack.readiness import Cancelled, wait_exited, wait_ready
from harness.stack.service import Readiness, ServiceSpec
from harness.stack.signals import TRAP

log = logging.getLogger(__name__)

Hook = Callable[[], None]
OnDeath = Callable[[ComponentDied], None]
# Bounds the main thread's wait on readiness futures, so it never blocks without a timeout.
WAKE_INTERVAL_S = 0.5
WATCH_INTERVAL_S = 0.1


class Supervisor:
    """Owns the processes it started."""

    def __init__(self) -> None:
        self._processes: list[ManagedProcess] = []  # in start order
        self._ready: dict[str, float] = {}  # name -> seconds from spawn to ready
        self._lock = threading.Lock()
        self._active = False
        self._trapped = False
        self._watch: _Watch | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Supervisor:
        self._activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _activate(self) -> None:
        if self._active:
            return
        self._active = True
        self._trapped = TRAP.acquire()
        atexit.register(self.stop)

    @property
    def processes(self) -> dict[str, ManagedProcess]:
        return {p.name: p for p in self._processes}

    @property
    def pids(self) -> dict[str, int]:
        return {p.name: p.pid for p in self._processes if p.pid is not None}

    # -- starting ----------------------------------------------------------------------

    def start_all(
        self,
        specs: Sequence[ServiceSpec],
        *,
        after_ready: Mapping[str, Hook] | None = None,
        before_spawn: Callable[[ServiceSpec], None] | None = None,
    ) -> dict[str, float]:
        """Start specs as soon as their dependencies are ready; returns seconds-to-ready each.

        `after_ready[name]` runs (in a worker thread) once `name` is ready and counts as part
        of its start, e.g. creating a database. `before_spawn(spec)` runs right before each
        spawn, e.g. to free the ports held for it.
        """
        _check_dependencies(specs, already_ready=set(self._ready))
        self._activate()
        cancel = threading.Event()
        pool = ThreadPoolExecutor(max_workers=max(1, len(specs)), thread_name_prefix="ready")
        try:
            return self._run_schedule(specs, after_ready or {}, before_spawn, pool, cancel)
        except BaseException:
            cancel.set()
            self.stop()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_schedule(
        self,
        specs: Sequence[ServiceSpec],
        hooks: Mapping[str, Hook],
        before_spawn: Callable[[ServiceSpec], None] | None,
        pool: ThreadPoolExecutor,
        cancel: threading.Event,
    ) -> dict[str, float]:
        pending = list(specs)
        ready = self._ready
        waiting: dict[Future[float], str] = {}
        while pending or waiting:
            for spec in [s for s in pending if all(d in ready for d in s.depends_on)]:
                pending.remove(spec)
                process = self._spawn(spec, before_spawn)
                waiting[pool.submit(_await, process, hooks.get(spec.name), cancel)] = spec.name
            done, _ = wait(waiting, timeout=WAKE_INTERVAL_S, return_when=FIRST_COMPLETED)
            for future in done:
                name = waiting.pop(future)
                ready[name] = future.result()  # re-raises a worker's ServiceStartError here
                log.info("%s ready after %.2fs", name, ready[name])
        return {s.name: ready[s.name] for s in specs}

    def _spawn(
        self, spec: ServiceSpec, before_spawn: Callable[[ServiceSpec], None] | None
    ) -> ManagedProcess:
        if spec.name in self.processes:
            raise StackError(f"service {spec.name!r} is already started")
        process = ManagedProcess(spec)
        with TRAP.spawning():
            if before_spawn is not None:
                before_spawn(spec)
            with self._lock:
                self._processes.append(process)
            try:
                process.start()
            except BaseException:
                with self._lock:
                    self._processes.remove(process)
                raise
        return process

    def start(self, spec: ServiceSpec) -> ManagedProcess:
        """Start one service and wait until it is ready."""
        self.start_all([spec])
        return self.processes[spec.name]

    def wait(self, name: str, readiness: Readiness, timeout_s: float) -> float:
        """An extra readiness wait on a started service (e.g. Prometheus has scraped all).

        On failure the whole stack is stopped, as for a failed start.
        """
        process = self.processes[name]
        try:
            return wait_ready(process.spec, process, readiness=readiness, timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise

    def watch(self, on_death: OnDeath, interval_s: float = WATCH_INTERVAL_S) -> None:
        """Call `on_death` (in a watching thread) once for each service that exits before
        `stop`; oneshot steps are expected to exit and are not watched."""
        if self._watch is not None:
            raise StackError("the supervisor is watched already")
        self._watch = _Watch(self, on_death, interval_s)

    # -- stopping ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process, wave by wave (`_stop_waves`); idempotent, never interrupted."""
        with TRAP.deferred():
            if self._watch is not None:  # first: a process stopped here did not die
                self._watch.stop()
                self._watch = None
            with self._lock:
                processes = list(reversed(self._processes))
            for wave in _stop_waves(processes):
                _stop_together(wave)
            self._deactivate()
            self._ready.clear()
        TRAP.redeliver_pending()

    def _deactivate(self) -> None:
        if not self._active:
            return
        self._active = False
        atexit.unregister(self.stop)
        if self._trapped:
            self._trapped = False
            TRAP.release()


class _Watch:
    """The thread behind `Supervisor.watch`."""

    def __init__(self, supervisor: Supervisor, on_death: OnDeath, interval_s: float) -> None:
        self._supervisor, self._on_death, self._interval_s = supervisor, on_death, interval_s
        self._stop = threading.Event()
        self._reported: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name="supervisor-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            for process in self._supervisor.processes.values():
                if process.spec.oneshot or process.name in self._reported:
                    continue
                code = process.exit_code()
                if code is None or self._stop.is_set():
                    continue
                self._reported.add(process.name)
                log.error("%s (pid %s) %s", process.name, process.pid, describe_exit(code))
                try:
                    self._on_death(ComponentDied(process.name, process.pid, describe_exit(code)))
                except Exception:  # a listener's bug must not end the watch of the others
                    log.exception("reporting the death of %s failed", process.name)


def _stop_waves(processes: Sequence[ManagedProcess]) -> list[list[ManagedProcess]]:
    """`processes` in waves, each stopped once the one before it has exited: first those no
    other process depends on, then what only they depended on, and so on, as a deployment
    stops its applications before their databases. Stopped together, a worker whose Redis
    vanished mid-job kept retrying to hand the job back until it was killed, 5 s later (three
    full runs in ten). A dependency cycle cannot stall a stop: what is left goes at once."""
    waves: list[list[ManagedProcess]] = []
    left = list(processes)
    while left:
        needed = {name for process in left for name in process.spec.depends_on}
        wave = [process for process in left if process.name not in needed] or left
        waves.append(wave)
        left = [process for process in left if process not in wave]
    return waves


def _stop_together(processes: Sequence[ManagedProcess]) -> None:
    """Signal all first, then wait for each: their shutdowns overlap instead of adding up."""
    for process in processes:
        try:
            process.request_stop()
        except Exception:
            log.exception("signalling %s failed", process.name)
    for process in processes:
        try:
            process.stop()
        except Exception:  # keep going: one stubborn process must not spare the rest
            log.exception("stopping %s failed", process.name)


def _await(process: ManagedProcess, hook: Hook | None, cancel: threading.Event) -> float:
    """Worker thread: wait until ready, run the hook; seconds since the spawn."""
    if process.spec.oneshot:
        wait_exited(process, cancel=cancel)
    else:
        wait_ready(process.spec, process, cancel=cancel)
    if hook is not None and not cancel.is_set():
        try:
            hook()
        except (ServiceStartError, Cancelled):
            raise
        except Exception as exc:
            raise ServiceStartError(
                process.name, f"post-start step failed: {exc}", process.log_tail()
            ) from exc
    assert process.started_at is not None
    return time.monotonic() - process.started_at


def _check_dependencies(specs: Sequence[ServiceSpec], already_ready: set[str]) -> None:
    """Unknown names and cycles are programming errors: refuse before starting anything."""
    names = {s.name for s in specs}
    if len(names) != len(specs) or names & already_ready:
        raise StackError("duplicate service names in " + ", ".join(s.name for s in specs))
    for spec in specs:
        unknown = set(spec.depends_on) - names - already_ready
        if unknown:
            raise StackError(f"{spec.name} depends on unknown service(s): {sorted(unknown)}")
    resolved = set(already_ready)
    remaining = list(specs)
    while remaining:
        free = [s for s in remaining if set(s.depends_on) <= resolved]
        if not free:
            raise StackError("dependency cycle among: " + ", ".join(s.name for s in remaining))
        resolved.update(s.name for s in free)
        remaining = [s for s in remaining if s.name not in resolved]
