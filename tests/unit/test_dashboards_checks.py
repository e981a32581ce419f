"""Dashboard checks (harness.checks.dashboards): has data, moves; both can fail."""

from __future__ import annotations

from harness.checks.dashboards import (
    HAS_DATA,
    MOVES,
    Windows,
    dashboard_checks,
    moved,
    panel_has_data,
    panel_moves,
)
from harness.dashboards.expect import Direction, Move
from harness.dashboards.plan import DashboardPlan, PanelPlan
from harness.observe.series import CapturedSeries, SeriesPoints, SeriesSpec

WINDOWS = Windows(baseline_start=100.0, baseline_end=110.0, fault_start=110.0, fault_end=120.0)
UP = Move(direction=Direction.UP, ratio=2.0)


def spec(key: str, expr: str = "sum(rate(x[5s]))") -> SeriesSpec:
    return SeriesSpec(key, "5xx by route", expr, "panel")


def panel(*keys: str) -> PanelPlan:
    queries = tuple(spec(k) for k in keys or ("api/5xx-by-route",))
    return PanelPlan("api/5xx-by-route", "API health", "5xx by route", queries)


def captured(
    key: str, values: dict[float, float], error: str | None = None, labels: int = 1
) -> CapturedSeries:
    sets = tuple(
        SeriesPoints({"route": f"/r{i}"}, tuple(sorted(values.items()))) for i in range(labels)
    )
    return CapturedSeries(spec(key), 90.0, 130.0, 1.0, () if error else sets, error)


def by_key(*series: CapturedSeries) -> dict[str, CapturedSeries]:
    return {c.spec.key: c for c in series}


def steps(before: float, after: float) -> dict[float, float]:
    return {float(t): (before if t < 110 else after) for t in range(100, 121)}


def test_a_panel_with_samples_in_the_baseline_has_data() -> None:
    check = panel_has_data(
        "s", panel(), by_key(captured("api/5xx-by-route", steps(0, 0), labels=3)), WINDOWS
    )
    assert check.passed
    assert check.kind == HAS_DATA
    assert check.id == "s::dashboard_panel_has_data::api/5xx-by-route"
    assert 'dashboard "API health" panel "5xx by route"' in check.message
    assert "saw 3 series" in check.message


def test_an_empty_panel_fails_naming_its_title_and_query() -> None:
    outside = captured("api/5xx-by-route", {50.0: 1.0, 125.0: 1.0})  # samples, none in baseline
    check = panel_has_data("s", panel(), by_key(outside), WINDOWS)
    assert not check.passed
    assert '"5xx by route"' in check.message
    assert "returned no samples" in check.message
    assert "sum(rate(x[5s]))" in check.message


def test_a_failed_or_missing_query_fails_the_panel() -> None:
    broken = captured("api/5xx-by-route", {}, error="bad_data: parse error")
    failed = panel_has_data("s", panel(), by_key(broken), WINDOWS)
    assert not failed.passed
    assert "failed: bad_data: parse error" in failed.message
    two = panel("api/x/A", "api/x/B")
    partial = panel_has_data("s", two, by_key(captured("api/x/A", steps(1, 1))), WINDOWS)
    assert not partial.passed
    assert "was not captured" in partial.message


def test_a_panel_rising_from_zero_moves_up() -> None:
    check = panel_moves(
        "s", panel(), UP, by_key(captured("api/5xx-by-route", steps(0, 3))), WINDOWS
    )
    assert check.passed
    assert check.kind == MOVES
    assert "0 -> 3" in check.message
    assert "x inf" in check.message


def test_a_flat_panel_does_not_move_and_says_what_it_saw() -> None:
    check = panel_moves(
        "s", panel(), UP, by_key(captured("api/5xx-by-route", steps(2, 3))), WINDOWS
    )
    assert not check.passed  # x 1.5 < x 2
    assert 'panel "5xx by route"' in check.message
    assert "expected its total to rise by x 2 or more" in check.message
    assert "saw 2 -> 3 (x 1.5)" in check.message


def test_the_total_adds_every_series_of_the_panel() -> None:
    # 3 routes each 1 -> 1.5: per series x 1.5, and the total too.
    check = panel_moves(
        "s", panel(), UP, by_key(captured("api/5xx-by-route", steps(1, 1.5), labels=3)), WINDOWS
    )
    assert "saw 3 -> 4.5" in check.message


def test_moves_down_and_without_a_fault() -> None:
    down = Move(direction=Direction.DOWN, ratio=2.0)
    assert moved(10.0, 4.0, down)
    assert not moved(10.0, 6.0, down)
    assert not moved(0.0, 0.0, UP)
    no_fault = Windows(100.0, 110.0, None, None)
    check = panel_moves(
        "s", panel(), UP, by_key(captured("api/5xx-by-route", steps(0, 3))), no_fault
    )
    assert not check.passed
    assert "the scenario had no fault" in check.message


def test_moves_without_samples_fails() -> None:
    check = panel_moves("s", panel(), UP, by_key(captured("api/5xx-by-route", {})), WINDOWS)
    assert not check.passed
    assert "no samples" in check.message


def test_one_check_per_panel_of_the_plan() -> None:
    plan = DashboardPlan(
        panels=(panel(),), have_data=("api/5xx-by-route",), moves=(("api/5xx-by-route", UP),)
    )
    checks = dashboard_checks("s", plan, [captured("api/5xx-by-route", steps(0, 3))], WINDOWS)
    assert [c.kind for c in checks] == [HAS_DATA, MOVES]
    assert all(c.passed for c in checks)


def by_queue(key: str, values: dict[str, dict[float, float]]) -> CapturedSeries:
    sets = tuple(SeriesPoints({"queue": q}, tuple(sorted(v.items()))) for q, v in values.items())
    return CapturedSeries(spec(key), 90.0, 130.0, 1.0, sets)


EACH = Move(each={"queue": ("build-requests", "notifications")})


def test_each_value_is_judged_on_its_own() -> None:
    # build-requests rises enough to lift the total x 2; notifications stays flat.
    series = by_queue(
        "api/5xx-by-route", {"build-requests": steps(1, 10), "notifications": steps(1, 1)}
    )
    plan = DashboardPlan(panels=(panel(),), have_data=(), moves=(("api/5xx-by-route", EACH),))
    checks = dashboard_checks("s", plan, [series], WINDOWS)
    assert [c.id for c in checks] == [
        "s::dashboard_panel_moves::api/5xx-by-route[queue=build-requests]",
        "s::dashboard_panel_moves::api/5xx-by-route[queue=notifications]",
    ]
    rose, flat = checks
    assert rose.passed and "1 -> 10" in rose.message
    assert not flat.passed
    assert "queue=notifications expected to rise" in flat.message
    assert "did not move: 1 -> 1" in flat.message


def test_a_value_without_series_fails_naming_it() -> None:
    series = by_queue("api/5xx-by-route", {"build-requests": steps(0, 3)})
    plan = DashboardPlan(panels=(panel(),), have_data=(), moves=(("api/5xx-by-route", EACH),))
    _, missing = dashboard_checks("s", plan, [series], WINDOWS)
    assert not missing.passed
    assert "queue=notifications" in missing.message
    assert "has no series for it" in missing.message


def test_every_query_must_move_for_the_value() -> None:
    # A counter query rises, the gauge query of the same panel stays at 0: not moved.
    two = panel("api/x/A", "api/x/B")
    gauge = by_queue("api/x/A", {"build-requests": steps(0, 0)})
    counter = by_queue("api/x/B", {"build-requests": steps(0, 5)})
    move = Move(each={"queue": ("build-requests",)})
    plan = DashboardPlan(panels=(two,), have_data=(), moves=(("api/5xx-by-route", move),))
    (check,) = dashboard_checks("s", plan, [gauge, counter], WINDOWS)
    assert not check.passed
    assert check.message.index("did not move: 0 -> 0") < check.message.index("moved: 0 -> 5")
