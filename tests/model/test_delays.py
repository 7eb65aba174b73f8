"""A drawn delay's support: no draw, however its parameters and phase scale combine, is longer than MAX_MS."""

from __future__ import annotations

from synthpay.model.delays import MAX_MS, Delay

DAY_MS = 86_400_000.0


def test_a_lognormal_with_an_age_long_tail_draws_at_most_the_longest_delay() -> None:
    # Median 0.001 ms, p99 one day: its top level was about 37,000 years.
    delay = Delay("lognormal", (0.001, DAY_MS))
    assert (max(delay.table().ms), delay.support(), delay.cdf(MAX_MS)) == (MAX_MS, (0, MAX_MS), 1.0)


def test_a_scaled_exponential_is_cut_at_the_longest_delay() -> None:
    delay = Delay("exponential", (DAY_MS,)).scaled(1000.0)
    assert (max(delay.table().ms), delay.quantile(0.999999)) == (MAX_MS, MAX_MS)


def test_a_delay_within_the_bound_draws_as_before() -> None:
    delay = Delay("lognormal", (800.0, 5000.0))
    assert (delay.table().ms[4096], max(delay.table().ms) < 60_000) == (800, True)
