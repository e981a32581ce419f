"""Binary lookup: project-local tools folder (overridable at call time), PATH, Debian paths."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import ToolMissingError
from harness.stack import tools


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_tools_dir_env_is_read_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_executable(tmp_path / "bin" / "toxiproxy-server")
    monkeypatch.setenv("WRKH_TOOLS_DIR", str(tmp_path))
    assert tools.locate("toxiproxy-server") == str(fake)


def test_default_tools_dir_is_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRKH_TOOLS_DIR", raising=False)
    assert tools.tools_dir() == tools.repo_root() / "tools"
    assert (tools.repo_root() / "harness" / "stack" / "tools.py").is_file()


def test_missing_tool_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRKH_TOOLS_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="make setup") as caught:
        tools.locate("toxiproxy-server")
    assert caught.value.binary == "toxiproxy-server"
    assert str(tmp_path) in str(caught.value)


def test_require_lists_every_missing_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError) as caught:
        tools.require(["prometheus", "redis-server", "python"])
    message = str(caught.value)
    assert caught.value.binary == "prometheus"
    assert "apt-get install --no-install-recommends prometheus" in message
    assert "redis-server: install it" in message


def test_postgres_server_binaries_come_from_the_debian_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_executable(tmp_path / "13" / "bin" / "initdb")
    newest = make_executable(tmp_path / "15" / "bin" / "initdb")
    monkeypatch.setattr(tools, "POSTGRES_LIB", tmp_path)
    assert tools.locate("initdb") == str(newest)


def test_python_is_the_running_interpreter() -> None:
    assert tools.locate("python") == sys.executable


def test_unknown_tool_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="known"):
        tools.find("docker-compose")
