"""fault_effective: each fault kind states the signal it must move; a fault moving none fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.checks.dashboards import Windows
from harness.checks.fault_effect import EffectProbe, Window, acted, fault_effective
from harness.dashboards.expect import Direction
from harness.errors import ConfigError
from harness.observe.series import CapturedSeries, SeriesPoints, SeriesSpec
from harness.run.plan import EFFECT_WINDOW_SCRAPES, build_plan
from harness.spec.catalog import Catalog, load_catalog
from harness.spec.effects import Signal
from harness.spec.fault_effects import stated_effect
from harness.spec.scenario import load_scenario
from harness.spec.timescale import Timing, format_duration

T0 = 1_800_000_000.0
WINDOWS = Windows(T0 + 10, T0 + 20, T0 + 20, T0 + 40)
SPEC = SeriesSpec("effect/f", "effect of fault f", "sum(rate(x[1s]))", "fault")
UP, DOWN = Direction.UP, Direction.DOWN


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _series(baseline: float, fault: float, spec: SeriesSpec = SPEC) -> CapturedSeries:
    points = tuple(
        (T0 + t, fault if WINDOWS.fault_start <= T0 + t <= (WINDOWS.fault_end or 0) else baseline)
        for t in range(0, 46)
    )
    return CapturedSeries(spec, T0, T0 + 45, 1.0, (SeriesPoints({}, points),))


def _check(probe: EffectProbe, captured: CapturedSeries | None) -> Any:
    found = {SPEC.key: captured} if captured is not None else {}
    return fault_effective("s", probe, found, WINDOWS)


def test_the_rules_a_signal_must_follow() -> None:
    quiet, noisy = Window(0.0, 0.0), Window(1.0, 1.2)
    assert acted(quiet, Window(0.05, 0.2), UP, None) and not acted(quiet, quiet, UP, None)
    # A rise is judged at the fault's peak against the baseline's peak (noise is no effect) ...
    assert not acted(noisy, Window(1.0, 1.7), UP, None) and acted(noisy, Window(1, 1.8), UP, None)
    # ... or, when the change is stated, against the baseline's mean.
    assert acted(Window(20, 24), Window(22, 30), UP, 10.0)
    assert not acted(Window(20, 24), Window(22, 29), UP, 10.0)
    # A fall is judged on the means: it must last.
    assert acted(Window(4, 5), Window(2, 4), DOWN, None)
    assert not acted(Window(4, 5), Window(2.5, 2.5), DOWN, None)
    assert not acted(quiet, quiet, DOWN, None)  # nothing flowed before: proves nothing


def test_a_late_effect_counts_at_its_peak() -> None:
    """Extra load that started late in a short fault window still shows."""
    late = _series(20.0, 20.0)
    points = tuple((t, v + 20.0 if t > T0 + 35 else v) for t, v in late.sets[0].points)
    found = CapturedSeries(SPEC, T0, T0 + 45, 1.0, (SeriesPoints({}, points),))
    probe = EffectProbe("key-guessing", "extra load (bad_key)", SPEC, at_least=10.0)
    check = _check(probe, found)
    assert check.passed, check.message
    assert "a mean of 20 (peak 20) in the baseline, a peak of 40 in the fault window" in (
        check.message
    )


def test_an_effective_fault_passes_and_says_what_moved() -> None:
    probe = EffectProbe("platform-503s", "PUT platform/admin/faults", SPEC)
    check = _check(probe, _series(0.0, 0.3))
    assert check.passed and check.id == "s::fault_effective::platform-503s"
    assert check.message.startswith("fault platform-503s (PUT platform/admin/faults) acted:")
    assert "a peak of 0.3 in the fault window" in check.message


def test_a_fault_with_no_visible_effect_fails_naming_the_fault() -> None:
    probe = EffectProbe("platform-503s", "PUT platform/admin/faults", SPEC)
    check = _check(probe, _series(0.0, 0.0))
    assert not check.passed
    assert check.message.startswith("fault platform-503s (PUT platform/admin/faults) showed no")
    assert "expected sum(rate(x[1s])) to rise to x1.5 its baseline peak or more" in check.message


@pytest.mark.parametrize(
    ("captured", "why"),
    [
        (None, "not captured"),
        (CapturedSeries(SPEC, T0, T0 + 45, 1.0, error="connection refused"), "connection refused"),
        (CapturedSeries(SPEC, T0, T0 + 45, 1.0, ()), "no samples in the baseline or the fault"),
    ],
)
def test_a_signal_that_cannot_be_read_fails(captured: CapturedSeries | None, why: str) -> None:
    check = _check(EffectProbe("f", "outage of proxy x", SPEC), captured)
    assert not check.passed and why in check.message


def test_a_fault_without_a_signal_fails_with_the_reason() -> None:
    check = _check(EffectProbe("f", "outage of proxy x", None, missing="nothing declared"), None)
    assert not check.passed and "no effect to check: nothing declared" in check.message


def _fault(**fields: Any) -> Any:
    data = {
        "name": "s",
        "description": "d",
        "load": {"users": 2, "rate_per_user": 5, "mix": {"studio_read": 1}},
        "phases": {"warmup": "1m", "baseline": "1m"},
        "faults": [{"name": "f", "hold": "5m", **fields}],
        "expect": {},
    }
    return data


def _load(tmp_path: Path, catalog: Catalog, **fields: Any) -> Any:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_fault(**fields), sort_keys=False))
    return load_scenario(path, catalog)


def test_each_fault_kind_states_its_signal(tmp_path: Path, catalog: Catalog) -> None:
    def effect(**fields: Any) -> Signal:
        signal = stated_effect(_load(tmp_path, catalog, **fields).faults[0], catalog)
        assert isinstance(signal, Signal), signal
        return signal

    outage = effect(kind="outage", proxy="wrk_platform")
    assert 'wrk_platform_calls_total{outcome="failure"}' in outage.query
    slow = effect(kind="latency", proxy="postgres", latency_ms=1200)
    assert "db_query_duration_seconds_sum" in slow.query and slow.at_least == 0.6
    cut = effect(kind="outage", proxy="redis_workers")
    assert cut.direction is Direction.DOWN and "worker_job_count_total" in cut.query
    lever = {"service": "platform", "method": "PUT", "path": "/admin/faults", "json": {}}
    assert effect(kind="http", apply=lever).query == outage.query  # the platform's answers
    load = effect(kind="load", users=2, rate_per_user=10, mix={"bad_key": 1})
    assert load.query == 'sum(rate(http_request_count_total{job="edge"}[{{window}}]))'
    assert load.at_least == 5  # a quarter of the 20 requests/s planned


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "outage", "proxy": "redis"}, "no `failing` signal for dependency 'redis'"),
        (
            {"kind": "http", "apply": {"service": "edge", "method": "POST", "path": "/x"}},
            "no dependency served by edge",
        ),
        (
            {"kind": "load", "service": "platform", "users": 1, "rate_per_user": 1,
             "mix": {"bad_key": 1}},
            "service 'platform' does not expose http_request_count_total",
        ),
    ],
)  # fmt: skip
def test_a_fault_nothing_could_show_acting_is_refused_when_loaded(
    tmp_path: Path, catalog: Catalog, fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, catalog, **fields)
    (problem,) = caught.value.problems
    assert problem.field == "faults[0].effect" and reason in problem.reason


def test_a_stated_effect_wins_and_is_checked_against_the_contract(
    tmp_path: Path, catalog: Catalog
) -> None:
    lever = {"service": "edge", "method": "POST", "path": "/x"}
    own = {"query": 'sum(client_health_status{status="Churn Risk"})', "at_least": 1}
    scenario = _load(tmp_path, catalog, kind="http", apply=lever, effect=own)
    assert stated_effect(scenario.faults[0], catalog) == scenario.faults[0].effect
    with pytest.raises(ConfigError, match=r"not declared in metrics\.yaml: no_such_series"):
        _load(tmp_path, catalog, kind="http", apply=lever, effect={"query": "no_such_series"})


def test_the_plan_reads_each_faults_signal_over_a_short_window(
    tmp_path: Path, catalog: Catalog
) -> None:
    scenario = _load(tmp_path, catalog, kind="outage", proxy="wrk_platform")
    timing = Timing.for_scale(60, catalog.shortest_window_s())
    plan = build_plan(scenario, catalog, timing)
    (probe,) = plan.effects
    assert probe.series is not None and probe.series in plan.captured
    window = format_duration(EFFECT_WINDOW_SCRAPES * timing.scrape_interval_s)
    assert f"[{window}]" in probe.series.expr and "{{" not in probe.series.expr
    assert probe.where == "outage of proxy wrk_platform"
    assert build_plan(scenario, catalog, timing, without_faults=True).effects == ()


def test_an_effect_the_signal_shows_only_as_the_fault_ends_counts_within_its_lag() -> None:
    """A gauge read at the last scrape before the fault's removal (an alert firing on the first
    evaluation ends the fault at once): the sample lands just after the fault window."""
    assert WINDOWS.fault_end is not None
    points = tuple((T0 + t, 1.0 if WINDOWS.fault_end <= T0 + t < WINDOWS.fault_end + 1 else 0.0)
                   for t in range(0, 46))  # fmt: skip
    found = CapturedSeries(SPEC, T0, T0 + 45, 1.0, (SeriesPoints({}, points),))
    probe = EffectProbe("top-client-churns", "PATCH edge/v1/admin/clients", SPEC, at_least=0.5)
    assert not _check(probe, found).passed  # without the lag: outside the fault window
    lagging = EffectProbe(probe.fault, probe.where, SPEC, at_least=0.5, lag_s=1.5)
    assert _check(lagging, found).passed


def test_a_fall_is_not_spoiled_by_the_burst_after_the_fault() -> None:
    """Run events held back by an outage arrive at once when it ends: inside the lag, the
    burst would lift the fault window's mean above half the baseline's."""
    assert WINDOWS.fault_end is not None
    end = WINDOWS.fault_end

    def value(t: float) -> float:
        if t < WINDOWS.baseline_end or t >= end + 3:
            return 5.0
        return 0.0 if t < end else 40.0  # the burst of retried deliveries

    points = tuple((T0 + t, value(T0 + t)) for t in range(0, 46))
    found = CapturedSeries(SPEC, T0, T0 + 45, 1.0, (SeriesPoints({}, points),))
    probe = EffectProbe("cut", "outage of proxy webhook", SPEC, Direction.DOWN, lag_s=3.0)
    assert _check(probe, found).passed
