"""Rendered rules, Alertmanager config and promtool tests, checked by the real tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.catalog import Catalog, Receiver, load_catalog
from harness.rules import (
    RULE_GROUP,
    render_alertmanager_config,
    render_promtool_tests,
    render_rules,
)
from harness.timescale import Timing

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is not installed")
RECEIVER_URL = "http://127.0.0.1:9095"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def with_alert(catalog: Catalog, **changes: object) -> Catalog:
    """The catalogue with its first alert changed (bypassing validation, like a bad edit)."""
    alert = catalog.alerts[0].model_copy(update=changes)
    return catalog.model_copy(update={"alerts": (alert, *catalog.alerts[1:])})


def rule(text: str) -> dict[str, object]:
    groups = yaml.safe_load(text)["groups"]
    assert [g["name"] for g in groups] == [RULE_GROUP]
    rules: list[dict[str, object]] = groups[0]["rules"]
    return rules[0]


# -- rule file ----------------------------------------------------------------------------


def test_production_rules_keep_real_durations(catalog: Catalog) -> None:
    r = rule(render_rules(catalog, 1))
    assert r["alert"] == "ApiHigh5xxRate"
    assert r["for"] == "5m"
    assert "[5m]" in str(r["expr"]) and "{{" not in str(r["expr"])
    assert r["labels"] == {"severity": "SEV-2", "receiver": "oncall", "team": "api"}
    assert isinstance(r["annotations"], dict)
    assert r["annotations"]["spec_ref"] == "§5.1"


def test_scaled_rules_divide_every_window_and_for(catalog: Catalog) -> None:
    r = rule(render_rules(catalog, 60))
    assert r["for"] == "5s"
    assert str(r["expr"]).count("[5s]") == 2
    assert "[5m]" not in str(r["expr"])


def test_rendering_is_deterministic(catalog: Catalog) -> None:
    assert render_rules(catalog, 60) == render_rules(load_catalog(), 60)


@pytest.mark.parametrize("scale", [0, -1, float("inf"), float("nan")])
def test_render_rules_rejects_bad_scales(catalog: Catalog, scale: float) -> None:
    with pytest.raises(ValueError, match="time scale"):
        render_rules(catalog, scale)


@needs_promtool
@pytest.mark.parametrize("scale", [1, 60])
def test_promtool_accepts_rendered_rules(catalog: Catalog, tmp_path: Path, scale: float) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(catalog, scale))
    result = run(str(PROMTOOL), "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_rejects_a_broken_expression(catalog: Catalog, tmp_path: Path) -> None:
    broken = with_alert(catalog, expr="sum(rate(http_5xx_count_total[{{window}}]) /")
    rules = tmp_path / "rules.yml"
    rules.write_text(render_rules(broken, 1))
    result = run(str(PROMTOOL), "check", "rules", str(rules))
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


# -- promtool unit tests ------------------------------------------------------------------


def promtool_test(
    catalog: Catalog, folder: Path, rules_from: Catalog | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the tests generated from `catalog` against rules from `rules_from` (default: same)."""
    (folder / "rules.yml").write_text(render_rules(rules_from or catalog, 1))
    tests = folder / "rules.test.yml"
    tests.write_text(render_promtool_tests(catalog, "rules.yml"))
    return run(str(PROMTOOL), "test", "rules", str(tests))


def test_promtool_tests_check_pending_firing_and_healthy(catalog: Catalog) -> None:
    doc = yaml.safe_load(render_promtool_tests(catalog, "rules.yml"))
    assert doc["rule_files"] == ["rules.yml"]
    firing, healthy = doc["tests"]
    pending, fired = firing["alert_rule_test"]
    assert (pending["eval_time"], pending["exp_alerts"]) == ("4m", [])
    assert fired["eval_time"] == "12m"  # window 5m + for 5m + 2 intervals
    assert fired["exp_alerts"][0]["exp_labels"]["receiver"] == "oncall"
    assert healthy["alert_rule_test"][0]["exp_alerts"] == []


@needs_promtool
def test_generated_promtool_tests_pass(catalog: Catalog, tmp_path: Path) -> None:
    result = promtool_test(catalog, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_generated_promtool_tests_catch_a_wrong_threshold(catalog: Catalog, tmp_path: Path) -> None:
    too_lax = with_alert(catalog, expr=catalog.alerts[0].expr.replace("> 0.01", "> 0.5"))
    result = promtool_test(catalog, tmp_path, rules_from=too_lax)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


@needs_promtool
def test_generated_promtool_tests_catch_a_lost_for(catalog: Catalog, tmp_path: Path) -> None:
    result = promtool_test(catalog, tmp_path, rules_from=with_alert(catalog, for_s=0.0))
    assert result.returncode != 0  # fires while it should still be pending
    assert "time: 4m" in result.stdout + result.stderr


@needs_promtool
def test_generated_promtool_tests_catch_swapped_fixtures(catalog: Catalog, tmp_path: Path) -> None:
    test = catalog.alerts[0].test
    swapped = test.model_copy(update={"firing": test.healthy, "healthy": test.firing})
    result = promtool_test(with_alert(catalog, test=swapped), tmp_path)
    assert result.returncode != 0


# -- Alertmanager -------------------------------------------------------------------------


def am_config(catalog: Catalog, timing: Timing | None = None) -> str:
    timing = timing or Timing.for_scale(60, catalog.shortest_window_s())
    return render_alertmanager_config(catalog, RECEIVER_URL + "/", timing)


def test_alertmanager_config_shape(catalog: Catalog) -> None:
    doc = yaml.safe_load(am_config(catalog))
    route = doc["route"]
    assert route["receiver"] == "oncall"
    assert route["group_by"] == ["alertname"]
    assert (route["group_wait"], route["group_interval"]) == ("0s", "625ms")
    assert route["repeat_interval"] == "1h"
    hooks = {r["name"]: r["webhook_configs"][0] for r in doc["receivers"]}
    assert set(hooks) == {r.value for r in Receiver}
    assert hooks["ops-escalation"] == {
        "url": f"{RECEIVER_URL}/hook/ops-escalation",
        "send_resolved": True,
    }


def test_alertmanager_group_interval_has_a_floor(catalog: Catalog) -> None:
    timing = Timing(60, 0.2, 0.2, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="group_interval"):
        am_config(catalog, timing)


def amtool_routes(config: Path, *labels: str, verify: str | None = None) -> tuple[int, str]:
    argv = [str(AMTOOL), "config", "routes", "test", f"--config.file={config}"]
    argv += [f"--verify.receivers={verify}"] if verify else []
    result = run(*argv, *labels)
    return result.returncode, result.stdout.strip()


@needs_amtool
def test_amtool_accepts_the_config_and_routes_each_alert(catalog: Catalog, tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(am_config(catalog))
    check = run(str(AMTOOL), "check-config", str(config))
    assert check.returncode == 0, check.stdout + check.stderr
    for alert in catalog.alerts:
        labels = [f"alertname={alert.name}", *(f"{k}={v}" for k, v in alert.rule_labels().items())]
        rc, out = amtool_routes(config, *labels, verify=alert.receiver.value)
        assert (rc, out) == (0, alert.receiver.value)


@needs_amtool
@pytest.mark.parametrize("receiver", list(Receiver))
def test_amtool_routes_every_receiver_label(
    catalog: Catalog, tmp_path: Path, receiver: Receiver
) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(am_config(catalog))
    assert amtool_routes(config, "alertname=X", f"receiver={receiver.value}") == (
        0,
        receiver.value,
    )


@needs_amtool
def test_amtool_detects_a_wrong_route(catalog: Catalog, tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(am_config(catalog))
    rc, _ = amtool_routes(config, "alertname=X", "receiver=security", verify="oncall")
    assert rc != 0
    assert amtool_routes(config, "alertname=X") == (0, "oncall")  # no label: default route


@needs_amtool
def test_amtool_rejects_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: nobody\nreceivers: []\n")
    assert run(str(AMTOOL), "check-config", str(config)).returncode != 0
