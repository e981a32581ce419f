"""One child process: started in its own process group, logged to a file, stopped for sure.

No child may outlive the harness. Three layers see to it:

- normal and exceptional exits stop every process group (see Supervisor);
- SIGTERM/SIGINT/SIGHUP are turned into exceptions so that teardown runs (see signals.py);
- if the harness is killed outright (SIGKILL, OOM), the kernel sends each direct child
  SIGKILL via PR_SET_PDEATHSIG, set in a preexec hook.

What was verified about PR_SET_PDEATHSIG on this platform (Linux, CPython 3.11):

- CPython runs `preexec_fn` *after* setgroups/setregid/setreuid (a preexec hook running with
  `user="postgres"` sees uid 101). The kernel clears the death signal on credential changes,
  so setting it in the hook, after the switch, keeps it; exec of a non-setuid binary keeps it.
- The signal fires when the *thread* that forked the child exits, not the process. Children
  are therefore spawned with it only from the main thread, whose exit is the process's exit.
- It reaches only the direct child. Postgres backends notice their postmaster's death and
  exit by themselves; the other services run as a single process.
- Orphans killed this way are reparented to PID 1, which on some machines (containers, VMs)
  never reaps them: they may linger as zombies, which hold no port and no memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import pwd
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from harness.errors import ServiceStartError
from harness.stack.service import ServiceSpec

log = logging.getLogger(__name__)

# Inherited from the harness; everything else a service needs is in its spec.
INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME", "USER", "LOGNAME")
TAIL_BYTES = 64 * 1024
KILL_WAIT_S = 5.0
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return cast("Callable[..., int]", prctl)


# Resolved once at import: looking a symbol up after fork() is not safe.
_prctl = _load_prctl()


def _die_with_parent(parent_pid: int) -> None:
    """preexec hook: SIGKILL this child when the harness dies. Keep it tiny (runs after fork)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL.value, 0, 0)
    # The parent may have died between fork() and prctl(): then no signal will ever come.
    if os.getppid() != parent_pid:
        os._exit(1)


def die_with_parent_hook() -> functools.partial[None] | None:
    """A preexec_fn that kills the child when this process dies (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None  # the death signal would fire when this thread ends
    return functools.partial(_die_with_parent, os.getpid())


def child_env(spec: ServiceSpec) -> dict[str, str]:
    """A minimal environment: a few inherited variables, then the spec's own."""
    env = {k: v for k, v in os.environ.items() if k in INHERITED_ENV}
    if spec.run_as is not None:
        entry = pwd.getpwnam(spec.run_as)
        env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    env.update(spec.env)
    return env


def describe_exit(code: int) -> str:
    """An exit status as `exit_code` gives it, in words: `exited with signal 9 (SIGKILL)`."""
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = f" ({signal.Signals(-code).name})"
    except ValueError:
        name = ""
    return f"exited with signal {-code}{name}"


def read_tail(path: Path, lines: int = 40) -> str:
    """Last lines of a text file ("" when it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class ManagedProcess:
    """A started (or not yet started) service process."""

    def __init__(self, spec: ServiceSpec) -> None:
        self.spec = spec
        self.started_at: float | None = None  # time.monotonic() at spawn
        self._popen: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stop_sent_at: float | None = None  # time.monotonic() of the stop signal

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        """Spawn the process; raises ServiceStartError when it cannot even be executed."""
        if self._popen is not None:
            raise RuntimeError(f"{self.name} already started")
        spec = self.spec
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        user, group, extra_groups = self._credentials()
        with spec.log_file.open("ab") as out:
            out.write(f"--- starting: {shlex.join(spec.command)}\n".encode())
            out.flush()
            try:
                self._popen = subprocess.Popen(
                    spec.command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=spec.cwd,
                    env=child_env(spec),
                    start_new_session=True,  # own process group: stop() signals the group
                    # preexec_fn is unsafe only if the hook takes locks another thread may
                    # hold at fork(); ours makes one pre-resolved libc call and nothing else.
                    preexec_fn=self._preexec(),  # noqa: PLW1509
                    user=user,
                    group=group,
                    extra_groups=extra_groups,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise ServiceStartError(
                    spec.name, f"cannot execute {spec.command[0]}: {exc}"
                ) from exc
        self.started_at = time.monotonic()
        log.info("started %s (pid %d): %s", self.name, self._popen.pid, shlex.join(spec.command))

    def _preexec(self) -> functools.partial[None] | None:
        return die_with_parent_hook()

    def _credentials(self) -> tuple[str | None, int | None, list[int] | None]:
        """(user, group, extra_groups) for Popen; all None when no switch is needed."""
        user = self.spec.run_as
        if user is None or pwd.getpwuid(os.geteuid()).pw_name == user:
            return None, None, None
        # extra_groups=[] drops root's supplementary groups instead of handing them down.
        return user, pwd.getpwnam(user).pw_gid, []

    def exit_code(self) -> int | None:
        """Exit status if the process has ended (negative: killed by that signal), else None.

        Uses waitid(WNOWAIT) so the process stays unreaped: while it is a zombie its process
        group ID cannot be reused, which keeps a later killpg() aimed at our group only.
        """
        popen = self._popen
        if popen is None:
            return None
        if popen.returncode is not None:
            return popen.returncode
        try:
            info = os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:  # reaped meanwhile by stop()
            return popen.returncode
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status

    def is_running(self) -> bool:
        return self._popen is not None and self.exit_code() is None

    def log_tail(self, lines: int = 40) -> str:
        return read_tail(self.spec.log_file, lines)

    def request_stop(self) -> None:
        """Send the stop signal to the group once, without waiting: a supervisor signals
        every process first and then waits for each, so their shutdowns overlap."""
        with self._lock:
            self._request_stop()

    def _request_stop(self) -> None:
        popen = self._popen
        if popen is None or popen.returncode is not None or self._stop_sent_at is not None:
            return
        if self.exit_code() is None:
            self._signal_group(self.spec.stop_signal)
            self._stop_sent_at = time.monotonic()

    def stop(self, timeout_s: float | None = None) -> int | None:
        """Stop signal to the group (unless `request_stop` sent it), wait, then SIGKILL the
        group; reap. Idempotent. The timeout counts from the stop signal."""
        with self._lock:
            popen = self._popen
            if popen is None or popen.returncode is not None:
                return popen.returncode if popen else None
            timeout = self.spec.stop_timeout_s if timeout_s is None else timeout_s
            self._request_stop()
            if self._stop_sent_at is not None and self.exit_code() is None:
                remaining = self._stop_sent_at + timeout - time.monotonic()
                if not self._wait_exit(remaining):
                    log.warning("%s did not stop within %.1fs; killing it", self.name, timeout)
                    self._signal_group(signal.SIGKILL)
            # The leader is still unreaped, so the group ID is ours: clear out stragglers.
            self._signal_group(signal.SIGKILL)
            try:
                code = popen.wait(timeout=KILL_WAIT_S)
            except subprocess.TimeoutExpired:  # stuck in the kernel (D state): nothing more to do
                log.error(
                    "%s (pid %d) survived SIGKILL for %.0fs", self.name, popen.pid, KILL_WAIT_S
                )
                return None
            log.info("stopped %s (pid %d, exit %s)", self.name, popen.pid, code)
            return code

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, sig)

    def _wait_exit(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.exit_code() is None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True
