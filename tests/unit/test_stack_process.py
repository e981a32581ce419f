"""ManagedProcess: group stop, escalation to SIGKILL, environment, death with the parent."""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.errors import ServiceStartError
from harness.stack.process import ManagedProcess
from harness.stack.readiness import Exited
from harness.stack.service import ServiceSpec


def alive(pid: int) -> bool:
    """Running (zombies count as dead: they hold nothing and our parent may not reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(predicate: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def make(tmp_path: Path, script: str, **kw: object) -> ManagedProcess:
    spec = ServiceSpec(
        name="svc",
        command=[sys.executable, "-c", textwrap.dedent(script)],
        readiness=Exited(),
        log_file=tmp_path / "logs" / "svc.log",
        **kw,  # type: ignore[arg-type]
    )
    return ManagedProcess(spec)


def test_stop_takes_the_whole_process_group(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    process = make(
        tmp_path,
        f"""
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "60"])
        # Written whole, then renamed: the test never reads a file created but not yet written.
        with open({str(child_pid_file)!r} + ".part", "w") as out:
            out.write(str(child.pid))
        os.replace({str(child_pid_file)!r} + ".part", {str(child_pid_file)!r})
        time.sleep(60)
        """,
    )
    process.start()
    assert wait_until(child_pid_file.exists)
    grandchild = int(child_pid_file.read_text())
    assert process.is_running()
    code = process.stop()
    assert code == -signal.SIGTERM
    # SIGKILL went to the group before stop() returned; its delivery is asynchronous.
    assert wait_until(lambda: not alive(grandchild), timeout_s=2)
    assert process.stop() == code  # idempotent


def test_stubborn_process_is_killed_after_the_timeout(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script = f"""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        open({str(ready)!r}, "w").close()
        time.sleep(60)
        """
    process = make(tmp_path, script, stop_timeout_s=0.3)
    process.start()
    assert wait_until(ready.exists)
    began = time.monotonic()
    assert process.stop() == -signal.SIGKILL
    assert time.monotonic() - began < 3


def test_log_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_OF_THE_HARNESS", "x")
    script = """
        import json, os
        print(json.dumps(dict(os.environ)))
        """
    process = make(tmp_path, script, env={"WRK_PORT": "1234"})
    process.start()
    assert wait_until(lambda: process.exit_code() is not None)
    tail = process.log_tail()
    assert tail.startswith("--- starting: ")
    env = json.loads(tail.splitlines()[-1])
    assert env["WRK_PORT"] == "1234"
    assert "SECRET_OF_THE_HARNESS" not in env
    assert process.exit_code() == 0
    process.stop()


def test_missing_binary_is_a_start_error(tmp_path: Path) -> None:
    spec = ServiceSpec("ghost", ["/nonexistent/bin"], Exited(), tmp_path / "ghost.log")
    with pytest.raises(ServiceStartError, match="cannot execute /nonexistent/bin"):
        ManagedProcess(spec).start()


def test_children_die_with_the_harness(tmp_path: Path) -> None:
    """SIGKILL the process that started the service: the kernel kills the service too."""
    out = tmp_path / "pid"
    script = f"""
        import sys, time
        from pathlib import Path
        from harness.stack.process import ManagedProcess
        from harness.stack.readiness import Exited
        from harness.stack.service import ServiceSpec
        spec = ServiceSpec("sleeper", ["sleep", "60"], Exited(), Path({str(tmp_path / "s.log")!r}))
        process = ManagedProcess(spec)
        process.start()
        Path({str(out)!r}).write_text(str(process.pid))
        time.sleep(60)
        """
    harness = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    try:
        assert wait_until(lambda: out.exists() and out.read_text(), timeout_s=10)
        service = int(out.read_text())
        assert alive(service)
        harness.kill()
        harness.wait(5)
        assert wait_until(lambda: not alive(service)), "service outlived its parent"
    finally:
        harness.kill()
        harness.wait(5)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_run_as_another_user_without_root_groups(tmp_path: Path) -> None:
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user")
    # `id`, not Python: the harness's interpreter may sit below a folder only root can enter.
    spec = ServiceSpec(
        "svc",
        ["sh", "-c", "echo $(id -u) $(id -g) $(id -G)"],
        Exited(),
        tmp_path / "id.log",
        run_as="postgres",
    )
    process = ManagedProcess(spec)
    process.start()
    assert wait_until(lambda: process.exit_code() is not None)
    assert process.exit_code() == 0, process.log_tail()
    uid, gid, *groups = process.log_tail().splitlines()[-1].split()
    assert (int(uid), int(gid)) == (user.pw_uid, user.pw_gid)
    assert "0" not in groups  # root's group is not handed down
    process.stop()
