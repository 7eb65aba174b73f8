"""The timeline's arithmetic: no step count that grows with how small a rate or how long a phase is."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from synthpay.model.timeline import NEVER_MS, Phase, Timeline

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
YEAR_S = 31_536_000


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("curve", "rate"), [([1e-300] * 24, 1.0), ([1e-9] + [0.0] * 23, 0.001)], ids=["1e-300 each hour", "1e-9 one hour"]
)
def test_a_tiny_arrival_curve_gives_no_arrival_at_once(curve: list[float], rate: float) -> None:
    # Its next arrival is ages past the year 9999: never, found without walking the hours there.
    assert Timeline((), curve, rate, 1, START_MS).next_arrival(START_MS, 1.0) == math.inf


@pytest.mark.timeout(10)
def test_a_year_long_ramp_from_zero_is_crossed_without_walking_its_steps() -> None:
    timeline = Timeline([Phase("flat", 0, YEAR_S, rate=0, rate_end=0)], (), 1, 1, START_MS)
    assert timeline.next_arrival(START_MS, 1.0) == pytest.approx(START_MS + YEAR_S * 1000 + 1000)


@pytest.mark.timeout(10)
def test_a_slow_ramp_under_a_curve_lands_where_its_integral_reaches_the_work() -> None:
    # 0 to 0.001/s over a year, curve 1: the integral reaches 1 after sqrt(2 / slope) seconds.
    timeline = Timeline([Phase("slow", 0, YEAR_S, rate=0, rate_end=0.001)], [1.0] * 24, 1, 1, START_MS)
    expected_s = math.sqrt(2 / (0.001 / YEAR_S))
    assert timeline.next_arrival(START_MS, 1.0) == pytest.approx(START_MS + expected_s * 1000, rel=1e-6)


def test_an_arrival_past_the_year_9999_never_comes() -> None:
    timeline = Timeline((), (), 0.001, 1, NEVER_MS - 500_000)
    assert timeline.next_arrival(NEVER_MS - 500_000, 1.0) == math.inf


@pytest.mark.timeout(10)
def test_a_year_long_phase_is_rated_in_closed_form_and_bounded_memory() -> None:
    curve = [1.0 + hour % 3 for hour in range(24)]
    timeline = Timeline([Phase("year", 0, YEAR_S, rate=10, rate_end=20)], curve, 1, 1, START_MS)
    tracemalloc.start()
    try:
        mean = timeline.mean_rate(0, math.inf)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The ramp's mean (15/s) times the curve's (2): a year of whole days.
    assert (round(mean, 1), peak < 1_000_000) == (30.0, True)


def test_the_rate_outside_phases_is_averaged_over_the_gaps_between_them() -> None:
    timeline = Timeline([Phase("off", 10, 10, rate=0)], (), 4, 1, START_MS)
    assert timeline.mean_rate_outside(START_MS, START_MS + 30_000) == pytest.approx(4.0)
