"""Durations, time scaling and budgets (harness.timescale)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.timescale import (
    MAX_INTERVAL_S,
    MIN_GROUP_INTERVAL_S,
    MIN_INTERVAL_S,
    MIN_SAMPLES_PER_WINDOW,
    Timing,
    budget,
    format_duration,
    parse_duration,
    scale_duration,
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
def test_scale_duration_divides_within_half_a_millisecond(ms: int, scale: float) -> None:
    scaled = parse_duration(scale_duration(format_duration(ms / 1000), scale))
    exact = ms / 1000 / scale
    assert scaled >= 0.001  # a positive window never collapses to [0s]
    assert abs(scaled - exact) <= 0.0005 + 1e-9 or (exact < 0.001 and scaled == 0.001)


def test_scale_duration_examples() -> None:
    assert scale_duration("5m", 60) == "5s"
    assert scale_duration("10m", 60) == "10s"
    assert scale_duration("5m", 1) == "5m"
    assert scale_duration("0s", 60) == "0s"


@pytest.mark.parametrize("scale", [0, -1])
def test_scale_duration_rejects_non_positive_scale(scale: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        scale_duration("5m", scale)


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
