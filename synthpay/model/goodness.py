"""Goodness of fit: Kolmogorov-Smirnov and chi-squared, exact enough to judge a fit by.

Pure functions on counts and samples, shared by verify (is a run what its scenario says?)
and calibrate (which distribution explains the data, are two sources alike?). No scipy at
run time: the chi-squared tail is the regularized incomplete gamma function, the
Kolmogorov tail its two classic series; the tests hold both to scipy's values.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Final, TypeVar

from synthpay.model.delays import Delay

K = TypeVar("K", bound=Hashable)

#: Relative precision the series and continued fractions stop at.
_EPSILON: Final = 1e-15
#: Below this a continued fraction's denominator counts as zero (Lentz's method).
_TINY: Final = 1e-300
#: Cells expected to hold fewer counts are pooled: the chi-squared approximation of
#: Pearson's statistic needs about five per cell (Cochran's rule).
MIN_EXPECTED: Final = 5.0


def ks_statistic(delay: Delay, histogram: Mapping[int, int]) -> float:
    """The largest gap between the histogram's CDF and the distribution's, for whole-ms delays.

    A drawn delay is observed rounded, so whole ms ``k`` stands for the draws in
    ``[k - 0.5, k + 0.5)``: both step functions are flat between observed values, so the
    largest gap is at one of them, just before or at it.
    """
    n, seen, worst = sum(histogram.values()), 0, 0.0
    for ms in sorted(histogram):
        below = seen / n
        seen += histogram[ms]
        worst = max(worst, abs(seen / n - delay.cdf(ms + 0.5)), abs(below - delay.cdf(ms - 0.5)))
    return worst


def ks_two_sample(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic D: the largest gap between the samples' CDFs.

    Both CDFs are compared after every distinct value (all copies of a tied value taken
    together), so ties, common in whole-ms delays, count as they should.
    """
    if not a or not b:
        raise ValueError("two non-empty samples are needed")
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    i = j = 0
    worst = 0.0
    while i < n and j < m:
        value = min(xs[i], ys[j])
        while i < n and xs[i] == value:
            i += 1
        while j < m and ys[j] == value:
            j += 1
        worst = max(worst, abs(i / n - j / m))
    # Once one sample is used up its CDF is 1 and the other's only grows toward 1: the
    # gap after the last shared step was already counted.
    return worst


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the limit of sqrt(n) D_n)."""
    if x < 0.1:  # P(K <= 0.1) is about 1e-52: the tail is 1.0 to the last bit
        return 1.0
    if x < 1.0:
        # The alternating series converges slowly for small x; Jacobi's theta identity gives
        # the CDF as a series whose terms fall as exp(-(2k-1)^2 pi^2 / 8x^2).
        factor = -(math.pi**2) / (8.0 * x * x)
        total = sum(math.exp((2 * k - 1) ** 2 * factor) for k in range(1, 8))
        return 1.0 - math.sqrt(2.0 * math.pi) / x * total
    total, k = 0.0, 1
    while True:
        term = math.exp(-2.0 * k * k * x * x)
        total += term if k % 2 else -term
        if term < _EPSILON * total or k > 100:
            return min(1.0, 2.0 * total)
        k += 1


def ks_p_value(d: float, n: int, m: int | None = None) -> float:
    """The asymptotic p-value of a Kolmogorov-Smirnov statistic ``d``.

    Two samples of sizes ``n`` and ``m``: the effective size n m / (n + m). One sample of
    size ``n`` against a distribution: ``m`` None.
    """
    if n <= 0 or (m is not None and m <= 0):
        raise ValueError("sample sizes must be positive")
    effective = n if m is None else n * m / (n + m)
    return kolmogorov_sf(math.sqrt(effective) * d)


def chi_squared_sf(statistic: float, df: int) -> float:
    """P(X > ``statistic``) for X chi-squared with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, not {df}")
    if statistic / 2.0 <= 0.0:  # also a subnormal statistic that halves to 0
        return 1.0
    return _upper_gamma(df / 2.0, statistic / 2.0)


def _upper_gamma(a: float, x: float) -> float:
    """Q(a, x), the regularized upper incomplete gamma function (a > 0, x > 0).

    The series for P converges fast below x = a + 1, the continued fraction for Q above it
    (Numerical Recipes' split): each then needs O(sqrt(a)) terms, and the small tail is
    computed directly instead of as 1 - P, which would lose it to rounding.
    """
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        denominator = a
        while abs(term) > abs(total) * _EPSILON:
            denominator += 1.0
            term *= x / denominator
            total += term
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    # Modified Lentz on Q = e^-x x^a / Gamma(a) * 1/(x+1-a- 1(1-a)/(x+3-a- 2(2-a)/(x+5-a- ...))).
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    fraction = d
    i = 1
    while True:
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1.0) < _EPSILON or i > 100_000:
            return min(1.0, math.exp(log_prefix) * fraction)
        i += 1


def chi_squared_p(observed: Sequence[int], weights: Sequence[int]) -> tuple[float, float]:
    """(statistic, p-value) of Pearson's test of ``observed`` counts against ``weights``' proportions.

    Cells of weight 0 are left out (a count there is another check's business).
    """
    total, weight_sum = sum(observed), sum(weights)
    cells = [(o, total * w / weight_sum) for o, w in zip(observed, weights) if w]
    statistic = sum((o - e) ** 2 / e for o, e in cells if e)
    df = len(cells) - 1
    if df < 1 or not total:
        return statistic, 1.0
    return statistic, chi_squared_sf(statistic, df)


def chi_squared_homogeneity(a: Mapping[K, int], b: Mapping[K, int]) -> tuple[float, int, float]:
    """(statistic, df, p) of Pearson's test that two samples share one distribution over categories.

    The 2 x k contingency table of ``a``'s and ``b``'s counts per category (a category
    missing from one counts 0 there). Categories neither sample has are dropped; those
    expected to hold fewer than ``MIN_EXPECTED`` counts in either row are pooled into one
    cell, and while that cell is still too small the smallest other category joins it. No
    continuity correction (it is for 2 x 2 tables of a few counts; these hold thousands).
    Fewer than two cells left, or an empty sample: (0.0, 0, 1.0), nothing to test.
    """
    rows = (sum(a.values()), sum(b.values()))
    total = rows[0] + rows[1]
    if not rows[0] or not rows[1]:
        return 0.0, 0, 1.0
    smaller = min(rows) / total
    counts = ((a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys())
    columns = sorted((c for c in counts if c[0] + c[1]), key=lambda c: c[0] + c[1])
    pooled = [0, 0]
    kept = 0  # columns[:kept] go into the pooled cell
    while kept < len(columns) and (
        smaller * sum(columns[kept]) < MIN_EXPECTED or 0 < smaller * (pooled[0] + pooled[1]) < MIN_EXPECTED
    ):
        pooled[0] += columns[kept][0]
        pooled[1] += columns[kept][1]
        kept += 1
    cells = columns[kept:] + ([(pooled[0], pooled[1])] if kept else [])
    if len(cells) < 2:
        return 0.0, 0, 1.0
    statistic = 0.0
    for column in cells:
        share = (column[0] + column[1]) / total
        for observed, row in zip(column, rows):
            expected = row * share
            statistic += (observed - expected) ** 2 / expected
    df = len(cells) - 1
    return statistic, df, chi_squared_sf(statistic, df)
