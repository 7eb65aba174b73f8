"""Bank popularity: uniform, or zipf's law with a fitted exponent.

synthpay's zipf gives the k-th most popular of n banks a share proportional to k^-s
(synthpay/model/entities.py). Which bank is k-th is not known, only the counts: the banks
are ranked by their counts, and s is the maximum likelihood estimate over ranks 1..n.

Ranking by the counts makes even uniform data look a little skewed (the sorted counts of
equal banks fall off by chance), so a likelihood-ratio test of zipf against uniform, with
its chi-squared(1) null, would reject uniformity too often. The choice is instead Pearson's
test of the counts against equal shares, which does not depend on any ordering: uniform
unless it rejects at ``P_FLOOR``, the mix threshold compare uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from synthpay.model.goodness import chi_squared_p

#: Uniform popularity is kept unless its p-value falls below this.
P_FLOOR: Final = 0.001
#: The largest exponent searched: at s = 20 the top bank takes all but 1e-6 of the picks.
_S_MAX: Final = 20.0


@dataclass(frozen=True, slots=True)
class Popularity:
    """How payments pick their banks, as the configuration's ``popularity`` and ``zipf_s`` say it."""

    banks: int
    kind: Literal["uniform", "zipf"]
    s: float  # the maximum likelihood exponent (also when ``kind`` is uniform: for the report)
    p_uniform: float  # Pearson's p-value of the counts against equal shares


def fit_popularity(counts: Sequence[int]) -> Popularity:
    """Uniform or zipf popularity from payments per bank (any order; each >= 0, at least one bank)."""
    if not counts:
        raise ValueError("no banks to fit")
    if min(counts) < 0:
        raise ValueError(f"counts must be >= 0, not {min(counts)}")
    _, p = chi_squared_p(counts, [1] * len(counts))
    s = zipf_s(counts)
    return Popularity(len(counts), "uniform" if p >= P_FLOOR else "zipf", s, p)


def zipf_s(counts: Sequence[int]) -> float:
    """The maximum likelihood zipf exponent of counts per bank, the banks ranked by their counts.

    The log-likelihood -s sum(c_r ln r) - N ln(sum k^-s) is concave in s; its slope is zero
    where the mean of ln(rank) under zipf(s) equals the sample's. That mean falls from its
    uniform value at s = 0 toward 0, and the sample's, ranked, is at most the uniform one:
    bisect.
    """
    ranked = sorted(counts, reverse=True)
    total = sum(ranked)
    if total == 0 or len(ranked) < 2:
        return 0.0
    logs = [math.log(k) for k in range(1, len(ranked) + 1)]
    observed = sum(c * log for c, log in zip(ranked, logs)) / total
    low, high = 0.0, _S_MAX
    if _mean_log_rank(logs, high) >= observed:
        return high
    for _ in range(60):
        middle = (low + high) / 2
        if _mean_log_rank(logs, middle) > observed:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _mean_log_rank(logs: Sequence[float], s: float) -> float:
    """E[ln k] when rank k is picked with weight k^-s."""
    weights = [math.exp(-s * log) for log in logs]
    return sum(w * log for w, log in zip(weights, logs)) / sum(weights)
