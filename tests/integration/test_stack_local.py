"""LocalStack end to end: real Prometheus, Alertmanager, Postgres, Redis and Toxiproxy.

The fake services are replaced by a small stand-in HTTP server (it serves /healthz, /metrics
and /env), so these tests exercise the stack machinery and not the fakes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from harness import http_client
from harness.errors import ServiceStartError
from harness.spec.timescale import Timing
from harness.stack import tools
from harness.stack.fakes import DEFAULT_FAKES, DEFAULT_PROXIES, FakeService
from harness.stack.layout import REQUIRED_TOOLS
from harness.stack.local import LocalStack, LocalStackConfig
from harness.stack.shared_memory import recorded_segment, segments
from tests.open_dirs import open_tempdir

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        any(tools.find(t) is None for t in REQUIRED_TOOLS), reason="stack binaries missing"
    ),
]

STAND_IN = """
import json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[1]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = b'{"status": "ok"}'
        elif self.path == "/metrics":
            body = ('standin_info{service="%s"} 1\\n' % NAME).encode()
        elif self.path == "/env":
            env = {k: v for k, v in os.environ.items() if k.startswith("WRK_")}
            body = json.dumps(env).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print(NAME, "listening", flush=True)
ThreadingHTTPServer((os.environ["WRK_HOST"], int(os.environ["WRK_PORT"])), Handler).serve_forever()
"""

ALERTMANAGER = """
route:
  receiver: blackhole
  group_wait: 0s
  group_interval: 100ms
receivers:
  - name: blackhole
"""

# Starts a stack, writes its PIDs and addresses to a file, then waits to be signalled.
RUNNER = """
import dataclasses, json, sys, time
from pathlib import Path
from harness.errors import Interrupted
from harness.stack.fakes import DEFAULT_FAKES
from harness.stack.local import LocalStack, LocalStackConfig
from harness.stack.shared_memory import recorded_segment, segments
from harness.spec.timescale import Timing

base, stand_in, alertmanager, out = map(Path, sys.argv[1:5])
locks = Path(sys.argv[5]) if len(sys.argv) > 5 else None
fakes = tuple(
    dataclasses.replace(f, command=(sys.executable, str(stand_in), f.name)) for f in DEFAULT_FAKES
)
config = LocalStackConfig(
    base_dir=base, timing=Timing.for_scale(60, 300), alertmanager_config=alertmanager, fakes=fakes,
    port_lock_dir=locks,
)
try:
    with LocalStack(config) as stack:
        target = stack.target
        info = {"pids": stack.pids, "services": target.services}
        info["prometheus"] = target.prometheus_url
        info["scratch"] = str(stack.run_dir.scratch)
        info["pg_data"] = str(stack.run_dir.pg_data)
        out.with_suffix(".tmp").write_text(json.dumps(info))
        out.with_suffix(".tmp").rename(out)
        while True:
            time.sleep(60)
except Interrupted as exc:
    sys.exit(128 + exc.signum)
"""


@dataclasses.dataclass(frozen=True)
class Files:
    base: Path  # run directories land here
    stand_in: Path
    alertmanager: Path


@pytest.fixture
def files() -> Iterator[Files]:
    with open_tempdir("wrkh-stack-") as root:
        stand_in = root / "stand_in.py"
        stand_in.write_text(STAND_IN)
        alertmanager = root / "alertmanager.yml"
        alertmanager.write_text(ALERTMANAGER)
        yield Files(root / "runs", stand_in, alertmanager)


def stand_in_fakes(files: Files) -> tuple[FakeService, ...]:
    return tuple(
        dataclasses.replace(f, command=(sys.executable, str(files.stand_in), f.name))
        for f in DEFAULT_FAKES
    )


def local_config(files: Files, **changes: Any) -> LocalStackConfig:
    config = LocalStackConfig(
        base_dir=files.base,
        timing=Timing.for_scale(60, 300),
        alertmanager_config=files.alertmanager,
        fakes=stand_in_fakes(files),
    )
    return dataclasses.replace(config, **changes)


# -- process bookkeeping: PIDs are compared with their start time, so a reused PID is no alarm


def identity(pid: int) -> tuple[int, str] | None:
    """(pid, start time) of a running process; None if gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else (pid, fields[19])


def descendants(pids: list[int]) -> set[tuple[int, str]]:
    """The processes and everything below them (Postgres backends, for instance)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found: set[tuple[int, str]] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        ident = identity(pid)
        if ident is not None and ident not in found:
            found.add(ident)
            todo += parents.get(pid, [])
    return found


def survivors(snapshot: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {ident for ident in snapshot if identity(ident[0]) == ident}


def all_gone(snapshot: set[tuple[int, str]], timeout_s: float = 3.0) -> bool:
    """True once none of them runs; a SIGKILL sent to a group lands asynchronously."""
    deadline = time.monotonic() + timeout_s
    while survivors(snapshot):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def get(url: str) -> httpx.Response:
    return http_client.shared().get(url, timeout=3)


def redis_ping(address: str) -> bytes:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        return sock.recv(16)


# -- (a) the whole stack


def test_local_stack_starts_answers_and_leaves_nothing(files: Files) -> None:
    stack = LocalStack(local_config(files))
    with stack:
        target = stack.target
        snapshot = descendants(list(stack.pids.values()))
        check_every_address_answers(target.services, target)
        check_prometheus_scraped_every_job(target.prometheus_url)
        check_proxies(target)
        assert target.cold_start_s is not None and target.cold_start_s < 30
        assert target.log_dir is not None and (target.log_dir / "prometheus.log").is_file()
        assert len(target.credentials) == 2
    assert all_gone(snapshot), f"processes outlived stop(): {survivors(snapshot)}"
    stack.stop()  # idempotent


def check_every_address_answers(services: dict[str, str], target: Any) -> None:
    for name, url in services.items():
        assert get(f"{url}/healthz").status_code == 200, name
    assert get(f"{target.prometheus_url}/-/ready").status_code == 200
    assert get(f"{target.alertmanager_url}/-/ready").status_code == 200
    assert get(f"{target.toxiproxy_url}/version").status_code == 200
    assert target.edge_url == services["edge"]


def check_prometheus_scraped_every_job(prometheus_url: str) -> None:
    resp = get(f"{prometheus_url}/api/v1/query?query={quote('up')}")
    up = {r["metric"]["job"]: r["value"][1] for r in resp.json()["data"]["result"]}
    expected = {*(f.name for f in DEFAULT_FAKES), "toxiproxy", "prometheus", "alertmanager"}
    assert up == dict.fromkeys(expected, "1")


def check_proxies(target: Any) -> None:
    listed = get(f"{target.toxiproxy_url}/proxies").json()
    assert set(listed) == {r.name for r in DEFAULT_PROXIES}
    for name, proxy in target.proxies.items():
        assert listed[name]["listen"] == proxy.listen
        assert listed[name]["upstream"] == proxy.upstream
        assert listed[name]["enabled"] is True
    core_env = get(f"{target.services['core']}/env").json()
    assert core_env["WRK_DATABASE_URL"].endswith(f"@{target.proxies['postgres'].listen}/wrk")
    # Traffic really flows through the proxies, into the database `wrk`.
    assert redis_ping(target.proxies["redis"].listen).startswith(b"+PONG")
    host, port = target.proxies["postgres"].listen.rsplit(":", 1)
    psql = [tools.locate("psql"), "-h", host, "-p", port, "-U", "postgres", "-d", "wrk", "-w"]
    query = [*psql, "-tAc", "select current_database()"]
    done = subprocess.run(query, capture_output=True, text=True, timeout=10, check=False)
    assert done.stdout.strip() == "wrk", done.stderr
    platform = get(f"http://{target.proxies['wrk_platform'].listen}/healthz")
    assert platform.status_code == 200


# -- (b) a service that cannot start


def test_failing_service_is_named_and_nothing_is_left(files: Files) -> None:
    crash = "import sys; print('core: cannot load settings', flush=True); sys.exit(3)"
    fakes = tuple(
        dataclasses.replace(f, command=(sys.executable, "-c", crash)) if f.name == "core" else f
        for f in stand_in_fakes(files)
    )
    # A service that cannot start without core must never be started.
    fakes = tuple(
        dataclasses.replace(f, depends_on=("core",)) if f.name == "edge" else f for f in fakes
    )
    stack = LocalStack(local_config(files, fakes=fakes))
    began = time.monotonic()
    with pytest.raises(ServiceStartError) as caught:
        stack.start()
    assert caught.value.service == "core"
    assert "exited with code 3" in caught.value.reason
    assert "cannot load settings" in caught.value.log_tail
    assert time.monotonic() - began < 20  # failed fast, not at the end of a timeout
    assert "edge" not in stack.pids  # its dependency failed: never started
    assert stack.pids
    # No snapshot could be taken before the failure: check the PIDs themselves.
    deadline = time.monotonic() + 3
    while any(identity(pid) for pid in stack.pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(identity(pid) for pid in stack.pids.values())


# -- (c) and (d): the stack in another process, stopped by a signal


def start_runner(files: Files, out: Path, locks: Path | None = None) -> subprocess.Popen[bytes]:
    script = files.base.parent / "runner.py"
    script.write_text(textwrap.dedent(RUNNER))
    files.base.mkdir(exist_ok=True)
    args = [str(files.base), str(files.stand_in), str(files.alertmanager), str(out)]
    args += [str(locks)] if locks is not None else []
    log = (files.base.parent / f"{out.stem}.log").open("wb")
    return subprocess.Popen([sys.executable, str(script), *args], stdout=log, stderr=log)


def wait_for_info(runner: subprocess.Popen[bytes], out: Path, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while not out.exists():
        if runner.poll() is not None:
            log = (out.parent / f"{out.stem}.log").read_text()
            pytest.fail(f"runner exited early with {runner.returncode}:\n{log[-3000:]}")
        assert time.monotonic() < deadline, "stack did not come up"
        time.sleep(0.1)
    return json.loads(out.read_text())


def stop_runner(runner: subprocess.Popen[bytes], signum: int) -> int:
    runner.send_signal(signum)
    return runner.wait(timeout=30)


def cleanup(runners: list[subprocess.Popen[bytes]], snapshot: set[tuple[int, str]]) -> None:
    """Only if a test failed midway: our runners, then anything of theirs still running."""
    for runner in runners:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
    for pid, _ in survivors(snapshot):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_sigterm_to_the_harness_stops_the_stack(files: Files) -> None:
    out = files.base.parent / "stack.json"
    runner = start_runner(files, out)
    snapshot: set[tuple[int, str]] = set()
    try:
        info = wait_for_info(runner, out)
        snapshot = descendants(list(info["pids"].values()))
        assert len(snapshot) >= len(info["pids"]) - 1  # initdb has already exited
        assert stop_runner(runner, signal.SIGTERM) == 128 + signal.SIGTERM
        assert all_gone(snapshot), "processes outlived the interrupted harness"
    finally:
        cleanup([runner], snapshot)


def test_after_a_sigkill_the_next_run_sweeps_what_the_killed_one_left(files: Files) -> None:
    out, locks = files.base.parent / "killed.json", files.base.parent / "locks"
    runner = start_runner(files, out, locks)
    snapshot: set[tuple[int, str]] = set()
    try:
        info = wait_for_info(runner, out)
        snapshot = descendants(list(info["pids"].values()))
        scratch, pg_data = Path(info["scratch"]), Path(info["pg_data"])
        segment = recorded_segment(pg_data)
        assert segment is not None and segment[1] in segments()
        killed_locks = set(locks.iterdir())
        runner.kill()  # no teardown can run
        runner.wait(timeout=30)
        assert all_gone(snapshot, timeout_s=15), f"outlived a SIGKILL: {survivors(snapshot)}"
        # Left behind: the database files, its shared memory, the port locks.
        assert pg_data.exists() and segment[1] in segments() and len(killed_locks) >= 10
        assert list((pg_data / "pg_dynshmem").iterdir())  # dynamic shared memory in files
        with LocalStack(local_config(files, run_id="next", port_lock_dir=locks)) as stack:
            assert not scratch.exists()
            assert segment[1] not in segments()
            assert {p.name for p in locks.iterdir()} == {
                f"{port}.lock" for port in stack.ports.values()
            }
        assert list(locks.iterdir()) == []
    finally:
        cleanup([runner], snapshot)


def test_sigterm_in_the_middle_of_the_start_leaves_nothing(files: Files) -> None:
    out = files.base.parent / "never.json"
    runner = start_runner(files, out)
    snapshot: set[tuple[int, str]] = set()
    try:
        deadline = time.monotonic() + 30
        # Prometheus, initdb, Redis, Toxiproxy...: services spawned, others still coming.
        while len(snapshot) < 4 and time.monotonic() < deadline:
            snapshot = descendants([runner.pid]) - {identity(runner.pid)}
            time.sleep(0.02)
        assert len(snapshot) >= 4 and not out.exists(), "missed the start window"
        snapshot |= descendants([runner.pid]) - {identity(runner.pid)}
        assert stop_runner(runner, signal.SIGTERM) == 128 + signal.SIGTERM
        assert all_gone(snapshot), f"left behind: {survivors(snapshot)}"
    finally:
        cleanup([runner], snapshot)


def test_two_stacks_at_once_do_not_collide(files: Files) -> None:
    outs = [files.base.parent / f"stack{i}.json" for i in (1, 2)]
    runners = [start_runner(files, out) for out in outs]
    snapshot: set[tuple[int, str]] = set()
    try:
        infos = [wait_for_info(r, out, timeout_s=90) for r, out in zip(runners, outs, strict=True)]
        for info in infos:
            snapshot |= descendants(list(info["pids"].values()))
            for url in info["services"].values():
                assert get(f"{url}/healthz").status_code == 200
            check_prometheus_scraped_every_job(info["prometheus"])
        ports = [
            {u.rsplit(":", 1)[1] for u in [*info["services"].values(), info["prometheus"]]}
            for info in infos
        ]
        assert not ports[0] & ports[1]
        codes = [stop_runner(r, signal.SIGINT) for r in runners]
        assert codes == [128 + signal.SIGINT] * 2
        assert all_gone(snapshot)
    finally:
        cleanup(runners, snapshot)
