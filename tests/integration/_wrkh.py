"""`wrkh` as a user runs it, in a subprocess, and what its results.json says.

Several detection tests share one run: each defect (or broken catalogue entry) is read by a
different check, or by the same check in a different scenario, so one run tells every verdict
as well as one run each would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WRKH = [sys.executable, "-m", "harness.cli"]


def wrkh(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WRKH, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Run:
    """One finished `wrkh run` (its exit code was checked): report folder, output, results."""

    reports: Path
    output: str
    results: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.results["run_id"])

    def checks(self, kind: str, scenario: str | None = None) -> list[dict[str, Any]]:
        """Checks of `kind` (of `scenario` only, when given), in report order."""
        return [
            c
            for c in self.results["checks"]
            if c["kind"] == kind and scenario in (None, c["scenario"])
        ]

    def failed(self, scenario: str | None = None) -> dict[str, str]:
        """Failed checks by kind, their messages joined (a kind may fail more than once)."""
        failed: dict[str, list[str]] = {}
        for c in self.results["checks"]:
            if not c["passed"] and scenario in (None, c["scenario"]):
                failed.setdefault(c["kind"], []).append(c["message"])
        return {kind: "\n".join(messages) for kind, messages in failed.items()}


def run(reports: Path, *args: str, want: int, timeout: float = 420) -> Run:
    """`wrkh run --report-dir reports *args`; it must exit `want`."""
    proc = wrkh("run", "--report-dir", str(reports), *args, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == want, (
        f"expected exit {want}, got {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    )
    results = json.loads((reports / "latest" / "results.json").read_text())
    return Run(reports, output, results)


def defects(names: str, *scenarios: str) -> tuple[str, ...]:
    """Arguments of a run of `scenarios` with the fakes broken by `names` (comma-separated).
    --preflight warn: the scenarios' own checks must name each defect, not only the preflight."""
    selection = [arg for name in scenarios for arg in ("--scenario", name)]
    return (*selection, "--fake-env", f"WRK_DEFECTS={names}", "--preflight", "warn")


def copy_catalog(tmp_path: Path, *scenario_files: str) -> Path:
    """A suite folder under `tmp_path`: the catalogue and the named scenario files, copied."""
    suite = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios" / "catalog", suite / "catalog")
    for name in scenario_files:
        shutil.copy(ROOT / "scenarios" / name, suite / name)
    return suite


def raise_threshold(suite: Path) -> None:
    """ApiHigh5xxRate's threshold raised from 1% to 50% of requests: it can no longer fire."""
    alerts = suite / "catalog" / "alerts.yaml"
    text = alerts.read_text()
    broken = text.replace("[{{window}}])) > 0.01", "[{{window}}])) > 0.5", 1)
    assert broken != text, "the ApiHigh5xxRate threshold moved; update this test"
    alerts.write_text(broken)
