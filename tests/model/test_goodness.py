"""Goodness of fit: the statistics and tails agree with scipy's (a test-only dependency)."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy import stats

from synthpay.model import goodness
from synthpay.model.delays import Delay


def scipy_d(a: list[float], b: list[float]) -> float:
    """scipy's two-sample D (its p-value, not asked for here, warns on samples of one)."""
    with np.errstate(divide="ignore"):
        return float(stats.ks_2samp(a, b, method="asymp").statistic)


SAMPLES = st.lists(st.integers(0, 40).map(float), min_size=1, max_size=300)


@given(SAMPLES, SAMPLES)
@hsettings(max_examples=300, deadline=None)
def test_two_sample_statistic_is_scipys_with_ties(a: list[float], b: list[float]) -> None:
    # Small integers: nearly every value is tied, within and across the samples.
    assert goodness.ks_two_sample(a, b) == pytest.approx(scipy_d(a, b), abs=1e-12)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
)
@hsettings(max_examples=200, deadline=None)
def test_two_sample_statistic_is_scipys_on_floats(a: list[float], b: list[float]) -> None:
    assert goodness.ks_two_sample(a, b) == pytest.approx(scipy_d(a, b), abs=1e-12)


def test_two_sample_statistic_of_a_sample_with_itself_is_zero() -> None:
    sample = [random.Random(1).expovariate(1.0) for _ in range(1000)]
    assert goodness.ks_two_sample(sample, list(reversed(sample))) == 0.0


def test_two_sample_statistic_needs_two_samples() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        goodness.ks_two_sample([], [1.0])


@given(st.floats(0.001, 5.0))
@hsettings(max_examples=300, deadline=None)
def test_kolmogorov_tail_is_scipys(x: float) -> None:
    assert goodness.kolmogorov_sf(0.0) == 1.0
    assert goodness.kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-9, abs=1e-14)


@given(st.floats(0.0, 1.0), st.integers(1, 100_000), st.integers(1, 100_000))
@hsettings(max_examples=300, deadline=None)
def test_two_sample_p_value_is_the_kolmogorov_tail_at_the_effective_size(d: float, n: int, m: int) -> None:
    expected = stats.kstwobign.sf(d * math.sqrt(n * m / (n + m)))
    assert goodness.ks_p_value(d, n, m) == pytest.approx(expected, rel=1e-9, abs=1e-14)


def test_p_value_of_large_samples_is_near_scipys_asymptotic_test() -> None:
    rng = random.Random(4)
    a = [rng.gauss(0, 1) for _ in range(4000)]
    b = [rng.gauss(0.05, 1) for _ in range(3000)]
    d = goodness.ks_two_sample(a, b)
    assert goodness.ks_p_value(d, len(a), len(b)) == pytest.approx(
        stats.ks_2samp(a, b, method="asymp").pvalue, rel=0.05
    )


def test_one_sample_p_value_uses_the_sample_size() -> None:
    assert goodness.ks_p_value(0.02, 10_000) == pytest.approx(stats.kstwobign.sf(2.0), rel=1e-9)


@given(st.floats(0.0, 5000.0), st.integers(1, 2000))
@hsettings(max_examples=500, deadline=None)
def test_chi_squared_tail_is_scipys(statistic: float, df: int) -> None:
    expected = stats.chi2.sf(statistic, df)
    assert goodness.chi_squared_sf(statistic, df) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("statistic", "df"), [(1e-9, 1), (0.5, 1), (3.0, 3), (199.0, 200), (230.0, 200), (1e5, 100_000)]
)
def test_chi_squared_tail_at_the_seams_of_series_and_fraction(statistic: float, df: int) -> None:
    assert goodness.chi_squared_sf(statistic, df) == pytest.approx(stats.chi2.sf(statistic, df), rel=1e-9)


def test_chi_squared_tail_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        goodness.chi_squared_sf(1.0, 0)


@given(st.lists(st.integers(1, 5000), min_size=2, max_size=30), st.data())
@hsettings(max_examples=200, deadline=None)
def test_goodness_of_fit_p_is_scipys(observed: list[int], data: st.DataObject) -> None:
    weights = data.draw(st.lists(st.integers(1, 100), min_size=len(observed), max_size=len(observed)))
    total, weight_sum = sum(observed), sum(weights)
    expected = [total * w / weight_sum for w in weights]
    statistic, p = goodness.chi_squared_p(observed, weights)
    reference = stats.chisquare(observed, expected)
    assert statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert p == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-300)


def test_chi_squared_tells_a_skewed_mix() -> None:
    assert goodness.chi_squared_p([100, 200, 700], [1, 2, 7])[1] > 0.5
    assert goodness.chi_squared_p([200, 200, 600], [1, 2, 7])[1] < 0.001


TABLE_ROWS = st.lists(st.integers(20, 3000), min_size=2, max_size=12)


@given(TABLE_ROWS, st.data())
@hsettings(max_examples=300, deadline=None)
def test_homogeneity_is_scipys_contingency_test(first: list[int], data: st.DataObject) -> None:
    second = data.draw(st.lists(st.integers(20, 3000), min_size=len(first), max_size=len(first)))
    rows = (sum(first), sum(second))
    # Where no cell is pooled, the test is scipy's on the table as it is.
    assume(all(min(rows) * (x + y) / sum(rows) >= goodness.MIN_EXPECTED for x, y in zip(first, second)))
    statistic, df, p = goodness.chi_squared_homogeneity(dict(enumerate(first)), dict(enumerate(second)))
    reference = stats.chi2_contingency([first, second], correction=False)
    assert df == reference.dof
    assert statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert p == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-300)


def test_homogeneity_pools_the_small_categories() -> None:
    # Each rare category is expected to hold about 3 in a row, all three together about 6.
    a = {"x": 500, "y": 400, "rare1": 2, "rare2": 3, "only_b": 0}
    b = {"x": 450, "y": 500, "rare1": 4, "rare2": 0, "only_b": 4}
    statistic, df, p = goodness.chi_squared_homogeneity(a, b)
    reference = stats.chi2_contingency([[500, 400, 5], [450, 500, 8]], correction=False)
    assert df == 2
    assert statistic == pytest.approx(reference.statistic)
    assert p == pytest.approx(reference.pvalue)


def test_homogeneity_grows_a_small_pool_with_the_next_smallest_category() -> None:
    a = {"x": 500, "y": 10, "rare": 1}
    b = {"x": 500, "y": 12, "rare": 0}
    statistic, df, _ = goodness.chi_squared_homogeneity(a, b)
    # "rare" alone would be a cell expected to hold 0.5: it takes "y" along.
    reference = stats.chi2_contingency([[500, 11], [500, 12]], correction=False)
    assert df == 1
    assert statistic == pytest.approx(reference.statistic)


def test_homogeneity_drops_categories_neither_sample_has() -> None:
    with_empty = goodness.chi_squared_homogeneity({"x": 100, "y": 90, "z": 0}, {"x": 80, "y": 120, "z": 0})
    assert with_empty == goodness.chi_squared_homogeneity({"x": 100, "y": 90}, {"x": 80, "y": 120})


@pytest.mark.parametrize(("a", "b"), [({}, {"x": 5}), ({"x": 100}, {"x": 90}), ({"x": 100, "y": 1}, {"x": 90, "y": 2})])
def test_homogeneity_with_nothing_to_compare_passes(a: dict[str, int], b: dict[str, int]) -> None:
    assert goodness.chi_squared_homogeneity(a, b) == (0.0, 0, 1.0)


def test_homogeneity_tells_a_shifted_mix() -> None:
    assert goodness.chi_squared_homogeneity({"x": 1000, "y": 1000}, {"x": 1100, "y": 900})[2] < 0.05
    assert goodness.chi_squared_homogeneity({"x": 1000, "y": 1000}, {"x": 1010, "y": 990})[2] > 0.5


def test_ks_statistic_tells_the_wrong_distribution() -> None:
    rng = random.Random(2)
    draw = Delay("exponential", (400.0,)).table().draw
    sample = Counter(draw(rng) for _ in range(5000))
    right = goodness.ks_statistic(Delay("exponential", (400.0,)), sample)
    wrong = goodness.ks_statistic(Delay("exponential", (500.0,)), sample)
    assert right < 1.95 / math.sqrt(5000) < wrong
