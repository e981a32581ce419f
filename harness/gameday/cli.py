"""`wrkh gameday`: one scenario against a deployment given by URLs.

Exit codes: 0 every check passed, 1 a check failed or the preflight found a gap blocking the
scenario, 2 bad input, 3 aborted (an abort condition, Ctrl-C or a harness error), 4 the
rollback could not be verified (see harness.gameday.run).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["add_commands"]


def _gameday(args: argparse.Namespace) -> int:
    from harness.gameday.run import GamedayRequest, run_gameday
    from harness.run.progress import LiveProgress

    request = GamedayRequest(
        scenario=args.scenario,
        config_file=args.config,
        scenarios_dir=args.scenarios,
        catalog_dir=args.catalog,
        reports_dir=args.report_dir,
    )
    return run_gameday(request, LiveProgress())


def add_commands(sub: _Subparsers) -> None:
    day = sub.add_parser(
        "gameday",
        help="run one scenario against a deployment given by URLs (exit 3: aborted)",
    )
    day.add_argument("scenario", help="scenario name (in --scenarios) or scenario file")
    day.add_argument("--target", choices=["external"], default="external")
    day.add_argument("--config", type=Path, required=True, help="game-day target file (YAML)")
    day.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    day.add_argument("--catalog", type=Path, default=None, help="default: the scenario's own")
    day.add_argument("--report-dir", type=Path, default=Path("reports"))
    day.set_defaults(func=_gameday)
