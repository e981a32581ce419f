"""routing.yaml: receiver and severity from the spec; the catalogue and deliveries judged
against it, never against the catalogue that generated the routing."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.checks.alerts import AlertLifecycle, delivered_to_receiver
from harness.errors import ConfigError
from harness.spec.alerts import Receiver
from harness.spec.catalog import DEFAULT_CATALOG_DIR, load_catalog
from harness.spec.routing import ROUTING_FILE
from harness.spec.timescale import AlertBudget

ROOT = Path(__file__).resolve().parents[2]


def _edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, folder)
    path = folder / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))
    return folder


def _security_alert_to_oncall(tmp_path: Path) -> Path:
    old = "    severity: SEV-2\n    receiver: security\n"
    return _edited(tmp_path, "alerts.yaml", old, "    severity: SEV-2\n    receiver: oncall\n")


def test_every_catalogue_alert_has_the_spec_s_receiver_and_severity() -> None:
    catalog = load_catalog()
    assert catalog.routing is not None
    for alert in catalog.alerts:
        route = catalog.expected_route(alert.name)
        assert (route.receiver, route.severity) == (alert.receiver.value, alert.severity.value)
    assert catalog.expected_route("AuthBruteForce").receiver == "security"
    assert catalog.expected_route("TopTierChurnRisk").receiver == "ops-escalation"


def test_a_security_alert_routed_to_oncall_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(_security_alert_to_oncall(tmp_path))
    [problem] = info.value.problems
    assert problem.file.endswith("alerts.yaml")
    assert problem.field == "AuthBruteForce.receiver"
    assert "'oncall'" in problem.reason and "'security'" in problem.reason


def test_wrkh_validate_exits_2_naming_file_alert_and_field(tmp_path: Path) -> None:
    folder = _security_alert_to_oncall(tmp_path)
    shutil.copytree(
        ROOT / "scenarios", tmp_path / "suite", ignore=shutil.ignore_patterns("catalog")
    )
    shutil.move(folder, tmp_path / "suite" / "catalog")
    args = [sys.executable, "-m", "harness.cli", "validate", "--scenarios", str(tmp_path / "suite")]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "alerts.yaml: AuthBruteForce.receiver" in done.stderr


def test_a_severity_lowered_in_the_catalogue_is_refused(tmp_path: Path) -> None:
    folder = _edited(tmp_path, "alerts.yaml", "    severity: SEV-1\n", "    severity: SEV-3\n")
    with pytest.raises(ConfigError) as info:
        load_catalog(folder)
    assert [p.field for p in info.value.problems] == ["RunEventsSilent.severity"]


def test_an_alert_missing_from_the_table_and_a_stale_entry_are_named(tmp_path: Path) -> None:
    folder = _edited(tmp_path, ROUTING_FILE, "[ApiHigh5xxRate]", "[ApiHigh5xxRates]")
    with pytest.raises(ConfigError) as info:
        load_catalog(folder)
    reasons = {p.field: p.reason for p in info.value.problems}
    assert "no category" in reasons["ApiHigh5xxRate"]
    assert "ApiHigh5xxRates is not an alert" in reasons["categories[0].alerts"]


def test_an_alert_in_two_categories_is_refused(tmp_path: Path) -> None:
    folder = _edited(
        tmp_path, ROUTING_FILE, "[TopTierChurnRisk]", "[TopTierChurnRisk, ApiHigh5xxRate]"
    )
    with pytest.raises(ConfigError, match="ApiHigh5xxRate is in categories api-errors"):
        load_catalog(folder)


DELIVERED = AlertLifecycle(
    alert="AuthBruteForce",
    budget=AlertBudget(floor_s=5.0, budget_s=11.0, resolve_budget_s=6.0),
    expected_receiver="security",
    time_to_pending_s=0.6,
    time_to_firing_s=5.6,
    time_to_notification_s=5.7,
    notified_receiver="security",
    time_to_resolved_s=None,
    time_to_resolved_notification_s=None,
    waited_for_firing_s=6.0,
    waited_for_resolve_s=None,
    expected_severity="SEV-2",
    notified_severity="SEV-2",
)


def test_delivery_is_judged_by_the_table_s_receiver_and_severity() -> None:
    assert delivered_to_receiver("s", DELIVERED).passed
    to_oncall = dataclasses.replace(DELIVERED, notified_receiver="oncall")
    check = delivered_to_receiver("s", to_oncall)
    assert (
        not check.passed and "'oncall'" in check.message and "expected 'security'" in check.message
    )
    lowered = dataclasses.replace(DELIVERED, notified_severity="SEV-3")
    check = delivered_to_receiver("s", lowered)
    assert not check.passed
    assert "severity 'SEV-3' (expected 'SEV-2')" in check.message


def test_the_expectation_comes_from_the_table_not_from_the_alert() -> None:
    catalog = load_catalog()
    assert catalog.routing is not None
    moved = [
        c.model_copy(update={"receiver": Receiver.OPS_ESCALATION}) if c.name == "security" else c
        for c in catalog.routing.categories
    ]
    table = catalog.routing.model_copy(update={"categories": tuple(moved)})
    edited = catalog.model_copy(update={"routing": table})
    assert edited.alert("AuthBruteForce").receiver.value == "security"
    assert edited.expected_route("AuthBruteForce").receiver == "ops-escalation"
