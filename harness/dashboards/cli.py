"""`wrkh dashboards`: the Grafana dashboards of spec §4 (and their provisioning) as files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["add_commands"]


def _dashboards(args: argparse.Namespace) -> int:
    from harness.dashboards.grafana import render_dashboards
    from harness.dashboards.provisioning import grafana_tree, write_files
    from harness.errors import ConfigError, Problem
    from harness.spec.catalog import load_catalog

    catalog = load_catalog(args.scenarios / "catalog")
    if catalog.dashboards is None:
        raise ConfigError([Problem(str(args.scenarios / "catalog"), "(file)", "no dashboards")])
    files = (
        grafana_tree(catalog.dashboards)
        if args.provisioning
        else render_dashboards(catalog.dashboards)
    )
    written = write_files(files, args.out)
    print(f"wrote {len(written)} file(s) under {args.out}")
    return 0


def add_commands(sub: _Subparsers) -> None:
    dash = sub.add_parser("dashboards", help="write the Grafana dashboards of spec §4")
    dash.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    dash.add_argument("--out", type=Path, default=Path("reports/dashboards"))
    dash.add_argument(
        "--provisioning",
        action="store_true",
        help="also write Grafana provisioning (datasource, provider) as in deploy/grafana/",
    )
    dash.set_defaults(func=_dashboards)
