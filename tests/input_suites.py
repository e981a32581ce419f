"""Scenario folders for the input tests: the real catalogue beside scenario files of a test's
own, and `wrkh validate` run on them in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def suite(tmp_path: Path, **scenarios: str) -> Path:
    """A scenarios folder with the real catalogue and these scenario files (name: text)."""
    folder = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", folder / "catalog")
    for name, text in scenarios.items():
        (folder / f"{name}.yaml").write_text(text)
    return folder


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`wrkh validate ARGS`: its exit code and what it wrote to stderr (never a traceback)."""
    code = main(["validate", *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err
