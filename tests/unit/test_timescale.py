"""Durations, time scaling and budgets (harness.spec.timescale)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.spec.timescale import (
    MAX_INTERVAL_S,
    MIN_GROUP_INTERVAL_S,
    MIN_INTERVAL_S,
    MIN_SAMPLES_PER_WINDOW,
    Timing,
    budget,
    compressed_scale,
    format_duration,
    parse_duration,
)

UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
millis = st.integers(min_value=1, max_value=10**10)
scales = st.floats(min_value=0.01, max_value=10_000, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("0s", 0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "5m ", "-5m", "5 m", "five"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.0001, "1ms"), (0.25, "250ms"), (5, "5s"), (90, "90s"), (300, "5m"),
     (5400, "90m"), (3600, "1h"), (86400, "1d")],
)  # fmt: skip
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_format_duration_rejects(seconds: float) -> None:
    with pytest.raises(ValueError, match="cannot render"):
        format_duration(seconds)


@given(millis)
def test_format_then_parse_round_trips_whole_milliseconds(ms: int) -> None:
    seconds = ms / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-12)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_format_is_canonical(seconds: float) -> None:
    text = format_duration(seconds)
    assert format_duration(parse_duration(text)) == text


@given(st.dictionaries(st.sampled_from(list(UNIT_S)), st.integers(0, 1000), min_size=1))
def test_parse_sums_compound_durations(parts: dict[str, int]) -> None:
    text = "".join(f"{n}{unit}" for unit, n in parts.items())
    expected = sum(n * UNIT_S[unit] for unit, n in parts.items())
    assert parse_duration(text) == pytest.approx(expected)


@given(millis, scales)
def test_a_scaled_duration_is_written_within_half_a_millisecond(ms: int, scale: float) -> None:
    scaled = parse_duration(format_duration(parse_duration(format_duration(ms / 1000)) / scale))
    exact = ms / 1000 / scale
    assert scaled >= 0.001  # a positive window never collapses to [0s]
    # A relative epsilon: at millions of seconds a float cannot hold the half millisecond exactly.
    assert abs(scaled - exact) <= 0.0005 + 1e-12 * max(1.0, exact) or (
        exact < 0.001 and scaled == 0.001
    )


def test_scaled_duration_examples() -> None:
    def scaled(text: str, scale: float) -> str:
        return format_duration(parse_duration(text) / scale)

    assert scaled("5m", 60) == "5s"
    assert scaled("10m", 60) == "10s"
    assert scaled("5m", 1) == "5m"
    assert scaled("0s", 60) == "0s"


@given(scales, st.floats(min_value=1, max_value=86400))
def test_timing_keeps_enough_samples_per_window(scale: float, window_s: float) -> None:
    timing = Timing.for_scale(scale, window_s)
    assert MIN_INTERVAL_S <= timing.scrape_interval_s <= MAX_INTERVAL_S
    assert timing.group_interval_s >= MIN_GROUP_INTERVAL_S
    clamped = timing.scrape_interval_s in (MIN_INTERVAL_S, MAX_INTERVAL_S)
    samples = window_s / scale / timing.scrape_interval_s
    assert clamped or samples >= MIN_SAMPLES_PER_WINDOW


@given(scales, st.floats(min_value=1, max_value=3600), st.floats(min_value=0, max_value=3600))
def test_budget_covers_window_and_for(scale: float, window_s: float, for_s: float) -> None:
    timing = Timing.for_scale(scale, window_s)
    b = budget(timing, window_s, for_s)
    assert b.floor_s == pytest.approx(for_s / scale)
    assert b.budget_s >= b.floor_s + window_s / scale - 0.001
    assert b.resolve_budget_s >= window_s / scale - 0.001


def test_budget_at_scale_60_for_the_5xx_alert() -> None:
    timing = Timing.for_scale(60, 300)
    assert timing.scrape_interval_s == 0.625
    b = budget(timing, 300, 300)
    # 5 s window + 5 s for + scrape + 2 evals (1.875 s) + group wait 0 + group interval 0.625
    assert (b.floor_s, b.budget_s, b.resolve_budget_s) == (5.0, 12.5, 7.5)


# -- per-alert compression ------------------------------------------------------------------

SIX_HOURS, THREE_DAYS = 6 * 3600, 3 * 86400


def test_compressed_scale_of_the_3_day_alerts_at_scale_60() -> None:
    # 6h / (8 samples x 0.625 s) = 4320, snapped down to 4000 (one minute = 15 ms).
    assert compressed_scale(60, [THREE_DAYS, SIX_HOURS], 0.625) == 4000
    assert format_duration(SIX_HOURS / 4000) == "5400ms"  # 8.64 samples of 0.625 s
    assert format_duration(THREE_DAYS / 4000) == "64800ms"


@pytest.mark.parametrize(
    ("run_scale", "windows", "interval", "expected"),
    [
        (1, [THREE_DAYS, SIX_HOURS], 15.0, 1),  # production is never compressed
        (0.5, [THREE_DAYS], 15.0, 0.5),  # nor is a slowed-down run
        (60, [300], 0.625, 60),  # a 5m window already holds 8 samples at scale 60
        (60, [], 0.625, 60),  # nothing to compress
        (30, [SIX_HOURS], 1.25, 2000),  # 2160 snapped to a whole number of ms per minute
    ],
)
def test_compressed_scale_examples(
    run_scale: float, windows: list[float], interval: float, expected: float
) -> None:
    assert compressed_scale(run_scale, windows, interval) == expected


@given(
    st.floats(min_value=1.01, max_value=1000),
    st.lists(st.integers(min_value=60, max_value=30 * 86400), min_size=1, max_size=4),
    st.floats(min_value=MIN_INTERVAL_S, max_value=MAX_INTERVAL_S),
)
def test_compressed_scale_keeps_samples_and_whole_milliseconds(
    run_scale: float, windows: list[int], interval: float
) -> None:
    scale = compressed_scale(run_scale, windows, interval)
    assert scale >= run_scale
    if scale > run_scale:  # compressed: integer, exact on whole minutes, enough samples
        assert scale == int(scale) and 60_000 % (60_000 / scale) == 0
        assert min(windows) / scale / interval >= MIN_SAMPLES_PER_WINDOW


def test_timing_at_another_scale_keeps_the_intervals() -> None:
    timing = Timing.for_scale(60, 300)
    own = timing.at_scale(4000)
    assert own.time_scale == 4000
    assert (own.scrape_interval_s, own.eval_interval_s) == (0.625, 0.625)
    assert timing.at_scale(60) is timing
    # The ticket alerts' budget at scale 4000: 64.8 s window + scrape + 2 evals + interval.
    assert budget(own, THREE_DAYS, 0).budget_s == 67.3
