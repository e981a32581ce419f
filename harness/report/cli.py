"""`wrkh report diff` and `wrkh report html`: the reports of earlier runs.

Exit codes: `diff` 0 no regression, 1 regressions (listed); `html` 0; 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["add_commands"]

DEFAULT_LEDGER = Path("reports/ledger.json")


def _report_diff(args: argparse.Namespace) -> int:
    from harness.report.diff import DiffOptions, compare, flaky, flaky_lines
    from harness.report.ledger import resolve_run

    before = resolve_run(args.before, args.ledger)
    after = resolve_run(args.after, args.ledger)
    found = compare(before, after, DiffOptions(args.ratio, args.min_growth))
    shaky = flaky(before, after)
    print(
        f"{after.run_id} against {before.run_id}: {len(found)} regression(s), "
        f"{len(shaky)} flaky check(s)"
    )
    for r in found:
        print(f"  REGRESSION {r.kind:<26} {r.message}")
    for line in flaky_lines(after, shaky, args.ledger):
        print(f"  FLAKY      {line}")
    return 1 if found else 0


def _report_html(args: argparse.Namespace) -> int:
    from harness.report.forms import rebuild_html

    print(f"wrote {rebuild_html(args.run_dir, args.ledger)}")
    return 0


def add_commands(sub: _Subparsers) -> None:
    from harness.report.diff import DEFAULT_MIN_GROWTH_S, DEFAULT_RATIO

    report = sub.add_parser("report", help="work with the reports of earlier runs")
    commands = report.add_subparsers(dest="report_command", required=True)
    diff = commands.add_parser("diff", help="regressions of run AFTER against run BEFORE")
    diff.add_argument("before", help="run id in the ledger, or a results.json / run folder")
    diff.add_argument("after", help="run id in the ledger, or a results.json / run folder")
    diff.add_argument("--ledger", type=Path, default=DEFAULT_LEDGER)
    diff.add_argument(
        "--ratio", type=float, default=DEFAULT_RATIO, help="time-to-alert growth that regresses"
    )
    diff.add_argument(
        "--min-growth",
        type=float,
        default=DEFAULT_MIN_GROWTH_S,
        help="seconds time-to-alert must grow by, besides the ratio",
    )
    diff.set_defaults(func=_report_diff)
    html = commands.add_parser("html", help="write report.html again from a run's results.json")
    html.add_argument("run_dir", type=Path, help="the run folder (or its results.json)")
    html.add_argument("--ledger", type=Path, default=DEFAULT_LEDGER)
    html.set_defaults(func=_report_html)
