"""Delay distributions: how long a status takes, drawn per payment from the run's RNG.

A drawn delay is rounded to whole milliseconds (the engine's tick), so the delay observed
on the wire is ``round(x)``: ``P(observed <= k) = cdf(k + 0.5)``, which is what verify's
Kolmogorov-Smirnov statistic compares against.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

#: Each distribution's parameters, in the order ``Delay.params`` holds them.
PARAMETERS: Final[Mapping[str, tuple[str, ...]]] = {
    "fixed": ("ms",),
    "uniform": ("min_ms", "max_ms"),
    "exponential": ("mean_ms",),
    "lognormal": ("median_ms", "p99_ms"),
    "normal": ("mean_ms", "stddev_ms"),
}
_LEVEL_BITS: Final = 13
#: The equally likely quantiles a drawn delay is one of.
LEVELS: Final = 1 << _LEVEL_BITS
_STANDARD: Final = NormalDist()
_Z99: Final = _STANDARD.inv_cdf(0.99)
_SQRT2: Final = math.sqrt(2.0)
#: With a smaller median the table's exponent can overflow a float before the median
#: scales it back down; a draw is whole ms, so a smaller median draws 0 just the same.
_LOGNORMAL_MEDIAN_MIN: Final = 0.001
#: The longest any step takes: the longest delay parameter (a day) a phase's largest
#: ``delay_scale`` (1,000) stretches. A drawn delay's tail beyond it is drawn as this long,
#: so no payment outlives its run by centuries (a lognormal's top level can be ages).
MAX_MS: Final = 86_400_000_000
_LOG_MAX: Final = math.log(MAX_MS)


@dataclass(frozen=True, slots=True)
class Quantiles:
    """A delay distribution as a table of equally likely whole-ms delays (see ``Delay.table``)."""

    ms: tuple[int, ...]  # not an array: indexing a tuple hands out its int, an array makes a new one
    bits: int

    def draw(self, rng: random.Random) -> int:
        """One delay in whole ms (the scenario inlines this for the wheel's routes)."""
        return self.ms[rng.getrandbits(self.bits)]


@dataclass(frozen=True, slots=True)
class Delay:
    """A status's delay distribution in ms, times ``scale`` (a phase's ``delay_scale``)."""

    dist: str
    params: tuple[float, ...]
    scale: float = 1.0

    @property
    def fixed(self) -> bool:
        """True when every draw is the same (no random number is used)."""
        return self.dist == "fixed"

    def scaled(self, factor: float) -> Delay:
        """This distribution stretched by ``factor``."""
        return Delay(self.dist, self.params, self.scale * factor)

    def table(self) -> Quantiles:
        """The table a delay is drawn from: ``ms[rng.getrandbits(bits)]`` is one draw in whole ms.

        Inverse-transform sampling: the delay at each of ``LEVELS`` equally likely
        quantiles, picked by one ``getrandbits`` (a C call, where a Gaussian variate is a
        dozen Python operations). Quantizing the probability moves the CDF by at most
        1/(2 LEVELS); the tail beyond the 1 - 1/(2 LEVELS) quantile is not drawn. A fixed
        delay is a one-entry table and ``bits`` 0, which draws no random number. Build it
        once per status and phase.
        """
        if self.dist == "fixed":
            return Quantiles((self.support()[0],), 0)
        if self.dist == "lognormal":  # the common case, without an inverse normal CDF per level
            a, b = self.params
            ms = [int(min(_lognormal(a, b, z) * self.scale, MAX_MS) + 0.5) for z in _standard_levels()]
        else:
            ms = [int(self.quantile((i + 0.5) / LEVELS) + 0.5) for i in range(LEVELS)]
        return Quantiles(tuple(ms), _LEVEL_BITS)

    def cdf(self, ms: float) -> float:
        """P(an unrounded draw <= ``ms``)."""
        return self.cdfs((ms,))[0]

    def cdfs(self, points: Sequence[float]) -> list[float]:
        """P(an unrounded draw <= ``ms``) for each of ``points``.

        One list comprehension per distribution: a Kolmogorov-Smirnov statistic over a
        sample's every distinct value (the fit's, up to 10^5 of them per family) is then
        a fraction of the cost of a call per point.
        """
        scale = self.scale
        # Unscaled; at MAX_MS and beyond every draw is in (the longest any step takes).
        if scale:
            xs = [ms / scale if ms < MAX_MS else math.inf for ms in points]
        else:
            xs = [math.inf if ms >= 0 else -math.inf for ms in points]
        a, b = self.params[0], self.params[-1]
        dist = self.dist
        if dist == "fixed":
            return [1.0 if x >= a else 0.0 for x in xs]
        if dist == "uniform":
            width = b - a
            return [0.0 if x <= 0 or x < a else 1.0 if x >= b else (x - a) / width if width else 1.0 for x in xs]
        if dist == "exponential":
            return [1.0 - math.exp(-x / a) if x > 0 else 0.0 for x in xs]
        erf = math.erf
        if dist == "lognormal":
            ratio = 1.0 / (math.log(b / a) / _Z99 * _SQRT2)
            return [0.5 * (1.0 + erf(math.log(x / a) * ratio)) if x > 0 else 0.0 for x in xs]
        below = _STANDARD.cdf(-a / b)
        ratio, kept = 1.0 / (b * _SQRT2), 1.0 - below
        return [(0.5 * (1.0 + erf((x - a) * ratio)) - below) / kept if x > 0 else 0.0 for x in xs]

    def quantile(self, p: float) -> float:
        """The unrounded delay ``p`` of draws stay within (``0 < p < 1``)."""
        a, b = self.params[0], self.params[-1]
        dist = self.dist
        if dist == "fixed":
            x = a
        elif dist == "uniform":
            x = a + (b - a) * p
        elif dist == "exponential":
            x = -a * math.log(1.0 - p)
        elif dist == "lognormal":
            x = _lognormal(a, b, _STANDARD.inv_cdf(p))
        else:
            below = _STANDARD.cdf(-a / b)
            x = a + b * _STANDARD.inv_cdf(below + p * (1.0 - below))
        return min(x * self.scale, MAX_MS)

    def support(self) -> tuple[int, int]:
        """The whole-ms delays a draw can give: (lowest, highest)."""
        a, b = self.params[0], self.params[-1]
        if self.dist == "fixed":
            return int(a * self.scale + 0.5), int(a * self.scale + 0.5)
        if self.dist == "uniform":
            return int(a * self.scale + 0.5), int(b * self.scale + 0.5)
        return 0, MAX_MS

    def describe(self) -> dict[str, float | str]:
        """The distribution as its configuration spells it (scale only when not 1)."""
        described: dict[str, float | str] = {"dist": self.dist}
        described.update(zip(PARAMETERS[self.dist], self.params))
        if self.scale != 1.0:
            described["scale"] = self.scale
        return described


def _lognormal(median: float, p99: float, z: float) -> float:
    """The lognormal delay with this median and p99 at the standard normal quantile ``z``, at most ``MAX_MS``."""
    return median * math.exp(min(math.log(p99 / median) / _Z99 * z, _LOG_MAX - math.log(median)))


@functools.cache
def _standard_levels() -> tuple[float, ...]:
    """The standard normal's quantile at the middle of each of the ``LEVELS`` levels."""
    return tuple(_STANDARD.inv_cdf((i + 0.5) / LEVELS) for i in range(LEVELS))


def fixed(ms: int) -> Delay:
    """A delay that is always ``ms``."""
    return Delay("fixed", (float(ms),))


def check(dist: str, values: Mapping[str, float]) -> str:
    """What is wrong with these parameters, or "" (the caller has checked each is a number >= 0)."""
    if dist == "uniform" and values["max_ms"] < values["min_ms"]:
        return "max_ms >= min_ms"
    if dist == "exponential" and values["mean_ms"] <= 0:
        return "mean_ms > 0"
    if dist == "lognormal":
        if values["median_ms"] < _LOGNORMAL_MEDIAN_MIN:
            return f"median_ms >= {_LOGNORMAL_MEDIAN_MIN:g}"
        if values["p99_ms"] <= values["median_ms"]:
            return "p99_ms > median_ms"
    if dist == "normal" and values["stddev_ms"] <= 0:
        return "stddev_ms > 0"
    return ""
