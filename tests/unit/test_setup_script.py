"""Tests for scripts/setup.sh, the installer behind `make setup`.

The failure branches use the script's test seams (SETUP_ASSUME_NONROOT, SETUP_ASSUME_MISSING and
the SETUP_PYTHON / SETUP_GO / SETUP_APT_GET / SETUP_VENV overrides). Each of those runs simulates
at least one unmet prerequisite, and the script checks everything before it changes anything,
so these tests never install or modify anything on the machine.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup.sh"


def run_setup(
    env: dict[str, str] | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run setup.sh with the caller's environment minus any SETUP_* seam, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SETUP_")}
    return subprocess.run(
        ["bash", str(SETUP)],
        cwd=REPO,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def installing_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.startswith("installing")]


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def assert_stopped_untouched(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, describe(result)
    assert installing_lines(result) == [], describe(result)
    assert "setup: stopped before installing anything" in result.stderr, describe(result)


@pytest.mark.parametrize("script", ["scripts/setup.sh", "scripts/versions.sh", ".ci/run"])
def test_shell_syntax(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n", str(REPO / script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.integration
def test_second_run_installs_nothing_and_is_fast() -> None:
    # The first run may really install (on a fresh machine: apt packages, a Go build, a venv).
    first = run_setup(timeout=1800)
    assert first.returncode == 0, describe(first)

    start = time.monotonic()
    second = run_setup(timeout=60)
    elapsed = time.monotonic() - start

    assert second.returncode == 0, describe(second)
    assert installing_lines(second) == [], describe(second)
    assert elapsed < 5, f"second setup took {elapsed:.1f}s\n{describe(second)}"
    for component in (
        "prometheus",
        "prometheus-alertmanager",
        "postgresql",
        "redis-server",
        "chromium",
    ):
        assert f"ok: {component} " in second.stdout, describe(second)
    assert "ok: toxiproxy " in second.stdout, describe(second)
    # The venv holds what requirements.lock pins; a changed lock would show as "installing".
    unchanged = "ok: project installed in .venv (requirements.lock and pyproject.toml unchanged)"
    assert unchanged in second.stdout, describe(second)


def test_not_root_prints_the_apt_get_command() -> None:
    result = run_setup(
        {
            "SETUP_ASSUME_NONROOT": "1",
            "SETUP_ASSUME_MISSING": "postgresql redis-server",
            # Any existing command: only its presence matters, a non-root run never calls it.
            "SETUP_APT_GET": "true",
        }
    )
    assert_stopped_untouched(result)
    assert (
        "apt-get update && DEBIAN_FRONTEND=noninteractive "
        "apt-get install -y --no-install-recommends postgresql redis-server"
    ) in result.stderr, describe(result)


def test_without_apt_get_lists_packages_and_binaries() -> None:
    result = run_setup(
        {
            "SETUP_APT_GET": "/nonexistent/apt-get",
            "SETUP_ASSUME_MISSING": "prometheus prometheus-alertmanager",
        }
    )
    assert_stopped_untouched(result)
    assert "apt-get is not available" in result.stderr, describe(result)
    for binary in ("promtool", "amtool", "prometheus-alertmanager"):
        assert binary in result.stderr, describe(result)


def test_without_go_explains_how_to_get_toxiproxy() -> None:
    result = run_setup({"SETUP_GO": "/nonexistent/go", "SETUP_ASSUME_MISSING": "toxiproxy"})
    assert_stopped_untouched(result)
    assert "install Go ≥ 1.23 (https://go.dev/dl) or place toxiproxy-server in tools/bin" in (
        result.stderr
    ), describe(result)


def test_python_older_than_3_11_is_refused(tmp_path: Path) -> None:
    old_python = tmp_path / "python3"
    old_python.write_text("#!/bin/sh\necho 3.9\n")
    old_python.chmod(0o755)
    venv = tmp_path / "venv"

    result = run_setup({"SETUP_PYTHON": str(old_python), "SETUP_VENV": str(venv)})

    assert_stopped_untouched(result)
    assert "Python ≥ 3.11 is required" in result.stderr, describe(result)
    assert not venv.exists()


def test_missing_python_is_reported(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    result = run_setup({"SETUP_PYTHON": "/nonexistent/python3", "SETUP_VENV": str(venv)})
    assert_stopped_untouched(result)
    assert "install Python ≥ 3.11" in result.stderr, describe(result)
    assert not venv.exists()
