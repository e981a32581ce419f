"""`wrkh up` / `wrkh down`: the embedded stack kept running for people, until told to stop.

`up` starts the local stack with the catalogue's rules, prints every address, and writes
into its state folder a game-day target file for it (the format of
deploy/gameday.example.yaml) and `up.json` (its own PID and every PID of the stack, for
`down` and for whoever checks that nothing was left). It then waits. Ctrl-C, SIGTERM,
SIGHUP or `wrkh down` stop it: the stack is torn down (every process, the scratch folder),
the two files removed.

`down` signals the PID recorded in `up.json` (only if that process is a `wrkh up`) and waits
for it to finish its teardown.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.errors import ConfigError, HarnessError, Problem
from harness.report.results import new_run_id
from harness.sandbox.start import StartedStack, start_stack
from harness.spec.catalog import load_catalog
from harness.spec.feasibility import COMMAND_LINE, checked_timing
from harness.spec.timescale import DEFAULT_TIME_SCALE
from harness.stack.signals import TRAP
from harness.stack.target import Target

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

STATE_FILE = "up.json"
TARGET_FILE = "gameday-target.yaml"
DOWN_WAIT_S = 60.0


@dataclass(frozen=True)
class UpRequest:
    catalog_dir: Path
    state_dir: Path
    time_scale: float
    fake_env: Mapping[str, str]


def target_file_doc(target: Target, time_scale: float) -> dict[str, Any]:
    """A game-day target file for `target` (harness.gameday.config.GamedayConfig)."""
    return {
        "name": "wrkh-up",
        "prometheus": target.prometheus_url,
        "alertmanager": target.alertmanager_url,
        "toxiproxy": target.toxiproxy_url,
        "services": dict(target.services),
        "api_keys": [{"key": c.api_key, "tenant": c.tenant_id} for c in target.credentials],
        "abort_on": {"unexpected_severity": "SEV-1"},
        "time_scale": time_scale,
    }


def _write_private(path: Path, text: str) -> None:
    """Written 0600: the file holds the stack's API keys."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _urls(started: StartedStack, target_file: Path) -> list[str]:
    t = started.target
    lines = [f"  {name:<26} {url}" for name, url in sorted(t.services.items())]
    lines += [
        f"  {'prometheus':<26} {t.prometheus_url}",
        f"  {'alertmanager':<26} {t.alertmanager_url}",
        f"  {'toxiproxy':<26} {t.toxiproxy_url}",
        f"  {'alert receiver':<26} {started.receiver.base_url}/hook/<receiver>",
        f"  {'database (read-only use)':<26} {t.database_url}",
        f"  {'logs':<26} {t.log_dir}",
    ]
    return [
        f"wrkh up: stack ready (time scale {started.timing.time_scale:g})",
        *lines,
        f"game-day target file: {target_file}",
        f"  wrkh preflight --target external --config {target_file}",
        f"  wrkh gameday SCENARIO --config {target_file}",
        "stop with Ctrl-C, SIGTERM or `wrkh down`",
    ]


def up(request: UpRequest) -> int:
    state = request.state_dir
    if _running(state) is not None:
        reason = f"a `wrkh up` is already running from this folder (see {state / STATE_FILE})"
        raise ConfigError([Problem(str(state), "(folder)", reason)])
    catalog = load_catalog(request.catalog_dir)
    timing = checked_timing(catalog, request.time_scale, COMMAND_LINE, "--time-scale")
    run_id = new_run_id()
    state.mkdir(parents=True, exist_ok=True)
    trapped = TRAP.acquire()
    started: StartedStack | None = None
    try:
        started = start_stack(
            "local", catalog, timing, stack_dir=state, run_id=run_id, fake_env=request.fake_env
        )
        target_file = state / TARGET_FILE
        _write_private(
            target_file,
            yaml.safe_dump(target_file_doc(started.target, timing.time_scale), sort_keys=False),
        )
        pids = getattr(started.stack, "pids", {})
        doc = {"pid": os.getpid(), "target_file": str(target_file)}
        _write_private(state / STATE_FILE, json.dumps(doc | {"stack_pids": pids}, indent=2))
        print("\n".join(_urls(started, target_file)), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C, or a trapped SIGTERM / SIGHUP
        print("wrkh up: stopping the stack", file=sys.stderr, flush=True)
    finally:
        with TRAP.deferred():
            if started is not None:
                started.stop()
            for name in (STATE_FILE, TARGET_FILE):
                (state / name).unlink(missing_ok=True)
        if trapped:
            TRAP.release()
    print("wrkh up: stopped; nothing left running", file=sys.stderr, flush=True)
    return 0


def _running(state: Path) -> int | None:
    """PID of the live `wrkh up` recorded in `state`, else None (a stale file is ignored)."""
    try:
        pid = int(json.loads((state / STATE_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if b"up" in cmdline else None


def down(state: Path) -> int:
    pid = _running(state)
    if pid is None:
        print(f"wrkh down: no `wrkh up` running from {state}", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_WAIT_S
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            print(f"wrkh down: `wrkh up` (pid {pid}) stopped")
            return 0
        time.sleep(0.2)
    raise HarnessError(f"`wrkh up` (pid {pid}) did not stop within {DOWN_WAIT_S:g} s")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


DEFAULT_STATE_DIR = Path("reports/up")


def _key_values(pairs: list[str]) -> dict[str, str]:
    found, problems = {}, []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            problems.append(Problem("--fake-env", pair, "write KEY=VALUE"))
        found[key] = value
    if problems:
        raise ConfigError(problems)
    return found


def _up(args: argparse.Namespace) -> int:
    env = _key_values(args.fake_env)
    return up(UpRequest(args.scenarios / "catalog", args.state_dir, args.time_scale, env))


def _down(args: argparse.Namespace) -> int:
    return down(args.state_dir)


def add_commands(sub: _Subparsers) -> None:
    start = sub.add_parser(
        "up",
        help="start the embedded stack and keep it running (Ctrl-C or `wrkh down` stops it)",
    )
    start.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    start.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    start.add_argument(
        "--time-scale", type=float, default=DEFAULT_TIME_SCALE, help="rules' time scale"
    )
    start.add_argument(
        "--fake-env", action="append", default=[], metavar="KEY=VALUE",
        help="extra environment for every fake service (e.g. WRK_DEFECTS=...)",
    )  # fmt: skip
    start.set_defaults(func=_up)
    stop = sub.add_parser("down", help="stop the stack `wrkh up` keeps running")
    stop.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    stop.set_defaults(func=_down)
