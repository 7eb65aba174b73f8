"""The arrival processes alone, driven tick by tick as the scheduler drives them."""

from __future__ import annotations

import random

import pytest

from synthpay.config.settings import Arrivals as Spacing
from synthpay.engine.arrivals import MAX_BACKLOG, start_arrivals
from synthpay.model.timeline import Phase, Timeline

START = 1_700_000_000_000


def test_constant_arrivals_are_due_one_gap_apart() -> None:
    process = start_arrivals(1000.0, "constant", None, random.Random(1), START)
    assert process.arrive(START) == START + 1
    assert process.arrive(START + 10) == START + 11
    assert process.pending == 11


@pytest.mark.parametrize("spacing", ["constant", "poisson"])
def test_the_next_tick_is_after_the_one_counted(spacing: Spacing) -> None:
    process = start_arrivals(1e9, spacing, None, random.Random(1), START)
    assert process.arrive(START) == START + 1


def test_poisson_arrivals_average_the_rate() -> None:
    process = start_arrivals(100.0, "poisson", None, random.Random(1), START)
    due, ticks = START, 0
    while due < START + 100_000:
        next_ms = process.arrive(due)
        assert next_ms is not None
        due, ticks = next_ms, ticks + 1
    assert ticks > 1_000  # the 100 s were walked arrival by arrival
    assert 9_500 < process.pending < 10_500  # 10,000 expected, sd 100


@pytest.mark.parametrize("spacing", ["constant", "poisson"])
def test_a_rate_whose_gap_is_out_of_range_arrives_once(spacing: Spacing) -> None:
    process = start_arrivals(5e-324, spacing, None, random.Random(1), START)
    assert process.arrive(START) is None
    assert process.pending == 1


def test_the_backlog_stops_counting_at_its_cap() -> None:
    process = start_arrivals(1e300, "constant", None, random.Random(1), START)
    process.arrive(START + 1000)
    process.arrive(START + 2000)
    assert process.pending == MAX_BACKLOG


def test_on_a_timeline_arrivals_follow_the_phase_rate() -> None:
    timeline = Timeline([Phase("peak", at_s=1, duration_s=1, rate=5000.0)], (), 1000.0, 1, START)
    process = start_arrivals(1000.0, "constant", timeline, random.Random(1), START)
    for due in range(START, START + 1000):
        process.arrive(due)
    before = process.pending
    for due in range(START + 1000, START + 2000):
        process.arrive(due)
    assert before == 1000
    assert process.pending - before == pytest.approx(5000, abs=5)  # the gaps are summed in floats
