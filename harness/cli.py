"""`wrkh`: the command line of the conformance harness.

wrkh run       run the conformance suite (pytest on the scenarios folder) and write reports
wrkh validate  check the catalogue and scenario files without starting anything
wrkh rules     write Prometheus rules (production durations by default) and Alertmanager config
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError

DEFAULT_SCENARIOS = Path("scenarios")


def _run(args: argparse.Namespace) -> int:
    import pytest

    argv = [
        str(args.scenarios),
        "-p",
        "no:locust",
        "-p",
        "no:cacheprovider",
        "-q",
        "-s",  # progress lines reach the terminal live
        "--wrk-report-dir",
        str(args.report_dir),
    ]
    if args.time_scale:
        argv += ["--wrk-time-scale", str(args.time_scale)]
    for name in args.scenario:
        argv += ["--wrk-scenario", name]
    if args.without_faults:
        argv.append("--wrk-without-faults")
    for kv in args.fake_env:
        argv += ["--wrk-fake-env", kv]
    return int(pytest.main(argv + list(args.pytest_args)))


def _validate(args: argparse.Namespace) -> int:
    from harness.catalog import load_catalog
    from harness.discovery import scenario_files
    from harness.scenario import load_scenarios

    catalog = load_catalog(args.scenarios / "catalog")
    scenarios = load_scenarios(scenario_files(args.scenarios), catalog)
    print(f"ok: {len(catalog.alerts)} alert(s), {len(scenarios)} scenario(s) valid")
    return 0


def _rules(args: argparse.Namespace) -> int:
    from harness.catalog import load_catalog
    from harness.rules import render_alertmanager_config, render_rules
    from harness.timescale import Timing

    catalog = load_catalog(args.scenarios / "catalog")
    args.out.mkdir(parents=True, exist_ok=True)
    rules = args.out / "wrk-copilot-alerts.rules.yml"
    rules.write_text(render_rules(catalog, args.scale))
    timing = Timing.for_scale(args.scale, catalog.shortest_window_s())
    am = args.out / "alertmanager.yml"
    am.write_text(render_alertmanager_config(catalog, args.receiver_url, timing))
    print(f"wrote {rules} and {am} (time scale {args.scale:g})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wrkh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the conformance suite")
    run.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    run.add_argument("--report-dir", type=Path, default=Path("reports"))
    run.add_argument("--time-scale", type=float, default=None)
    run.add_argument("--scenario", action="append", default=[], help="scenario name to run")
    run.add_argument("--without-faults", action="store_true")
    run.add_argument(
        "--fake-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every fake service (e.g. WRK_DEFECTS=... to inject a defect)",
    )
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    run.set_defaults(func=_run)
    val = sub.add_parser("validate", help="validate catalogue and scenarios, start nothing")
    val.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    val.set_defaults(func=_validate)
    rules = sub.add_parser("rules", help="write Prometheus rules and Alertmanager config")
    rules.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    rules.add_argument("--out", type=Path, default=Path("reports/rules"))
    rules.add_argument("--scale", type=float, default=1.0, help="1 = production durations")
    rules.add_argument(
        "--receiver-url",
        default="http://127.0.0.1:9095",
        help="base URL of the webhook receivers (<url>/hook/<receiver>)",
    )
    rules.set_defaults(func=_rules)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except HarnessError as exc:
        print(f"wrkh: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
