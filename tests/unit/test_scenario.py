"""The scenario model and loader (harness.spec.scenario)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError, Problem
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.faults import (
    UNTIL_EXPECTATIONS,
    BandwidthFault,
    LatencyFault,
    OutageFault,
    ResetPeerFault,
    TimeoutFault,
)
from harness.spec.scenario import Scenario, load_scenario, load_scenarios
from harness.spec.traffic import Task

PLATFORM_OUTAGE = Path(__file__).resolve().parents[2] / "scenarios" / "platform_outage.yaml"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def scenario_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "wrk-platform-outage",
        "description": "WRK Platform unreachable",
        "load": {"users": 2, "rate_per_user": 1, "mix": {"studio_read": 4, "studio_write": 1}},
        "phases": {"warmup": "30s", "baseline": "2m"},
        "faults": [{"name": "platform-down", "proxy": "wrk_platform", "kind": "outage"}],
        "expect": {"fires": ["ApiHigh5xxRate"], "resolves": ["ApiHigh5xxRate"]},
    }
    return {**data, **overrides}


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def problems_of(paths: list[Path], catalog: Catalog) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_scenarios(paths, catalog)
    return info.value.problems


def by_field(problems: list[Problem]) -> dict[str, str]:
    return {p.field: p.reason for p in problems}


# -- the shipped scenario -----------------------------------------------------------------


def test_platform_outage_loads(catalog: Catalog) -> None:
    s = load_scenario(PLATFORM_OUTAGE, catalog)
    assert s.name == "wrk-platform-outage"
    assert s.load.mix == {Task.STUDIO_READ: 4, Task.STUDIO_WRITE: 1}
    assert (s.load.users, s.load.rate_per_user) == (10, 5)
    assert (s.phases.warmup_s, s.phases.baseline_s, s.phases.recovery_max_s) == (300, 300, None)
    (fault,) = s.faults
    assert isinstance(fault, OutageFault)
    assert (fault.proxy, fault.hold) == ("wrk_platform", UNTIL_EXPECTATIONS)
    assert s.expect.fires == s.expect.resolves == ("ApiHigh5xxRate", "WrkPlatformFailureRate")
    assert s.expect.quiet_in_baseline == catalog.alert_names  # `all`, resolved at load


def test_platform_outage_breaks_enough_requests(catalog: Catalog) -> None:
    """Writes fail during the outage: their share must be far above the 1% threshold."""
    mix = load_scenario(PLATFORM_OUTAGE, catalog).load.mix
    assert mix[Task.STUDIO_WRITE] / sum(mix.values()) >= 0.1


def test_without_faults_is_a_copy_without_faults(catalog: Catalog) -> None:
    s = load_scenario(PLATFORM_OUTAGE, catalog)
    bare = s.without_faults()
    assert bare.faults == ()
    assert s.faults  # the original is untouched (models are frozen)
    assert bare.model_copy(update={"faults": s.faults}) == s


def test_fault_kinds_and_toxiproxy_attributes(tmp_path: Path, catalog: Catalog) -> None:
    faults = [
        {
            "name": "slow",
            "proxy": "postgres",
            "kind": "latency",
            "latency_ms": 300,
            "jitter_ms": 50,
        },
        {"name": "thin", "proxy": "postgres", "kind": "bandwidth", "rate_kb_s": 8, "hold": "2m"},
        {"name": "stuck", "proxy": "postgres", "kind": "timeout", "timeout_ms": 0},
        {"name": "rst", "proxy": "postgres", "kind": "reset_peer", "direction": "upstream"},
    ]
    s = load_scenario(write(tmp_path, "s.yaml", scenario_data(faults=faults)), catalog)
    slow, thin, stuck, rst = s.faults
    assert isinstance(slow, LatencyFault) and isinstance(thin, BandwidthFault)
    assert isinstance(stuck, TimeoutFault) and isinstance(rst, ResetPeerFault)
    assert slow.toxiproxy_attributes == {"latency": 300, "jitter": 50}
    assert thin.toxiproxy_attributes == {"rate": 8}
    assert stuck.toxiproxy_attributes == rst.toxiproxy_attributes == {"timeout": 0}
    assert rst.direction == "upstream"
    assert (slow.direction, slow.toxicity) == ("downstream", 1.0)
    assert thin.hold == 120


def test_quiet_in_baseline_accepts_a_list(tmp_path: Path, catalog: Catalog) -> None:
    expect = {"fires": [], "quiet_in_baseline": ["ApiHigh5xxRate"]}
    data = scenario_data(expect=expect, faults=[])
    assert load_scenario(write(tmp_path, "s.yaml", data), catalog).expect.fires == ()


def test_validating_without_a_catalogue_cannot_resolve_all() -> None:
    with pytest.raises(ValueError, match="needs the catalogue"):
        Scenario.model_validate(scenario_data())


# -- problems, all at once ----------------------------------------------------------------


def test_every_problem_of_a_file_is_reported(tmp_path: Path, catalog: Catalog) -> None:
    data = scenario_data(
        load={"users": 0, "rate_per_user": 5, "mix": {"studio_read": 1, "studio_delete": 1}},
        phases={"warmup": "30x", "baseline": "0s", "cooldown": "1m"},
        faults=[
            {"name": "a", "proxy": "wrk_platform", "kind": "earthquake"},
            {"name": "b", "proxy": "wrk_platform", "kind": "latency", "jitter_ms": -1},
            {"name": "c", "proxy": "wrk_platform", "kind": "outage", "latency_ms": 5},
            {"name": "d", "proxy": "wrk_platform", "kind": "outage", "hold": "forever"},
        ],
        expect={"fires": ["NoSuchAlert"], "resolves": ["ApiHigh5xxRate"], "quiet": "all"},
    )
    path = write(tmp_path, "bad.yaml", data)
    problems = problems_of([path], catalog)
    assert {p.file for p in problems} == {str(path)}
    fields = by_field(problems)
    assert fields["load.users"] == "must be from 1 to 10000, got 0"
    assert "studio_read" in fields["load.mix.studio_delete"]
    assert fields["phases.warmup"].startswith("not a duration: '30x'")
    assert fields["phases.baseline"] == "must be longer than 0s"
    assert fields["phases.cooldown"] == "unknown field (not allowed here)"
    assert fields["faults[0]"].startswith("unknown kind 'earthquake'; expected one of 'outage'")
    assert fields["faults[1].latency_ms"] == "required field is missing"
    assert fields["faults[1].jitter_ms"] == "must be from 0 to 600000, got -1"
    assert fields["faults[2].latency_ms"] == "unknown field (not allowed here)"
    assert fields["faults[3].hold"].startswith("not a duration: 'forever'")
    assert fields["expect.fires[0]"].startswith("unknown alert 'NoSuchAlert'")
    assert "ApiHigh5xxRate" in fields["expect.fires[0]"]  # names what the catalogue has
    assert fields["expect.quiet"] == "unknown field (not allowed here)"
    assert len(problems) == 12


def test_resolves_must_be_expected_to_fire(tmp_path: Path, catalog: Catalog) -> None:
    fault = {"name": "down", "proxy": "wrk_platform", "kind": "outage", "hold": "1m"}
    expect = {"fires": [], "resolves": ["ApiHigh5xxRate", "X"]}
    data = scenario_data(faults=[fault], expect=expect)
    fields = by_field(problems_of([write(tmp_path, "s.yaml", data)], catalog))
    assert set(fields) == {"expect.resolves[0]", "expect.resolves[1]"}
    assert fields["expect.resolves[0]"] == (
        "'ApiHigh5xxRate' must also be in expect.fires to be expected to resolve"
    )
    assert fields["expect.resolves[1]"].startswith("unknown alert 'X'; the catalogue has: ")


def test_problems_of_all_files_are_reported_together(tmp_path: Path, catalog: Catalog) -> None:
    good = write(tmp_path, "good.yaml", scenario_data())
    broken = write(tmp_path, "broken.yaml", "name: x\nload: {users: 1\nphases: {}\n")
    twin = write(tmp_path, "twin.yaml", scenario_data())
    missing = tmp_path / "missing.yaml"
    listing = write(tmp_path, "list.yaml", "- 1\n")
    problems = problems_of([good, broken, twin, missing, listing], catalog)
    assert [Path(p.file).name for p in problems] == [
        "broken.yaml",
        "twin.yaml",
        "missing.yaml",
        "list.yaml",
    ]
    syntax, twin_name, unreadable, not_mapping = problems
    assert syntax.field.startswith("line 3") and syntax.reason.startswith("YAML syntax error")
    assert twin_name.field == "name"
    assert twin_name.reason == f"duplicate scenario name 'wrk-platform-outage' (also {good})"
    assert unreadable.field == "(file)"
    assert not_mapping.reason == "expected a mapping at the top, got list"


def test_cross_section_rules(tmp_path: Path, catalog: Catalog) -> None:
    fault = {"name": "down", "proxy": "wrk_platform", "kind": "outage"}
    data = scenario_data(faults=[fault, fault], expect={"fires": []})
    fields = by_field(problems_of([write(tmp_path, "s.yaml", data)], catalog))
    assert fields["faults[1].name"] == "duplicate 'down'"
    assert "needs at least one alert in expect.fires" in fields["faults[0].hold"]


def test_duplicate_yaml_keys_are_reported(tmp_path: Path, catalog: Catalog) -> None:
    text = yaml.safe_dump(scenario_data(), sort_keys=False)
    text = text.replace("  warmup: 30s\n", "  warmup: 30s\n  warmup: 1m\n")
    (problem,) = problems_of([write(tmp_path, "s.yaml", text)], catalog)
    assert problem.reason == "duplicate key 'warmup'"
    assert problem.field.startswith("line ")


def test_a_bare_number_is_not_a_duration(tmp_path: Path, catalog: Catalog) -> None:
    data = scenario_data(phases={"warmup": 30, "baseline": "1m"})
    (problem,) = problems_of([write(tmp_path, "s.yaml", data)], catalog)
    assert (problem.field, problem.reason) == (
        "phases.warmup",
        "not a duration: 30 (write it with a unit, e.g. 30s, 5m)",
    )
