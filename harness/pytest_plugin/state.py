"""What the plugin's hooks share: the run's state in pytest's config stash, what the command
line names, and starting the session on the first scenario."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import pytest

from harness.spec.discovery import SCENARIO_SUFFIXES, find_catalog_dir

if TYPE_CHECKING:  # the session pulls in the whole harness: import it only when running
    from harness.report.allure_guard import AllureWriteGuard
    from harness.run.session import ConformanceSession

__all__ = [
    "ALLURE_DIR",
    "ALLURE_GUARD",
    "OWN_ALLURE_DIR",
    "REJECTED",
    "RUN_ID",
    "SESSION",
    "discard_own_allure_dir",
    "reject",
    "runs_scenarios",
    "scenario_dirs",
    "started_session",
]

SESSION = pytest.StashKey["ConformanceSession"]()
RUN_ID = pytest.StashKey[str]()
OWN_ALLURE_DIR = pytest.StashKey[Path]()
REJECTED = pytest.StashKey[bool]()
ALLURE_GUARD: pytest.StashKey[AllureWriteGuard] = pytest.StashKey()
ALLURE_DIR = "allure-results"


def discard_own_allure_dir(config: pytest.Config) -> None:
    """A run rejected before it started leaves no run folder: remove what allure-pytest made."""
    own = config.stash.get(OWN_ALLURE_DIR, None)
    for folder in (own, own.parent) if own is not None else ():
        with contextlib.suppress(OSError):  # not empty or already gone: leave it
            folder.rmdir()


def reject(config: pytest.Config, message: str) -> NoReturn:
    """Stop a run before anything started: no run folder, no session, pytest's usage error."""
    discard_own_allure_dir(config)
    with contextlib.suppress(KeyError):
        del config.stash[SESSION]
    config.stash[REJECTED] = True
    raise pytest.UsageError(message)


def _args(config: pytest.Config) -> list[Path]:
    return [Path(arg.split("::")[0]) for arg in config.args]


def scenario_dirs(config: pytest.Config) -> list[Path]:
    """Scenarios folders (a `catalog/` beside the files) the command line names."""
    return [p for p in _args(config) if p.is_dir() and (p / "catalog" / "alerts.yaml").is_file()]


def runs_scenarios(config: pytest.Config) -> bool:
    """The command line names a scenarios folder or scenario file (collection comes later)."""
    return bool(scenario_dirs(config)) or any(
        p.is_file() and p.suffix in SCENARIO_SUFFIXES and find_catalog_dir(p) for p in _args(config)
    )


def started_session(config: pytest.Config) -> ConformanceSession:
    """The run's session, started (stack up, preflight passed) the first time it is asked for."""
    from harness.contract.preflight import PreflightFailed

    session = config.stash[SESSION]
    if not session.started:
        _install_sigterm()
        try:
            session.start()
        except PreflightFailed as exc:  # no scenario can run: say why once and stop
            pytest.exit(str(exc), returncode=pytest.ExitCode.TESTS_FAILED)
    return session


def _install_sigterm() -> None:
    """SIGTERM takes pytest's interrupt path, so session teardown runs as for Ctrl-C."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
