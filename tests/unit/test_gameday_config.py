"""The game-day target file: accepted when complete, rejected naming file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import ConfigError
from harness.gameday.config import check_against, load_config
from harness.gameday.run import GamedayRequest, external_plan, prepare
from harness.run.faults import Outage
from harness.run.plan import build_plan
from harness.spec.alerts import Severity
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.scenario import load_scenario
from harness.spec.timescale import Timing

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "scenarios" / "catalog"
OUTAGE = ROOT / "scenarios" / "platform_outage.yaml"
MITIGATION = ROOT / "scenarios" / "mitigation_flag_off.yaml"

GOOD = {
    "prometheus": "http://prom.internal:9090",
    "alertmanager": "http://am.internal:9093/",
    "toxiproxy": "http://toxiproxy.internal:8474",
    "services": {"edge": "http://edge.internal:8080", "core": "http://core.internal:8081"},
    "proxies": {"wrk_platform": "copilot_to_platform"},
    "api_keys": [{"env": "WRKH_UNIT_GAMEDAY_KEY"}],
    "abort_on": {
        "unexpected_severity": "SEV-1",
        "error_budget_burned": {"slo": "studio-api-availability", "max_percent": 5},
    },
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRKH_UNIT_GAMEDAY_KEY", "k-123")


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "gameday.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return [str(p) for p in err.value.problems]


def test_a_complete_file_gives_a_target_with_every_address(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    target = config.target()
    assert target.edge_url == "http://edge.internal:8080"
    assert target.alertmanager_url == "http://am.internal:9093"  # trailing slash dropped
    assert target.credentials[0].api_key == "k-123"
    assert config.proxy("wrk_platform") == "copilot_to_platform"
    assert config.proxy("postgres") == "postgres"  # unmapped: the same name
    assert config.time_scale == 1.0  # production rules unless stated
    assert config.abort_on.unexpected_severity is Severity.SEV_1


def test_every_problem_is_named_with_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WRKH_UNIT_GAMEDAY_KEY")
    doc = {**GOOD, "prometheus": "prom:9090", "services": {"core": "http://core:1"}}
    doc["abort_on"] = {"unexpected_severity": "SEV-9"}
    doc["time_scale"] = 0
    doc["surprise"] = 1
    problems = _problems(_write(tmp_path, doc))
    text = "\n".join(problems)
    assert all(
        p.startswith(str(tmp_path / "gameday.yaml")) or "gameday.yaml" in p for p in problems
    )
    assert "prometheus: " in text and "not an http(s) URL" in text
    assert "services: " in text and "`edge`" in text
    assert "abort_on.unexpected_severity" in text
    assert "time_scale" in text
    assert "surprise" in text
    assert "WRKH_UNIT_GAMEDAY_KEY is not set" in text


def test_an_api_key_needs_exactly_one_source(tmp_path: Path) -> None:
    doc = {**GOOD, "api_keys": [{"key": "a", "env": "WRKH_UNIT_GAMEDAY_KEY"}]}
    assert any("exactly one of" in p for p in _problems(_write(tmp_path, doc)))
    assert any("api_keys" in p for p in _problems(_write(tmp_path, {**GOOD, "api_keys": []})))


def test_a_file_that_is_not_yaml_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gameday.yaml"
    path.write_text("prometheus: [unclosed\n")
    assert any("YAML syntax error" in p for p in _problems(path))


def test_the_file_must_fit_the_catalogue_and_the_scenario(tmp_path: Path, catalog: Catalog) -> None:
    doc = {**GOOD, "services": {"edge": "http://edge:1"}}
    doc["abort_on"] = {"error_budget_burned": {"slo": "no-such-slo", "max_percent": 5}}
    path = _write(tmp_path, doc)
    config = load_config(path)
    # A fault and a mitigation through a service the file does not give.
    text = MITIGATION.read_text().replace("service: edge", "service: core")
    assert "service: core" in text, "the scenario changed; update this test"
    changed = tmp_path / "mitigation_via_core.yaml"
    changed.write_text(text)
    with pytest.raises(ConfigError) as err:
        check_against(config, path, catalog, load_scenario(changed, catalog))
    found = str(err.value)
    assert "abort_on.error_budget_burned.slo: unknown SLO 'no-such-slo'" in found
    assert "services: the mitigation needs service 'core'" in found


def test_a_latency_slo_has_no_budget_to_burn(tmp_path: Path, catalog: Catalog) -> None:
    doc = {**GOOD, "abort_on": {"error_budget_burned": {"slo": "studio-api-read-latency",
                                                        "max_percent": 5}}}  # fmt: skip
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError, match="has no error budget"):
        check_against(load_config(path), path, catalog, load_scenario(OUTAGE, catalog))


def test_a_matching_file_passes_and_the_plan_uses_the_deployed_proxy(
    tmp_path: Path, catalog: Catalog
) -> None:
    path = _write(tmp_path, GOOD)
    config = load_config(path)
    scenario = load_scenario(OUTAGE, catalog)
    check_against(config, path, catalog, scenario)  # no error
    plan = external_plan(build_plan(scenario, catalog, Timing.for_scale(1, 300)), config)
    assert plan.faults == (Outage("platform-down", "copilot_to_platform"),)


def test_prepare_rejects_a_bad_file_before_anything_starts(tmp_path: Path) -> None:
    path = _write(tmp_path, {**GOOD, "toxiproxy": "nowhere"})
    request = GamedayRequest("wrk-platform-outage", path, scenarios_dir=ROOT / "scenarios",
                             reports_dir=tmp_path / "reports")  # fmt: skip
    with pytest.raises(ConfigError, match="toxiproxy"):
        prepare(request)
    assert not (tmp_path / "reports").exists()


def test_prepare_finds_a_scenario_by_name_and_rejects_an_unknown_one(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    found = prepare(GamedayRequest("wrk-platform-outage", path, scenarios_dir=ROOT / "scenarios"))
    assert found.plan.scenario == "wrk-platform-outage"
    with pytest.raises(ConfigError, match="no scenario 'nope'"):
        prepare(GamedayRequest("nope", path, scenarios_dir=ROOT / "scenarios"))


def test_the_documented_example_is_a_valid_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRK_GAMEDAY_API_KEY", "k-example")
    config = load_config(ROOT / "deploy" / "gameday.example.yaml")
    assert config.abort_on.error_budget_burned is not None
    assert config.proxy("wrk_platform") == "copilot_to_wrk_platform"
