"""`wrkh contract` and `wrkh preflight`: their arguments, what they print, their exit codes.

Exit codes, as the rest of the CLI: 0 the target meets the contract, 1 it has gaps (listed),
2 bad input (file: field: reason).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from harness.contract.gaps import EXIT_GAPS, EXIT_OK, PreflightReport
from harness.errors import ConfigError, Problem
from harness.spec.timescale import DEFAULT_TIME_SCALE

if TYPE_CHECKING:
    from harness.contract.levers import Lever
    from harness.spec.catalog import Catalog
    from harness.spec.scenario import Scenario

    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_SCENARIOS = Path("scenarios")


def load_inputs(scenarios_dir: Path) -> tuple[Catalog, list[Scenario], tuple[Lever, ...]]:
    """Catalogue, every scenario and the levers; ConfigError with every problem."""
    from harness.contract.levers import load_levers
    from harness.spec.catalog import load_catalog
    from harness.spec.discovery import scenario_files
    from harness.spec.scenario import load_scenarios

    catalog = load_catalog(scenarios_dir / "catalog")
    scenarios = load_scenarios(scenario_files(scenarios_dir), catalog)
    return catalog, scenarios, load_levers(scenarios_dir / "catalog")


def _contract(args: argparse.Namespace) -> int:
    from harness.contract.build import build_contract
    from harness.contract.render import write_contract

    catalog, scenarios, levers = load_inputs(args.scenarios)
    json_path, md_path = write_contract(build_contract(catalog, scenarios, levers), args.out)
    print(f"wrote {md_path} and {json_path}")
    return 0


def _preflight(args: argparse.Namespace) -> int:
    if args.target == "external" and args.config is None:
        reason = "--target external needs --config FILE (a game-day target file)"
        raise ConfigError([Problem("--config", "(missing)", reason)])
    if args.target != "external" and args.config is not None:
        reason = f"--config is read only with --target external, not {args.target}"
        raise ConfigError([Problem(str(args.config), "(file)", reason)])
    catalog, scenarios, levers = load_inputs(args.scenarios)
    if args.target == "external":
        report = _external(args.config, catalog, scenarios, levers)
    else:
        report = _stack(args, catalog, scenarios, levers)
    for line in report.lines():
        print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return EXIT_GAPS if report.gaps else EXIT_OK


def _external(
    config_file: Path, catalog: Catalog, scenarios: list[Scenario], levers: tuple[Lever, ...]
) -> PreflightReport:
    from harness.contract.preflight import Expectations, run_preflight
    from harness.gameday.config import load_config
    from harness.spec.feasibility import checked_timing
    from harness.spec.files import display_path

    config = load_config(config_file)
    timing = checked_timing(catalog, config.time_scale, display_path(config_file), "time_scale")
    expect = Expectations.of(catalog, scenarios, levers, timing)
    return run_preflight(config.target(), expect, config.proxy)


def _stack(
    args: argparse.Namespace,
    catalog: Catalog,
    scenarios: list[Scenario],
    levers: tuple[Lever, ...],
) -> PreflightReport:
    """Start the stack the target names, check it, stop it whatever happens."""
    from harness.contract.preflight import Expectations, run_preflight
    from harness.report.results import new_run_id
    from harness.sandbox.start import start_stack
    from harness.spec.feasibility import COMMAND_LINE, checked_timing

    timing = checked_timing(catalog, args.time_scale, COMMAND_LINE, "--time-scale")
    run_id = new_run_id()
    started = start_stack(
        args.target, catalog, timing, stack_dir=args.work_dir / run_id, run_id=run_id
    )
    try:
        return run_preflight(started.target, Expectations.of(catalog, scenarios, levers, timing))
    finally:
        started.stop()


def add_commands(sub: _Subparsers) -> None:
    contract = sub.add_parser(
        "contract", help="write what a build must expose (Markdown and JSON) from the catalogue"
    )
    contract.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    contract.add_argument("--out", type=Path, default=Path("reports/contract"))
    contract.set_defaults(func=_contract)
    pre = sub.add_parser(
        "preflight",
        help="check a target against the contract in seconds, no fault (exit 1: gaps)",
    )
    pre.add_argument("--target", choices=["local", "compose", "external"], default="local")
    pre.add_argument("--config", type=Path, default=None, help="game-day target file (external)")
    pre.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    pre.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="scale of the rules a local or compose stack is started with (default %(default)g)",
    )
    pre.add_argument(
        "--work-dir", type=Path, default=Path("reports/preflight"), help="stack folder (local)"
    )
    pre.add_argument("--json", type=Path, default=None, help="also write the report as JSON")
    pre.set_defaults(func=_preflight)
