"""The admission pace: a token bucket filled at the measured cost of a start plus an event."""

from __future__ import annotations

import pytest

from synthpay.engine.pacing import Pace


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_bucket_starts_full_and_empties_as_payments_start() -> None:
    now = FakeTime()
    pace = Pace(1000, now)
    assert pace.allowance() == 1000
    pace.admitted(1000, 0.004)
    assert pace.allowance() == 0


def test_before_any_event_emitting_is_taken_to_cost_what_starting_does() -> None:
    now = FakeTime()
    pace = Pace(1000, now)
    pace.admitted(1000, 0.004)  # 4 µs a start
    assert pace.cost_s() == pytest.approx(8e-6)
    now.t += 0.004
    assert pace.allowance() == 500


def test_it_fills_at_one_start_per_start_plus_event_cost() -> None:
    now = FakeTime()  # costs in binary fractions of a second, so the sums are exact
    pace = Pace(1000, now)
    pace.admitted(1000, 1000 * 2**-18)
    pace.emitted(2000, 2000 * 2**-17)
    assert pace.cost_s() == 3 * 2**-18
    now.t += 300 * 3 * 2**-18
    assert pace.allowance() == 300
    pace.admitted(300, 300 * 2**-18)
    now.t += 100 * 3 * 2**-18
    assert pace.allowance() == 100


def test_a_quiet_spell_lets_through_no_more_than_the_depth() -> None:
    now = FakeTime()
    pace = Pace(1000, now)
    pace.admitted(1000, 0.003)
    pace.emitted(1000, 0.005)
    now.t += 60.0
    assert pace.allowance() == 1000


def test_the_costs_are_weighted_averages() -> None:
    now = FakeTime()
    pace = Pace(10, now)
    pace.admitted(10, 0.0001)  # 10 µs
    pace.admitted(10, 0.0003)  # 30 µs
    pace.emitted(10, 0.0002)  # 20 µs
    pace.emitted(30, 0.0002)  # ~6.7 µs
    # Two measurements each: close to the plain averages, the later one counting a little more.
    assert pace.cost_s() == pytest.approx(0.0004 / 20 + 0.0004 / 40, rel=1e-3)
    assert pace.cost_s() > 0.0004 / 20 + 0.0004 / 40


def test_recent_costs_outweigh_old_ones() -> None:
    now = FakeTime()
    pace = Pace(1000, now)
    for _ in range(10_000):  # a long trickle: 50 µs a start, 20 µs an event
        pace.admitted(1, 50e-6)
        pace.emitted(2, 40e-6)
    for _ in range(10_000):  # then a busy spell: 3 µs a start, 5 µs an event
        pace.admitted(100, 300e-6)
        pace.emitted(200, 1000e-6)
    assert pace.cost_s() == pytest.approx(8e-6, rel=0.01)
