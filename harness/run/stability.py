"""`wrkh stability`: the suite run N times, then the stability report over the runs.

Each run is a whole `wrkh run` in its own process, with its own run id (`<series>-r<i>`),
reports and ledger entry, exactly as a user's run; its output goes to `run-<i>.log` beside the
report. The runs are started in their own session, so a Ctrl-C or SIGTERM reaches this process
only: it asks the current run to stop (SIGTERM: the run tears its stack down and writes its
reports), waits for it, and writes the report of the runs so far.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from harness.errors import ReportError
from harness.report.forms import write_atomic
from harness.report.ledger import read_results
from harness.report.model import RunView
from harness.report.results import new_run_id
from harness.report.stability import (
    STABILITY_HTML,
    STABILITY_JSON,
    RunOutcome,
    StabilityReport,
    outcome_line,
    summary_lines,
)
from harness.report.stability_html import render_stability

STABILITY_DIR = "stability"
# A run told to stop tears its stack down in 6-7 s (measured); past this it is killed.
STOP_WAIT_S = 120.0


@dataclass(frozen=True)
class StabilityRequest:
    runs: int
    run_args: tuple[str, ...]  # `wrkh run` arguments, the run id aside
    shown_args: tuple[str, ...]  # the same for reports, values of --fake-env masked
    report_dir: Path
    command: tuple[str, ...] = (sys.executable, "-m", "harness.cli", "run")


def run_series(request: StabilityRequest, out: Callable[[str], None] = print) -> StabilityReport:
    """Run the suite `request.runs` times; write and print the stability report."""
    series = new_run_id()
    folder = request.report_dir / STABILITY_DIR / series
    folder.mkdir(parents=True, exist_ok=True)
    report = StabilityReport(series, request.runs, list(request.shown_args))
    with _signals_interrupt():
        try:
            for index in range(1, request.runs + 1):
                run = _run_once(request, index, f"{series}-r{index}", folder, report)
                out(outcome_line(run, request.runs))
        except KeyboardInterrupt:
            report.interrupted = True
    write_atomic(folder / STABILITY_JSON, json.dumps(report.to_json(), indent=2) + "\n")
    html = write_atomic(folder / STABILITY_HTML, render_stability(report, folder))
    for line in summary_lines(report, html):
        out(line)
    return report


def _run_once(
    request: StabilityRequest, index: int, run_id: str, folder: Path, report: StabilityReport
) -> RunOutcome:
    """One `wrkh run`; its outcome is added to `report` even when it was interrupted."""
    log = folder / f"run-{index}.log"
    argv = [*request.command, *request.run_args, "--run-id", run_id]
    start = time.monotonic()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait()
        finally:
            code = _stopped(proc)
            outcome = RunOutcome(
                index, run_id, code, time.monotonic() - start, log, _results(request, run_id)
            )
            report.outcomes.append(outcome)
    return outcome


def _stopped(proc: subprocess.Popen[bytes]) -> int:
    """The run's exit code; a run still going (we were interrupted) is asked to stop first
    and given STOP_WAIT_S to tear its stack down, whatever further signals arrive."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(KeyboardInterrupt, subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def _results(request: StabilityRequest, run_id: str) -> RunView | None:
    path = request.report_dir / run_id / "results.json"
    if not path.is_file():
        return None
    try:
        return RunView.from_json(read_results(path))
    except ReportError:
        return None  # unreadable results: the run counts as one that could not run


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP take the same path as Ctrl-C while the series runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
