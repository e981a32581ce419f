"""Rendered rules, Alertmanager config and promtool tests, checked by the real tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.spec.alerts import Receiver
from harness.spec.catalog import DEFAULT_CATALOG_DIR, Catalog, load_catalog
from harness.spec.rules import (
    RULE_GROUP,
    PromtoolSuite,
    render_alertmanager_config,
    render_promtool_suites,
    render_promtool_tests,
    render_rules,
)
from harness.spec.timescale import Timing

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


def with_alert(catalog: Catalog, name: str | None = None, **changes: object) -> Catalog:
    """The catalogue with one alert (default: the first) changed, bypassing validation like a
    bad edit would."""
    name = name or catalog.alerts[0].name
    alerts = tuple(a.model_copy(update=changes) if a.name == name else a for a in catalog.alerts)
    return catalog.model_copy(update={"alerts": alerts})


def rules_of(text: str) -> list[dict[str, object]]:
    groups = yaml.safe_load(text)["groups"]
    assert [g["name"] for g in groups] == [RULE_GROUP]
    rules: list[dict[str, object]] = groups[0]["rules"]
    return rules


def rule(text: str, name: str = "ApiHigh5xxRate") -> dict[str, object]:
    return next(r for r in rules_of(text) if r.get("alert") == name)


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


def test_every_alert_is_rendered_after_the_ratios_it_reads(catalog: Catalog) -> None:
    rules = rules_of(render_rules(catalog, 1))
    records = [r["record"] for r in rules if "record" in r]
    alerts = [r["alert"] for r in rules if "alert" in r]
    assert alerts == list(catalog.alert_names)
    assert rules[: len(records)] == [r for r in rules if "record" in r]  # ratios come first
    assert len(records) == 15  # 3 availability SLOs x 5 windows (5m 30m 1h 6h 3d)
    fast = rule(render_rules(catalog, 1), "StudioApiErrorBudgetFastBurn")
    assert (fast["for"], fast["labels"]) == ("0s", {"severity": "SEV-1", "receiver": "oncall"})


def test_scaled_rules_render_each_alert_at_its_effective_scale(catalog: Catalog) -> None:
    text = render_rules(catalog, 60)
    assert "# StudioApiErrorBudgetSlowBurn: compressed to time scale 4000" in text
    assert text == render_rules(catalog, catalog.timing(60))  # a number or the run's Timing
    slow = rule(text, "StudioApiErrorBudgetSlowBurn")
    assert "ratio_rate64800ms" in str(slow["expr"]) and "ratio_rate5400ms" in str(slow["expr"])
    queue = rule(text, "QueueDepthHigh")
    assert queue["for"] == "10s"
    records = {r["record"] for r in rules_of(text) if "record" in r}
    assert {f"slo:errors_per_request:ratio_rate{w}" for w in ("5s", "1m", "6m")} <= records


def test_production_rules_compress_nothing(catalog: Catalog) -> None:
    text = render_rules(catalog, 1)
    assert "compressed" not in text
    slow = rule(text, "StudioApiErrorBudgetSlowBurn")
    assert "ratio_rate3d" in str(slow["expr"]) and "ratio_rate6h" in str(slow["expr"])


def test_rules_for_some_alerts_only(catalog: Catalog) -> None:
    rules = rules_of(render_rules(catalog, 1, ["AdminApiErrorBudgetFastBurn"]))
    assert [r.get("alert") or r["record"] for r in rules] == [
        "slo:errors_per_request:ratio_rate5m",
        "slo:errors_per_request:ratio_rate30m",
        "slo:errors_per_request:ratio_rate1h",
        "slo:errors_per_request:ratio_rate6h",
        "AdminApiErrorBudgetFastBurn",
    ]


# -- promtool unit tests ------------------------------------------------------------------


def promtool_test(
    catalog: Catalog, folder: Path, rules_from: Catalog | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the first alert's tests from `catalog` against its rules from `rules_from`."""
    name = catalog.alerts[0].name
    (folder / "rules.yml").write_text(render_rules(rules_from or catalog, 1, [name]))
    tests = folder / "rules.test.yml"
    tests.write_text(render_promtool_tests(catalog, "rules.yml", alerts=[name]))
    return run(str(PROMTOOL), "test", "rules", str(tests))


def run_suites(
    folder: Path,
    tests_from: Catalog,
    rules_from: Catalog | None = None,
    timing: Timing | None = None,
    only: list[str] | None = None,
) -> dict[str, str]:
    """Write every alert's suite (rules optionally from another catalogue), run promtool once
    over all of them; each alert's outcome, SUCCESS or FAILED with promtool's report."""
    suites = {s.alert: s for s in render_promtool_suites(tests_from, timing)}
    rules = {s.alert: s for s in render_promtool_suites(rules_from or tests_from, timing)}
    names = only or list(suites)
    for name in names:
        write_suite(folder, suites[name], rules[name].rules)
    files = [str(folder / suites[n].tests_file) for n in names]
    return outcomes(*promtool_in_parallel(files), names)


def promtool_in_parallel(files: list[str], workers: int = 2) -> tuple[str, str]:
    """`promtool test rules` over the files, split across processes (it is single-threaded
    and the 1-hour and 3-day suites take most of a second each); stdout and stderr."""
    chunks = [files[i::workers] for i in range(workers) if files[i::workers]]
    procs = [
        subprocess.Popen(
            [str(PROMTOOL), "test", "rules", *chunk],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for chunk in chunks
    ]
    results = [p.communicate(timeout=120) for p in procs]
    return "".join(out for out, _ in results), "".join(err for _, err in results)


def write_suite(folder: Path, suite: PromtoolSuite, rules: str) -> None:
    (folder / suite.rules_file).write_text(rules)
    (folder / suite.tests_file).write_text(suite.tests)


def outcomes(stdout: str, stderr: str, names: list[str]) -> dict[str, str]:
    """promtool prints `Unit Testing:  <file>` then SUCCESS on stdout, and the details of
    failures on stderr: each alert gets SUCCESS, or FAILED with the failures naming it."""
    blocks = re.split(r"Unit Testing:\s+", stdout)[1:]
    passed = {Path(b.split()[0]).name for b in blocks if "SUCCESS" in b}
    failures = re.split(r"\n(?=\s*name: )", stderr)
    return {
        n: "SUCCESS"
        if f"{n}.test.yml" in passed
        else "FAILED\n" + "\n".join(f for f in failures if f"alertname: {n}," in f)
        for n in names
    }


def test_promtool_tests_check_pending_firing_and_healthy(catalog: Catalog) -> None:
    doc = yaml.safe_load(render_promtool_tests(catalog, "rules.yml", alerts=["ApiHigh5xxRate"]))
    assert doc["rule_files"] == ["rules.yml"]
    firing, healthy, *cases = doc["tests"]
    pending, fired = firing["alert_rule_test"]
    assert (pending["eval_time"], pending["exp_alerts"]) == ("4m", [])
    assert fired["eval_time"] == "12m"  # window 5m + for 5m + 2 intervals
    assert fired["exp_alerts"][0]["exp_labels"]["receiver"] == "oncall"
    assert healthy["alert_rule_test"][0]["exp_alerts"] == []
    assert [c["name"] for c in cases] == [
        "ApiHigh5xxRate: 5xx seen only by core (retried at the edge) do not count"
    ]


def test_scaled_promtool_tests_replay_the_same_inputs_compressed(catalog: Catalog) -> None:
    timing = catalog.timing(60)
    doc = yaml.safe_load(render_promtool_tests(catalog, "r.yml", timing, ["ApiHigh5xxRate"]))
    assert doc["evaluation_interval"] == "1s"
    firing = doc["tests"][0]
    assert firing["interval"] == "1s"
    assert [c["eval_time"] for c in firing["alert_rule_test"]] == ["4s", "12s"]
    slow = "StudioApiErrorBudgetSlowBurn"
    doc = yaml.safe_load(render_promtool_tests(catalog, "r.yml", timing, [slow]))
    # One sample per 30 minutes at scale 4000 is 450 ms; 3 days + 2 samples is 65.7 s.
    assert (doc["evaluation_interval"], doc["tests"][0]["interval"]) == ("450ms", "450ms")
    assert doc["tests"][0]["alert_rule_test"][0]["eval_time"] == "65700ms"


def test_a_suite_per_alert(catalog: Catalog) -> None:
    suites = render_promtool_suites(catalog)
    assert [s.alert for s in suites] == list(catalog.alert_names)
    suite = suites[0]
    assert (suite.rules_file, suite.tests_file) == (
        "ApiHigh5xxRate.rules.yml",
        "ApiHigh5xxRate.test.yml",
    )
    assert yaml.safe_load(suite.tests)["rule_files"] == [suite.rules_file]
    assert suite.rules == render_rules(catalog, 1, ["ApiHigh5xxRate"])


@needs_promtool
@pytest.mark.parametrize("scale", [1, 60])
def test_generated_promtool_tests_pass(catalog: Catalog, tmp_path: Path, scale: float) -> None:
    timing = None if scale == 1 else catalog.timing(scale)
    results = run_suites(tmp_path, catalog, timing=timing)
    failed = {n: r for n, r in results.items() if r != "SUCCESS"}
    assert not failed, failed


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


def mutated(catalog: Catalog, mutate: str) -> Catalog:
    """Every alert's expression wrapped by `mutate` (a format string with {expr})."""
    alerts = tuple(
        a.model_copy(update={"expr": mutate.format(expr=a.expr)}) for a in catalog.alerts
    )
    return catalog.model_copy(update={"alerts": alerts})


@needs_promtool
@pytest.mark.parametrize(
    ("mutation", "what"),
    [
        ("({expr}) and on() (vector(0) > 1)", "a rule that never fires fails its firing test"),
        ("({expr}) or on() vector(1)", "a rule that always fires fails its healthy test"),
    ],
)
def test_every_alert_test_can_fail(
    catalog: Catalog, tmp_path: Path, mutation: str, what: str
) -> None:
    results = run_suites(tmp_path, catalog, rules_from=mutated(catalog, mutation))
    passed = sorted(n for n, r in results.items() if r == "SUCCESS")
    assert not passed, f"{what}, but these passed: {passed}"


@needs_promtool
def test_a_threshold_raised_in_a_copy_of_the_catalogue_fails_its_test(
    catalog: Catalog, tmp_path: Path
) -> None:
    edited = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, edited)
    alerts = edited / "alerts.yaml"
    alerts.write_text(alerts.read_text().replace("(queue_depth) > 1000", "(queue_depth) > 5000"))
    (tmp_path / "suites").mkdir()
    results = run_suites(tmp_path / "suites", catalog, rules_from=load_catalog(edited))
    assert {n for n, r in results.items() if r != "SUCCESS"} == {"QueueDepthHigh"}
    assert "time: 12m" in results["QueueDepthHigh"] and "got:[]" in results["QueueDepthHigh"]


@needs_promtool
def test_an_objective_lowered_in_a_copy_of_the_slos_fails_its_burn_rate_test(
    catalog: Catalog, tmp_path: Path
) -> None:
    edited = tmp_path / "catalog"
    shutil.copytree(DEFAULT_CATALOG_DIR, edited)
    slos = edited / "slos.yaml"
    slos.write_text(slos.read_text().replace("objective: 99.5%", "objective: 90%", 1))
    (tmp_path / "suites").mkdir()
    fast = "StudioApiErrorBudgetFastBurn"
    results = run_suites(tmp_path / "suites", catalog, load_catalog(edited), only=[fast])
    assert results[fast].startswith("FAILED")  # a 10% budget: 10% errors burn at 1x only


@needs_promtool
def test_scaled_rules_fail_when_a_window_is_not_scaled(catalog: Catalog, tmp_path: Path) -> None:
    """The scaled tests notice a rule whose window kept its production length."""
    name = "TopTierChurnRisk"
    alert = catalog.alert(name)
    unscaled = with_alert(catalog, name, expr=alert.expr_at(1))  # [1h] written literally
    results = run_suites(tmp_path, catalog, unscaled, catalog.timing(60), only=[name])
    assert "TopTierChurnRisk: the rise is an event, resolved an hour later" in results[name]


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
