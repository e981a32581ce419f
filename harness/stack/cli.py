"""`wrkh sweep`: remove what killed runs left behind.

Exit codes: 0 swept (or nothing to sweep), 1 a compose project could not be removed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["add_commands"]


def _sweep(args: argparse.Namespace) -> int:
    from harness.stack.sweep import sweep

    for leftover in sweep():
        print(f"removed {leftover}")
    if not args.docker:
        return 0
    from harness.stack.compose_removal import sweep_projects
    from harness.stack.docker_engine import connect

    swept = sweep_projects(connect(args.docker_host))
    for project in swept.removed:
        print(f"removed compose project {project}")
    for failure in swept.failures:
        print(f"could not remove {failure}", file=sys.stderr)
    return 1 if swept.failures else 0


def add_commands(sub: _Subparsers) -> None:
    sweep = sub.add_parser(
        "sweep",
        help="remove what killed runs left behind (runs do this at start too)",
        description="Removes scratch folders (with their Postgres shared memory), port-lock "
        "files, and with --docker compose projects, of runs that were killed; what belongs to "
        "a live run, or to another host, is never touched.",
    )
    sweep.add_argument("--docker", action="store_true", help="also compose projects")
    sweep.add_argument("--docker-host", default=None, help="Docker engine URL (default: env)")
    sweep.set_defaults(func=_sweep)
