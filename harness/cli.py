"""`wrkh`: the command line of the conformance harness.

wrkh run       run the conformance suite (pytest on the scenarios folder) and write reports
wrkh stability --runs N [run options]   the suite N times: passes per check, flaky checks,
               spread of time to firing (exit 0 stable and passed, 1 stable and failed,
               3 a verdict differed between runs or a run could not run)
wrkh validate  check the catalogue and scenario files without starting anything
wrkh rules     write Prometheus rules (production durations by default) and Alertmanager config
wrkh dashboards  write the Grafana dashboards of spec §4 (and, with --provisioning, Grafana's
               provisioning files) from the catalogue
wrkh report diff A B   regressions of run B against run A (exit 1 when there is any)
wrkh report html RUN   write the run's report.html again from its results.json
wrkh gameday SCENARIO --target external --config FILE   a game day against a deployment
wrkh sweep     remove what killed runs left behind (scratch folders, Postgres shared memory,
               port locks; --docker: compose projects)
wrkh contract --out DIR   what a build must expose (Markdown + JSON), from the catalogue
wrkh preflight --target local|compose|external [--config FILE]   a target against the
               contract in seconds, no fault (exit 1: gaps, each with the scenarios it blocks)
wrkh up / down the embedded stack kept running, with a game-day target file for it
wrkh import-rules FILE --out DIR   a Prometheus rule file as catalogue alert entries
wrkh import-slos FILE --out DIR    a Sloth SLO spec as catalogue SLOs and burn-rate alerts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.spec.timescale import DEFAULT_TIME_SCALE

if TYPE_CHECKING:  # the session pulls in the whole harness: imported only when needed
    from harness.run.session import ConformanceSession

__all__ = [
    "build_parser",
    "main",
]

DEFAULT_SCENARIOS = Path("scenarios")
EXIT_BAD_INPUT = 2  # as for any HarnessError: the run could not start as asked
EXIT_INTERRUPTED = 130  # pytest's "interrupted" is 2, which a CI log would read as bad input


def _run(args: argparse.Namespace) -> int:
    import pytest

    from harness.report.output import check_reports_dir

    check_reports_dir(args.report_dir)  # bad input: exit 2 before pytest starts anything

    argv = [
        str(args.scenarios),
        "-p",
        "no:locust",
        "-p",
        "no:cacheprovider",
        # Scenarios are YAML, not Python tests: rewriting the harness's asserts (uncached where
        # bytecode is not written) and loading Hypothesis's plugin cost ~1.5 s of every run.
        "--assert=plain",
        "-p",
        "no:hypothesispytest",
        "-q",
        "-s",  # progress lines reach the terminal live
    ]
    options = _run_options(args) + ([("run-id", args.run_id)] if args.run_id else [])
    argv += _command_line(options, prefix="--wrk-")
    code = pytest.main(argv + list(args.pytest_args))
    if code == pytest.ExitCode.USAGE_ERROR:  # pytest printed the problems
        return EXIT_BAD_INPUT
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(f"wrkh: nothing to run: no scenario collected from {args.scenarios}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if code == pytest.ExitCode.INTERRUPTED:  # Ctrl-C or SIGTERM; the reports were written
        return EXIT_INTERRUPTED
    return int(code)


def run_arguments(args: argparse.Namespace, *, masked: bool = False) -> list[str]:
    """The `wrkh run` options of `args` as a command line (`masked`: --fake-env values
    hidden, for reports); `wrkh stability` gives them to every run."""
    argv = ["--scenarios", str(args.scenarios), *_command_line(_run_options(args, masked))]
    return argv + (["--", *args.pytest_args] if args.pytest_args else [])


def _run_options(args: argparse.Namespace, masked: bool = False) -> list[tuple[str, str | None]]:
    """A run's options as (name, value) pairs, value None for a flag; the names are those of
    `wrkh run` and, prefixed with `wrk-`, of the pytest plugin."""
    options: list[tuple[str, str | None]] = [
        ("report-dir", str(args.report_dir)),
        ("target", args.target),
    ]
    if args.time_scale is not None:
        options.append(("time-scale", str(args.time_scale)))
    options += [("scenario", name) for name in args.scenario]
    if args.without_faults:
        options.append(("without-faults", None))
    options += [
        ("fake-env", f"{kv.partition('=')[0]}=***" if masked else kv) for kv in args.fake_env
    ]
    if args.load_workers:
        options.append(("load-workers", str(args.load_workers)))
    return [*options, ("preflight", args.preflight)]


def _command_line(options: list[tuple[str, str | None]], prefix: str = "--") -> list[str]:
    return [part for name, value in options for part in (prefix + name, value) if part is not None]


def _stability(args: argparse.Namespace) -> int:
    from harness.run.stability import StabilityRequest, run_series

    _refuse_bad_input(args)
    request = StabilityRequest(
        runs=args.runs,
        run_args=tuple(run_arguments(args)),
        shown_args=tuple(run_arguments(args, masked=True)),
        report_dir=args.report_dir,
    )
    report = run_series(request)
    return 130 if report.interrupted else report.exit_code


def _refuse_bad_input(args: argparse.Namespace) -> None:
    """What every run would reject, rejected once before the first starts."""
    from harness.errors import ConfigError, Problem

    problems = [
        Problem("--fake-env", kv.partition("=")[0] or "?", "expected KEY=VALUE")
        for kv in args.fake_env
        if not kv.partition("=")[0] or "=" not in kv
    ]
    try:
        _prepared(args, selected=args.scenario)
    except ConfigError as exc:
        problems = exc.problems + problems
    if problems:
        raise ConfigError(problems)


def _prepared(args: argparse.Namespace, selected: list[str]) -> ConformanceSession:
    """What `wrkh run` checks before it starts anything (the plugin, at collection)."""
    from harness.run.session import ConformanceSession, RunOptions

    options = RunOptions(
        catalog_dir=args.scenarios / "catalog",
        reports_dir=Path("reports"),  # not written: nothing runs
        time_scale=args.time_scale,
        target=args.target,
    )
    return ConformanceSession.prepare_suite(options, selected)


def _validate(args: argparse.Namespace) -> int:
    session = _prepared(args, selected=[])
    alerts, scenarios = len(session.catalog.alerts), len(session.scenarios)
    target, scale = args.target, session.timing.time_scale
    print(f"ok: {alerts} alert(s), {scenarios} scenario(s) valid for the {target} target at "
          f"time scale {scale:g}")  # fmt: skip
    return 0


def _rules(args: argparse.Namespace) -> int:
    from harness.spec.catalog import load_catalog
    from harness.spec.feasibility import COMMAND_LINE, checked_timing
    from harness.spec.rules import render_alertmanager_config, render_rules

    catalog = load_catalog(args.scenarios / "catalog")
    timing = checked_timing(catalog, args.scale, COMMAND_LINE, "--scale")
    args.out.mkdir(parents=True, exist_ok=True)
    rules = args.out / "wrk-copilot-alerts.rules.yml"
    rules.write_text(render_rules(catalog, timing))
    am = args.out / "alertmanager.yml"
    am.write_text(render_alertmanager_config(catalog, args.receiver_url, timing))
    print(f"wrote {rules} and {am} (time scale {args.scale:g})")
    return 0


def _add_run_options(run: argparse.ArgumentParser) -> None:
    """What a run of the suite takes; `run_arguments` turns them back into a command line."""
    run.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    run.add_argument("--report-dir", type=Path, default=Path("reports"))
    run.add_argument("--scenario", action="append", default=[], help="scenario name to run")
    run.add_argument("--without-faults", action="store_true")
    run.add_argument(
        "--fake-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every fake service (e.g. WRK_DEFECTS=... to inject a defect)",
    )
    _add_run_inputs(run)
    run.add_argument(
        "--load-workers",
        type=int,
        default=0,
        metavar="N",
        help="Locust distributed mode: a master and N local worker processes",
    )
    run.add_argument(
        "--preflight",
        choices=["stop", "warn"],
        default="stop",
        help="when the preflight finds a gap blocking a chosen scenario: stop before any "
        "scenario (default), or warn and run them anyway (proving the checks find it too)",
    )
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def _add_run_inputs(parser: argparse.ArgumentParser) -> None:
    """Options `run` and `validate` share: what the scenarios are checked against."""
    parser.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help=f"compress the catalogue's durations by this factor (default {DEFAULT_TIME_SCALE:g})",
    )
    parser.add_argument(
        "--target",
        choices=["local", "compose"],
        default="local",
        help="local: the stack as local processes; compose: docker-compose.yml (needs Docker)",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wrkh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the conformance suite")
    _add_run_options(run)
    run.add_argument(
        "--run-id", default=None, help="name of the run and its report folder (default: UTC "
        "start time and process id)",
    )  # fmt: skip
    run.set_defaults(func=_run)
    stability = sub.add_parser(
        "stability", help="run the suite N times and report how stable each verdict is"
    )
    stability.add_argument("--runs", type=_positive, required=True, metavar="N")
    _add_run_options(stability)
    stability.set_defaults(func=_stability)
    val = sub.add_parser("validate", help="validate catalogue and scenarios, start nothing")
    val.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    _add_run_inputs(val)
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
    from harness.contract.rules_cli import add_check_option

    add_check_option(rules)
    _add_other_commands(sub)
    return parser


def _add_other_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Each package's own subcommands, in the order `wrkh --help` lists them."""
    from harness.contract import cli as contract
    from harness.dashboards import cli as dashboards
    from harness.gameday import cli as gameday
    from harness.importers import cli as importers
    from harness.report import cli as report
    from harness.sandbox import up
    from harness.stack import cli as stack

    for package in (report, gameday, dashboards, stack, contract, importers, up):
        package.add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except HarnessError as exc:
        print(f"wrkh: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
