"""Drift between what runs (or is checked in) and the catalogue, named by alert and field."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from harness.contract.drift import (
    delivered,
    routing_drift,
    rule_drift,
    rules_from_api,
    rules_from_file,
)
from harness.spec.catalog import load_catalog
from harness.spec.rules import render_alertmanager_config, render_rules

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()
TIMING = CATALOG.timing(60)


def _rules() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(render_rules(CATALOG, TIMING))
    return doc


def _alert_rule(doc: dict[str, Any], name: str) -> dict[str, Any]:
    rule: dict[str, Any] = next(r for r in doc["groups"][0]["rules"] if r.get("alert") == name)
    return rule


def _routing() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(render_alertmanager_config(CATALOG, "http://x", TIMING))
    return doc


def test_the_rendered_catalogue_has_no_drift() -> None:
    assert rule_drift(CATALOG, TIMING, rules_from_file(_rules()), extras=True) == []
    assert routing_drift(CATALOG, TIMING, _routing()) == []


def test_a_changed_for_is_named_by_alert_and_field() -> None:
    doc = _rules()
    _alert_rule(doc, "QueueDepthHigh")["for"] = "1s"
    [drift] = rule_drift(CATALOG, TIMING, rules_from_file(doc))
    assert (drift.item, drift.field, drift.running) == ("QueueDepthHigh", "for", "1s")
    assert str(drift).startswith("QueueDepthHigh.for: runs 1s, expected 10s")


def test_expr_labels_and_a_missing_rule_are_each_named() -> None:
    doc = _rules()
    _alert_rule(doc, "ApiHigh5xxRate")["expr"] = _alert_rule(doc, "ApiHigh5xxRate")["expr"].replace(
        "0.01", "0.05"
    )
    _alert_rule(doc, "AuthBruteForce")["labels"]["receiver"] = "oncall"
    doc["groups"][0]["rules"] = [
        r for r in doc["groups"][0]["rules"] if r.get("alert") != "TopTierChurnRisk"
    ]
    found = {(d.item, d.field) for d in rule_drift(CATALOG, TIMING, rules_from_file(doc))}
    assert found == {
        ("ApiHigh5xxRate", "expr"),
        ("AuthBruteForce", "labels.receiver"),
        ("TopTierChurnRisk", "rule"),
    }


def test_prometheus_api_rules_are_read_like_files() -> None:
    doc = _rules()
    api = [{"rules": [
        {"name": r.get("alert") or r["record"], "type": "alerting" if "alert" in r else "recording",
         "query": r["expr"], "duration": 0.5 if r.get("alert") == "DbPoolSaturated" else
         (float(r["for"][:-1]) if r.get("for") else 0.0), "labels": r.get("labels", {})}
        for r in doc["groups"][0]["rules"]
    ]}]  # fmt: skip
    found = [(d.item, d.field) for d in rule_drift(CATALOG, TIMING, rules_from_api(api))]
    assert found == [("DbPoolSaturated", "for")]


def test_a_changed_receiver_is_named_against_the_spec_s_table() -> None:
    doc = _routing()
    doc["route"]["routes"][0]["receiver"] = "oncall"  # security alerts to on-call
    found = {(d.item, d.field, d.running) for d in routing_drift(CATALOG, TIMING, doc)}
    assert found == {
        ("AuthBruteForce", "receiver", "oncall"),
        ("WebhookSignatureFailures", "receiver", "oncall"),
    }


def test_group_timings_are_named_per_alert_with_inheritance() -> None:
    doc = _routing()
    doc["route"]["routes"][1]["group_wait"] = "5m"  # ops-escalation waits
    [drift] = routing_drift(CATALOG, TIMING, doc)
    assert (drift.item, drift.field, drift.running) == ("TopTierChurnRisk", "group_wait", "5m")


def test_the_route_walk_follows_matchers_match_and_continue() -> None:
    tree = {
        "receiver": "default",
        "group_wait": "10s",
        "routes": [
            {"receiver": "a", "match": {"team": "x"}, "continue": True},
            {"receiver": "b", "matchers": ['severity=~"SEV-[12]"']},
            {"receiver": "c"},
        ],
    }
    got = [r["receiver"] for r in delivered(tree, {"team": "x", "severity": "SEV-1"})]
    assert got == ["a", "b"]
    assert [r["receiver"] for r in delivered(tree, {"severity": "SEV-3"})] == ["c"]
    assert delivered(tree, {"severity": "SEV-3"})[0]["group_wait"] == "10s"


def _check(folder: Path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "harness.cli", "rules", "--check", str(folder)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_wrkh_rules_check_passes_the_checked_in_files() -> None:
    done = _check(ROOT / "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "agrees with the catalogue" in done.stdout


def test_wrkh_rules_check_names_a_changed_for_and_receiver(tmp_path: Path) -> None:
    shutil.copy(ROOT / "deploy" / "wrk-copilot-alerts.rules.yml", tmp_path)
    shutil.copy(ROOT / "deploy" / "alertmanager.yml", tmp_path)
    rules = tmp_path / "wrk-copilot-alerts.rules.yml"
    text = rules.read_text()
    head, _, tail = text.partition("- alert: QueueDepthHigh\n")
    rules.write_text(head + "- alert: QueueDepthHigh\n" + tail.replace("for: 10m", "for: 30m", 1))
    am = tmp_path / "alertmanager.yml"
    am.write_text(am.read_text().replace("  - receiver: security\n", "  - receiver: oncall\n", 1))
    done = _check(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "QueueDepthHigh.for: runs 30m, expected 10m" in done.stdout
    assert "AuthBruteForce.receiver: runs oncall, expected security" in done.stdout


def test_wrkh_rules_check_of_a_folder_without_either_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "other.yml").write_text("a: 1\n")
    done = _check(tmp_path)
    assert done.returncode == 2 and "no Prometheus rule file" in done.stderr


def test_a_receiver_that_stops_sending_resolutions_is_named() -> None:
    doc = _routing()
    security = next(r for r in doc["receivers"] if r["name"] == "security")
    security["webhook_configs"][0]["send_resolved"] = False
    oncall = next(r for r in doc["receivers"] if r["name"] == "ops-escalation")
    oncall["slack_configs"] = [{"channel": "#ops"}]  # Slack's default: no resolution
    found = {(d.item, d.field, d.running) for d in routing_drift(CATALOG, TIMING, doc)}
    assert found == {
        ("AuthBruteForce", "send_resolved", "False (security webhook_configs[0])"),
        ("WebhookSignatureFailures", "send_resolved", "False (security webhook_configs[0])"),
        ("TopTierChurnRisk", "send_resolved", "False (ops-escalation slack_configs[0])"),
    }


def test_wrkh_rules_check_names_a_receiver_without_resolutions(tmp_path: Path) -> None:
    am = tmp_path / "alertmanager.yml"
    text = (ROOT / "deploy" / "alertmanager.yml").read_text()
    head, _, tail = text.partition("- name: security\n")
    am.write_text(
        head + "- name: security\n" + tail.replace("send_resolved: true", "send_resolved: false", 1)
    )
    done = _check(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "AuthBruteForce.send_resolved: runs False (security webhook_configs[0]), expected true"
        in done.stdout
    )
