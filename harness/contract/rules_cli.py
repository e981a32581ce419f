"""`wrkh rules --check DIR`: checked-in rule files and Alertmanager config against the catalogue.

Every YAML file of DIR with `groups` is a Prometheus rule file, every one with `route` an
Alertmanager config; each is compared with the catalogue rendered at `--scale` (1 by
default: production durations), each difference named by alert and field. Exit 0 when they
agree, 1 on drift (as `wrkh preflight` on gaps), 2 when DIR holds neither kind of file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.contract.drift import Drift, routing_drift, rule_drift, rules_from_file
from harness.contract.gaps import EXIT_GAPS, EXIT_OK
from harness.errors import ConfigError, Problem
from harness.spec.catalog import Catalog
from harness.spec.files import display_path, read_yaml
from harness.spec.timescale import Timing

Command = Callable[[argparse.Namespace], int]


def add_check_option(rules: argparse.ArgumentParser) -> None:
    """`--check DIR` on `wrkh rules`: compare instead of write."""
    rules.add_argument(
        "--check",
        type=Path,
        metavar="DIR",
        help="compare the rule files and alertmanager.yml in DIR with the catalogue at --scale "
        "(exit 1 on drift) instead of writing",
    )
    write: Command = rules.get_default("func")

    def run(args: argparse.Namespace) -> int:
        return write(args) if args.check is None else check_folder(args)

    rules.set_defaults(func=run)


def check_folder(args: argparse.Namespace) -> int:
    from harness.spec.catalog import load_catalog
    from harness.spec.feasibility import COMMAND_LINE, checked_timing

    catalog = load_catalog(args.scenarios / "catalog")
    timing = checked_timing(catalog, args.scale, COMMAND_LINE, "--scale")
    found = folder_drift(catalog, timing, args.check)
    for path, drift in found.items():
        head = "agrees with the catalogue" if not drift else f"{len(drift)} difference(s)"
        print(f"{path}: {head} (time scale {timing.time_scale:g})")
        for d in drift:
            print(f"  {d}")
    return EXIT_GAPS if any(found.values()) else EXIT_OK


def folder_drift(catalog: Catalog, timing: Timing, folder: Path) -> dict[str, list[Drift]]:
    """Drift of every rule file and Alertmanager config in `folder`, by file."""
    found: dict[str, list[Drift]] = {}
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        doc, problems = read_yaml(path)
        if problems:  # another kind of file (compose's tags); said, not fatal
            print(f"skipped {display_path(path)}: {problems[0].reason}", file=sys.stderr)
        if isinstance(doc, dict):
            found.update(_drift_of(catalog, timing, display_path(path), doc))
    if not found:
        reason = "no Prometheus rule file (`groups`) and no Alertmanager config (`route`) here"
        raise ConfigError([Problem(display_path(folder), "--check", reason)])
    return found


def _drift_of(
    catalog: Catalog, timing: Timing, name: str, doc: dict[str, Any]
) -> dict[str, list[Drift]]:
    if "groups" in doc:
        return {name: rule_drift(catalog, timing, rules_from_file(doc), extras=True)}
    if "route" in doc:
        return {name: routing_drift(catalog, timing, doc)}
    return {}
