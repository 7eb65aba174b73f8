"""Fitting the five delay families: what the engine draws is recognised, with its parameters."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy import stats

from synthpay.calibrate.families import SIMPLICITY, FamilyFit, fit_families, near_tie
from synthpay.model import goodness
from synthpay.model.delays import PARAMETERS, Delay, check

DRAWN = {
    "uniform": Delay("uniform", (100.0, 300.0)),
    "exponential": Delay("exponential", (400.0,)),
    "lognormal": Delay("lognormal", (800.0, 5000.0)),
    "normal": Delay("normal", (200.0, 150.0)),
    "normal far from 0": Delay("normal", (3000.0, 500.0)),
}


def drawn(delay: Delay, n: int = 50_000, seed: int = 11) -> list[int]:
    """What the engine would draw: the status's quantile table, from a seeded RNG."""
    rng, table = random.Random(seed), delay.table()
    return [table.draw(rng) for _ in range(n)]


@pytest.mark.parametrize("name", list(DRAWN))
def test_the_drawn_family_wins_with_its_parameters(name: str) -> None:
    delay = DRAWN[name]
    best = fit_families(drawn(delay))[0]
    assert best.delay.dist == delay.dist
    assert best.ks <= 0.01
    assert best.delay.params == pytest.approx(delay.params, rel=0.03)


def test_a_normal_truncated_hard_at_zero_is_still_a_normal() -> None:
    delay = Delay("normal", (50.0, 200.0))  # 40% of its mass below 0, truncated away
    best = fit_families(drawn(delay))[0]
    assert best.delay.dist == "normal" and best.ks <= 0.01
    # The mean of a normal truncated this hard is weakly determined; the spread is not.
    assert best.delay.params[1] == pytest.approx(200.0, rel=0.03)
    assert best.delay.params[0] == pytest.approx(50.0, abs=15.0)


def test_a_fixed_delay_is_fixed() -> None:
    fits = fit_families([250.0] * 1000)
    assert fits[0] == FamilyFit(Delay("fixed", (250.0,)), 0.0)


def test_nearly_fixed_is_fixed() -> None:
    nearly = [250.0] * 995 + [251.0] * 5
    assert fit_families(nearly)[0].delay == Delay("fixed", (250.0,))


def test_fixed_with_a_tail_is_fixed_its_ks_the_tail_s_share() -> None:
    # A fixed step seen through a step missing before it: 2% of gaps span two delays.
    best = fit_families([2000.0] * 980 + [3000.0 + i for i in range(20)])[0]
    assert best.delay == Delay("fixed", (2000.0,))
    assert best.ks == pytest.approx(0.02)


def test_spread_with_no_value_half_the_time_is_not_fixed() -> None:
    spread = [250.0] * 400 + [251.0 + i for i in range(600)]
    assert "fixed" not in {f.delay.dist for f in fit_families(spread)}


def test_every_fit_reports_its_ks_and_the_rest_follow_by_ks() -> None:
    fits = fit_families(drawn(DRAWN["lognormal"], 5000))
    assert {f.delay.dist for f in fits} == {"exponential", "uniform", "normal", "lognormal"}
    assert [f.ks for f in fits[1:]] == sorted(f.ks for f in fits[1:])
    for fit in fits:
        histogram: dict[int, int] = {}
        for value in drawn(DRAWN["lognormal"], 5000):
            histogram[value] = histogram.get(value, 0) + 1
        # The same statistic verify judges a run by.
        assert fit.ks == pytest.approx(goodness.ks_statistic(fit.delay, histogram), abs=1e-12)


def test_a_near_tie_goes_to_the_simpler_family() -> None:
    # An exponential with a tiny mean: every family that has a mass near 0 looks alike.
    fits = fit_families([0.0] * 60 + [1.0] * 30 + [2.0] * 10)
    best = fits[0]
    close = [f for f in fits if f.ks <= min(g.ks for g in fits) + near_tie(100)]
    assert best.delay.dist == min((f.delay.dist for f in close), key=SIMPLICITY.index)


def test_amounts_are_fitted_at_cent_resolution() -> None:
    rng = random.Random(5)
    amounts = [round(rng.lognormvariate(3.0, 0.8), 2) for _ in range(50_000)]
    best = fit_families(amounts, resolution=0.01)[0]
    assert best.delay.dist == "lognormal" and best.ks <= 0.01
    median = stats.lognorm(0.8, scale=20.085536923187668).median()
    assert best.delay.params[0] == pytest.approx(median, rel=0.03)


def test_zeros_do_not_stop_a_lognormal() -> None:
    values = drawn(Delay("lognormal", (10.0, 200.0)))
    assert values.count(0) > 100
    best = fit_families(values)[0]
    assert best.delay.dist == "lognormal" and best.ks <= 0.01


@given(
    st.lists(st.integers(0, 10_000).map(float), min_size=1, max_size=200)
    | st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200)
)
@hsettings(max_examples=200, deadline=None)
def test_any_sample_gets_a_valid_fit(values: list[float]) -> None:
    fits = fit_families(values)
    assert fits
    assert all(0.0 <= f.ks <= 1.0 for f in fits)
    # Each is a distribution the configuration accepts.
    assert all(min(f.delay.params) >= 0 for f in fits)
    assert [check(f.delay.dist, dict(zip(PARAMETERS[f.delay.dist], f.delay.params))) for f in fits] == [""] * len(fits)


@pytest.mark.parametrize(
    ("values", "resolution", "message"),
    [([], 1.0, "no values"), ([1.0, -3.0], 1.0, "values must be >= 0"), ([1.0], 0.0, "resolution")],
)
def test_bad_input_is_refused(values: list[float], resolution: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_families(values, resolution)
