"""`wrkh import-rules` and `wrkh import-slos`: their arguments and what they print."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.importers.common import ImportOptions, parse_severity_map
from harness.spec.alerts import Receiver

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _options(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(
        severities=parse_severity_map(args.severity),
        receiver=Receiver(args.receiver),
        spec_ref=args.spec_ref,
    )


def _import_rules(args: argparse.Namespace) -> int:
    from harness.importers.rules import import_rules, write_alerts

    alerts = import_rules(args.file, _options(args))
    path = write_alerts(alerts, args.out, args.file)
    print(f"wrote {len(alerts)} alert(s) to {path}; add each one's test evidence")
    return 0


def _import_slos(args: argparse.Namespace) -> int:
    from harness.importers.slos import import_slos, write_entries

    slos, alerts = import_slos(args.file, _options(args))
    slos_path, alerts_path = write_entries(slos, alerts, args.out, args.file)
    print(
        f"wrote {len(slos)} SLO(s) to {slos_path} and {len(alerts)} burn-rate alert(s) to "
        f"{alerts_path}; add each alert's test evidence"
    )
    return 0


def _common(parser: argparse.ArgumentParser, spec_ref: str) -> None:
    parser.add_argument(
        "--severity",
        action="append",
        default=[],
        metavar="NAME=SEV-N",
        help="map the file's severity label to the catalogue's (repeatable)",
    )
    parser.add_argument(
        "--receiver",
        choices=[r.value for r in Receiver],
        default=Receiver.ONCALL.value,
        help="receiver of alerts whose labels name none (default: oncall)",
    )
    parser.add_argument(
        "--spec-ref", default=spec_ref, help=f"spec section of the entries (default {spec_ref})"
    )


def add_commands(sub: _Subparsers) -> None:
    rules = sub.add_parser(
        "import-rules",
        help="turn a Prometheus rule file into catalogue alert entries (windows scale)",
    )
    rules.add_argument("file", type=Path, help="a Prometheus rule file (groups of rules)")
    rules.add_argument("--out", type=Path, required=True, help="folder for alerts.yaml")
    _common(rules, "§5")
    rules.set_defaults(func=_import_rules)
    slos = sub.add_parser(
        "import-slos",
        help="turn a Sloth SLO spec (prometheus/v1) into SLOs and burn-rate alerts",
    )
    slos.add_argument("file", type=Path, help="a Sloth spec (version: prometheus/v1)")
    slos.add_argument(
        "--out", type=Path, default=Path("reports/imported"), help="folder for the entries"
    )
    _common(slos, "§3")
    slos.set_defaults(func=_import_slos)
