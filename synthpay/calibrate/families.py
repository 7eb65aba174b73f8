"""Which of the five delay families explains a sample, and with which parameters.

Each family (synthpay/model/delays.py) is fitted by maximum likelihood or a robust
equivalent, then judged by the Kolmogorov-Smirnov statistic against the distribution *as
observed*: a value is recorded at ``resolution`` (a delay in whole ms, an amount in cents),
so grid point ``k`` stands for the draws in ``[k - 1/2, k + 1/2)`` steps, as verify judges a
run. The smallest statistic wins, but a near tie goes to the simpler family (see ``SIMPLICITY``).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

from synthpay.model.delays import Delay

#: Near ties go to the family first in this order: fewer parameters first (a fixed delay
#: draws no random number, the exponential has one parameter), then, among the
#: two-parameter families, the lighter tail first (uniform is bounded, the normal's tail
#: falls as exp(-x^2), the lognormal's slowest): when the data cannot tell them apart, the
#: fitted config should not invent long delays the data did not show.
SIMPLICITY: Final = ("fixed", "exponential", "uniform", "normal", "lognormal")
_STANDARD: Final = NormalDist()
_Z90: Final = _STANDARD.inv_cdf(0.9)
_Z99: Final = _STANDARD.inv_cdf(0.99)
#: mean / stddev of the half-normal (a normal of mean 0 truncated at 0): the smallest ratio a
#: normal truncated at 0 with mean >= 0 (what the configuration accepts) can have.
_HALF_NORMAL_RATIO: Final = math.sqrt(2 / math.pi) / math.sqrt(1 - 2 / math.pi)
#: Beyond this many standard deviations above 0 the truncation moves nothing a double shows.
_UNTRUNCATED: Final = 12.0
#: The share of values off the most common one that still allows a fixed delay: a step
#: that always takes the same time, seen through a few steps missing before it (their
#: gaps span two delays), is still fixed, and KS says how far off the rest are.
_FIXED_OTHERS: Final = 0.5
#: The lognormal's smallest median the configuration accepts (delays.check).
_LOGNORMAL_MEDIAN_MIN: Final = 0.001


@dataclass(frozen=True, slots=True)
class FamilyFit:
    """One family fitted to a sample: the distribution and its Kolmogorov-Smirnov statistic."""

    delay: Delay
    ks: float


@dataclass(frozen=True, slots=True)
class _Grid:
    """A sample as counts per grid point (value / resolution, rounded), in ascending order."""

    points: tuple[int, ...]
    cumulative: tuple[int, ...]  # values at or below each point
    counts: tuple[int, ...]
    resolution: float
    #: Where the KS statistic looks: each point's edges k +- 1/2 (in value units), a lower
    #: edge shared with the point below when that one is on the grid too; and per point the
    #: index of its lower and upper edge in ``edges``.
    edges: tuple[float, ...]
    lower: tuple[int, ...]
    upper: tuple[int, ...]
    #: The sample's CDF at each point and just below it.
    at: tuple[float, ...]
    below: tuple[float, ...]
    mean: float
    variance: float
    square: float

    @property
    def n(self) -> int:
        return self.cumulative[-1]

    def quantile(self, p: float) -> float:
        """The ``p`` quantile of the values before rounding, as grouped data estimate it.

        The values recorded at point k were spread over [k - 1/2, k + 1/2) (over [0, 1/2)
        at 0: no value is negative): the quantile is interpolated inside its point's
        interval, so a coarse grid (a median of 3 ms) does not pull it to a whole step.
        """
        target = p * self.n
        i = min(bisect.bisect_left(self.cumulative, target), len(self.points) - 1)
        before = self.cumulative[i - 1] if i else 0
        share = min(max((target - before) / self.counts[i], 0.0), 1.0)
        k = self.points[i]
        low = k - 0.5 if k else 0.0
        return (low + share * (k + 0.5 - low)) * self.resolution

    def moments(self) -> tuple[float, float, float]:
        """(mean, variance, mean of squares), the variance less the rounding's res^2/12 (Sheppard)."""
        return self.mean, self.variance, self.square


def near_tie(n: int) -> float:
    """How much larger a simpler family's KS statistic may be and still win, for a sample of ``n``.

    Half the statistic's typical sampling spread (about 0.87/sqrt(n)): a difference below it
    is noise of this sample, not evidence for the more complex family.
    """
    return max(0.001, 0.5 / math.sqrt(n))


def fit_families(values: Sequence[float], resolution: float = 1.0) -> tuple[FamilyFit, ...]:
    """Every family that can be fitted to ``values`` (each >= 0), the chosen one first, the rest by KS.

    ``resolution`` is the step values are recorded in (1.0: whole ms; 0.01: cents).
    Raises ValueError on an empty sample, a negative value or a resolution <= 0.
    """
    if not values:
        raise ValueError("no values to fit")
    if resolution <= 0:
        raise ValueError(f"resolution must be > 0, not {resolution}")
    grid = _grid(values, resolution)
    fitted = (fit(grid) for fit in _FITTERS)
    fits = [FamilyFit(delay, _ks(grid, delay)) for delay in fitted if delay is not None]
    return _ranked(fits, grid.n)


def _grid(values: Sequence[float], resolution: float) -> _Grid:
    counter = Counter(round(v / resolution) for v in values)
    points = tuple(sorted(counter))
    if points[0] < 0:
        raise ValueError(f"values must be >= 0, not {points[0] * resolution}")
    counts = tuple(map(counter.__getitem__, points))
    cumulative = tuple(itertools.accumulate(counts))
    n, values = cumulative[-1], [k * resolution for k in points]
    mean = sum(map(operator.mul, counts, values)) / n
    square = sum(c * x * x for c, x in zip(counts, values)) / n
    variance = max(square - mean * mean - resolution**2 / 12, 0.0)
    half = resolution / 2
    edges: list[float] = []
    lower, upper, previous = [], [], points[0] - 2
    for k in points:
        if k != previous + 1:
            edges.append(k * resolution - half)
        lower.append(len(edges) - 1)
        edges.append(k * resolution + half)
        upper.append(len(edges) - 1)
        previous = k
    at = tuple(c / n for c in cumulative)
    return _Grid(
        points,
        cumulative,
        counts,
        resolution,
        tuple(edges),
        tuple(lower),
        tuple(upper),
        at,
        (0.0, *at[:-1]),
        mean,
        variance,
        square,
    )


def _ranked(fits: list[FamilyFit], n: int) -> tuple[FamilyFit, ...]:
    """The simplest fit within ``near_tie`` of the best first, then the others by KS."""
    by_ks = sorted(fits, key=lambda f: (f.ks, SIMPLICITY.index(f.delay.dist)))
    close = [f for f in by_ks if f.ks <= by_ks[0].ks + near_tie(n)]
    chosen = min(close, key=lambda f: SIMPLICITY.index(f.delay.dist))
    return (chosen, *(f for f in by_ks if f is not chosen))


def _ks(grid: _Grid, delay: Delay) -> float:
    """KS statistic of the grid's counts against ``delay`` observed at the grid's resolution.

    Both CDFs are steps flat between observed points, so the largest gap is at a point or
    just below it: P(obs <= k) = cdf(k + 1/2), P(obs < k) = cdf(k - 1/2). Mapped C calls
    over whole lists: 10^5 points take milliseconds.
    """
    cdf = delay.cdfs(grid.edges)
    gaps_at: Iterator[float] = map(abs, map(operator.sub, grid.at, map(cdf.__getitem__, grid.upper)))
    gaps_below: Iterator[float] = map(abs, map(operator.sub, grid.below, map(cdf.__getitem__, grid.lower)))
    return max(itertools.chain(gaps_at, gaps_below))


def _fixed(grid: _Grid) -> Delay | None:
    """The most common value (ties: the smallest), when (nearly) every value is it.

    A fixed delay is a claim that the step always takes the same time: with more than
    ``_FIXED_OTHERS`` of the values elsewhere it is not a candidate (its KS would be at least
    that share, and listing it would only clutter the report).
    """
    most = max(grid.counts)
    if most < (1 - _FIXED_OTHERS) * grid.n:
        return None
    return Delay("fixed", (grid.points[grid.counts.index(most)] * grid.resolution,))


def _exponential(grid: _Grid) -> Delay | None:
    """Maximum likelihood: the mean."""
    mean = grid.moments()[0]
    return Delay("exponential", (mean,)) if mean > 0 else None


def _uniform(grid: _Grid) -> Delay | None:
    """The unbiased range: n values leave on average 1/(n+1) of the range beyond each extreme."""
    low, high, n = grid.points[0] * grid.resolution, grid.points[-1] * grid.resolution, grid.n
    if high <= low:
        return None
    widen = (high - low) / (n - 1)
    return Delay("uniform", (max(low - widen, 0.0), high + widen))


def _normal(grid: _Grid) -> Delay | None:
    """The normal truncated at 0 whose truncated mean and variance are the sample's.

    For a family truncated to a fixed support the maximum likelihood estimate is the one
    whose moments of the sufficient statistics (x, x^2) are the sample's. The ratio mean /
    stddev of the truncated normal depends only on alpha = -mean / stddev of the untruncated
    one, and falls as alpha grows: bisect for it. A sample more dispersed than the
    half-normal gets the half-normal (mean 0), the most dispersed the configuration allows.
    """
    mean, variance, square = grid.moments()
    if variance <= 0 or mean <= 0:
        return None
    ratio = mean / math.sqrt(variance)
    if ratio >= _UNTRUNCATED:
        return Delay("normal", (mean, math.sqrt(variance)))
    if ratio <= _HALF_NORMAL_RATIO:
        return Delay("normal", (0.0, math.sqrt(square)))
    low, high = -ratio - 1.0, 0.0  # alpha: the ratio at low is above the sample's, at 0 below
    for _ in range(60):
        middle = (low + high) / 2
        if _truncated(middle)[0] / math.sqrt(_truncated(middle)[1]) > ratio:
            low = middle
        else:
            high = middle
    alpha = (low + high) / 2
    stddev = mean / _truncated(alpha)[0]
    return Delay("normal", (-alpha * stddev, stddev))


def _truncated(alpha: float) -> tuple[float, float]:
    """(mean, variance) of N(-alpha, 1) truncated to x >= 0 (alpha <= 0 here, so no underflow)."""
    survival = 0.5 * math.erfc(alpha / math.sqrt(2))
    hazard = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi) / survival
    return -alpha + hazard, 1 + alpha * hazard - hazard * hazard


def _lognormal(grid: _Grid) -> Delay | None:
    """Median and the spread of the logs from quantiles: robust to values recorded as 0.

    A value below half a step is recorded as 0 and has no logarithm; quantiles above the
    zeros are unmoved by them. The spread comes from the 10% and 90% quantiles (or the
    median and the 90% when the 10% is 0), as efficient as the sample's log stddev to within
    a few tenths of a percent at the sample sizes a fit sees.
    """
    median, high, low = grid.quantile(0.5), grid.quantile(0.9), grid.quantile(0.1)
    if median < _LOGNORMAL_MEDIAN_MIN or high <= median:
        return None
    spread = math.log(high / low) / (2 * _Z90) if low > 0 else math.log(high / median) / _Z90
    return Delay("lognormal", (median, median * math.exp(_Z99 * spread)))


_FITTERS: Final[tuple[Callable[[_Grid], Delay | None], ...]] = (
    _fixed,
    _exponential,
    _uniform,
    _normal,
    _lognormal,
)
