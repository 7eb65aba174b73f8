"""Incidents: where the workflow mix, a status's delays or the rate depart from the baseline.

The series is the profile's bins (payments by the time they started). Each stretch of bins
is explained by one model with three parts, whose log-likelihoods add:

- the workflow mix: a multinomial over paths;
- the rate: Poisson counts per bin, the rate constant over the stretch (times the bin's
  ``rate_weights``, e.g. a fitted arrival curve, so a daily curve is not an incident);
- per status, ln(1 + delay) Gaussian with the stretch's own mean and the status's variance
  over the whole series. A phase's ``delay_scale`` multiplies delays, which shifts their
  logarithm and nothing else; a variance held common makes this a test of that shift whose
  null distribution holds by the central limit theorem whatever the delays' shape.

Change points are found by binary segmentation, each split kept while it raises twice the
log-likelihood by more than a BIC penalty ((parameters + 1) ln(payments): the parameters a
change frees, plus its location); each change point is then re-fitted between its
neighbours and dropped when it no longer pays its penalty. The baseline is the usual state:
the segments alike (the same likelihood ratio, one against the other, within the
parameters' penalty) to the segment the most time is alike to, pooled. Segments that
differ from it are incidents, a short one (an edge bin holding both states, a ramp's
step) joined to the touching one most alike to it; an incident lasts at least
``min_duration_ms``, and its edges are bin edges.

A stationary series stays far below the penalty: with 135,000 payments in 270 bins the
best single split's statistic is 13 to 30 against a penalty of 106 (five seeds).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from synthpay.calibrate.profile import Bin, Path

#: Re-fitting rounds after binary segmentation; each settles change points further apart.
_REFIT_ROUNDS: Final = 10


@dataclass(frozen=True, slots=True)
class Incident:
    """A stretch that departs from the baseline, and the evidence."""

    start_ms: int
    end_ms: int  # exclusive
    #: What departs: "mix", "delay:<status>", "rate" (each alone passing its penalty).
    what: tuple[str, ...]
    statistic: float  # twice the log-likelihood ratio, this stretch against the baseline
    penalty: float  # what the statistic had to exceed: parameters x ln(payments)
    #: The statistic per part ("mix", "delay:<status>", "rate"); a part is in ``what`` when its
    #: share passes its own parameters x ln(payments).
    parts: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class _Totals:
    """Sufficient statistics of a set of bins."""

    paths: tuple[int, ...]  # payments per path
    weight: float  # sum of the bins' rate weights
    delays: tuple[tuple[int, float], ...]  # per status: (count, sum of ln(1 + ms))

    def __add__(self, other: _Totals) -> _Totals:
        return _Totals(
            tuple(a + b for a, b in zip(self.paths, other.paths)),
            self.weight + other.weight,
            tuple((a[0] + b[0], a[1] + b[1]) for a, b in zip(self.delays, other.delays)),
        )


class _Series:
    """Prefix sums over the bins: any stretch's totals in O(paths + statuses)."""

    def __init__(self, bins: Mapping[int, Bin], rate_weights: Mapping[int, float] | None) -> None:
        self.first = min(bins)
        self.length = max(bins) - self.first + 1
        paths: list[Path] = sorted({p for b in bins.values() for p in b.paths})
        self.statuses: list[str] = sorted({s for b in bins.values() for s in b.delays})
        empty = Bin({}, {})
        rows = [bins.get(self.first + t, empty) for t in range(self.length)]
        self.paths = [_prefix([row.paths.get(p, 0) for row in rows]) for p in paths]
        weights = rate_weights or {}
        self.weight = _prefix([weights.get(self.first + t, 1.0) for t in range(self.length)])
        self.counts = [_prefix([row.delays.get(s, (0, 0.0, 0.0))[0] for row in rows]) for s in self.statuses]
        self.sums = [_prefix([row.delays.get(s, (0, 0.0, 0.0))[1] for row in rows]) for s in self.statuses]
        # The status's variance of ln(1 + ms) over the whole series (floored: a fixed delay has none).
        self.inverse_variance = []
        for s in self.statuses:
            n, total, squares = (sum(row.delays.get(s, (0, 0.0, 0.0))[i] for row in rows) for i in range(3))
            variance = squares / n - (total / n) ** 2 if n else 0.0
            self.inverse_variance.append(1.0 / max(variance, 1e-6))
        self.payments = int(sum(p[-1] for p in self.paths))
        # Parameters one more segment frees: the mix's shares, the rate, a mean per status.
        self.parameters = max(len(paths) - 1, 0) + 1 + len(self.statuses)
        #: What a segment's likelihood ratio against another must exceed to be told from it.
        self.penalty = self.parameters * math.log(max(self.payments, 2))

    def totals(self, i: int, j: int) -> _Totals:
        return _Totals(
            tuple(int(p[j] - p[i]) for p in self.paths),
            self.weight[j] - self.weight[i],
            tuple((int(c[j] - c[i]), s[j] - s[i]) for c, s in zip(self.counts, self.sums)),
        )

    def loglik(self, i: int, j: int) -> float:
        """The stretch's log-likelihood, less what any segmentation of the series shares."""
        # The hot path of the search: totals() and parts() inlined.
        total, value = 0.0, 0.0
        for p in self.paths:
            c = p[j] - p[i]
            if c:
                value += c * math.log(c)
                total += c
        if total:  # the mix's - N ln N and the rate's N ln(N / W): - N ln W
            value -= total * math.log(self.weight[j] - self.weight[i])
        for counts, sums, inverse in zip(self.counts, self.sums, self.inverse_variance):
            n = counts[j] - counts[i]
            if n:
                value += (sums[j] - sums[i]) ** 2 / n * inverse / 2
        return value

    def parts(self, totals: _Totals) -> dict[str, float]:
        """The log-likelihood of a set of bins, per part of the model (the same terms as ``loglik``)."""
        n = sum(totals.paths)
        mix = sum(c * math.log(c) for c in totals.paths if c) - (n * math.log(n) if n else 0.0)
        parts = {"mix": mix}
        for status, (count, total), inverse in zip(self.statuses, totals.delays, self.inverse_variance):
            parts[f"delay:{status}"] = total * total / count * inverse / 2 if count else 0.0
        parts["rate"] = n * math.log(n / totals.weight) if n else 0.0
        return parts

    def part_parameters(self, part: str) -> int:
        return max(len(self.paths) - 1, 1) if part == "mix" else 1


def _prefix(values: Sequence[float]) -> list[float]:
    sums, running = [0.0], 0.0
    for v in values:
        running += v
        sums.append(running)
    return sums


def find_incidents(
    bins: Mapping[int, Bin],
    bin_ms: int,
    min_duration_ms: int = 60_000,
    rate_weights: Mapping[int, float] | None = None,
) -> tuple[Incident, ...]:
    """The stretches of ``bins`` (by start_ms // bin_ms) that depart from the baseline, in time order.

    ``rate_weights`` (by bin index, 1.0 where absent): the rate each bin is expected to
    have relative to the others, e.g. an arrival curve fitted beforehand; only departures
    from it count as rate incidents.
    The first and last bins are taken as covered only in part (no input starts or ends on
    a bin edge): their rate is not evidence, their mix and delays are.
    """
    if bin_ms <= 0:
        raise ValueError(f"bin_ms must be > 0, not {bin_ms}")
    if rate_weights and min(rate_weights.values()) <= 0:
        raise ValueError(f"rate weights must be > 0, not {min(rate_weights.values())}")
    if not bins:
        return ()
    series = _Series(bins, _ends_partial(bins, rate_weights or {}))
    if series.payments < 2 or series.length < 2:
        return ()
    penalty = (series.parameters + 1) * math.log(series.payments)
    cuts = _refit(series, _segment(series, 0, series.length, penalty), penalty)
    edges = [0, *cuts, series.length]
    segments = list(itertools.pairwise(edges))
    baseline = _baseline(series, segments)
    departing = [seg for seg in segments if _ratios(series, series.totals(*seg), baseline)[0] > series.penalty]
    found = (
        _against(series, stretch, baseline, bin_ms)
        for stretch in _stretches(series, departing, -(-min_duration_ms // bin_ms))
    )
    return tuple(incident for incident in found if incident is not None)


def _stretches(series: _Series, departing: Sequence[tuple[int, int]], min_bins: int) -> list[tuple[int, int]]:
    """Departing segments as incidents: each short one joined to the touching one most alike to it.

    A bin across an incident's edge holds both states, so the segmentation may make it a
    segment of its own; a gradual change (a ramp) is segmented as steps. A segment shorter
    than ``min_bins`` (or of one bin: with bins as wide as the shortest incident, an edge bin
    would otherwise stand alone) joins the touching departing segment whose likelihood ratio
    against it is the smallest, shortest first. A run of touching short segments can so
    become long enough; what is still too short is left out.
    """
    runs: list[list[tuple[int, int]]] = []
    for seg in departing:
        if runs and runs[-1][-1][1] == seg[0]:
            runs[-1].append(seg)
        else:
            runs.append([seg])
    shortest = max(min_bins, 2)
    stretches: list[tuple[int, int]] = []
    for run in runs:
        while len(run) > 1:
            k = min(range(len(run)), key=lambda i: run[i][1] - run[i][0])
            if run[k][1] - run[k][0] >= shortest:
                break
            own = series.totals(*run[k])
            neighbours = [i for i in (k - 1, k + 1) if 0 <= i < len(run)]
            other = min(neighbours, key=lambda i: _ratios(series, own, series.totals(*run[i]))[0])
            low, high = min(k, other), max(k, other)
            run[low : high + 1] = [(run[low][0], run[high][1])]
        stretches.extend(seg for seg in run if seg[1] - seg[0] >= min_bins)
    return stretches


def _baseline(series: _Series, segments: Sequence[tuple[int, int]]) -> _Totals:
    """The usual state: the segments alike to the one the most time is alike to, pooled.

    Not simply the longest segment: an outage in the middle of a run is as long as the
    stretches either side of it, which are two segments but one state. Time, not payments:
    a surge holds many payments in little time, and is what is unusual.
    """
    totals = [series.totals(*seg) for seg in segments]
    alike = [
        [j for j, other in enumerate(totals) if _ratios(series, own, other)[0] <= series.penalty] for own in totals
    ]
    support = [sum(segments[j][1] - segments[j][0] for j in group) for group in alike]
    chosen = alike[max(range(len(segments)), key=support.__getitem__)]
    pooled = totals[chosen[0]]
    for j in chosen[1:]:
        pooled = pooled + totals[j]
    return pooled


def _ends_partial(bins: Mapping[int, Bin], weights: Mapping[int, float]) -> Mapping[int, float]:
    """The rate weights with the end bins' set to what their own counts say (so their rate fits exactly).

    An input starts and ends inside a bin, and which part of it is covered is not known
    from the bins (the last payments to start are not the last events): the end bins' own
    counts, at the rate of the bins between them, say nothing about the rate.
    """
    first, last = min(bins), max(bins)
    inner = [i for i in bins if first < i < last]
    payments = sum(sum(bins[i].paths.values()) for i in inner)
    if last - first < 2 or not payments:
        return weights
    per_payment = sum(weights.get(i, 1.0) for i in range(first + 1, last)) / payments
    adjusted = dict(weights)
    for index in (first, last):
        adjusted[index] = max(sum(bins[index].paths.values()), 1) * per_payment
    return adjusted


def _best_split(series: _Series, i: int, j: int) -> tuple[float, int]:
    """(gain in log-likelihood, bin) of the best single split of [i, j)."""
    whole = series.loglik(i, j)
    best, at = 0.0, -1
    for tau in range(i + 1, j):
        gain = series.loglik(i, tau) + series.loglik(tau, j) - whole
        if gain > best:
            best, at = gain, tau
    return best, at


def _segment(series: _Series, i: int, j: int, penalty: float) -> list[int]:
    """Binary segmentation of [i, j): the change points, ascending."""
    gain, tau = _best_split(series, i, j)
    if tau < 0 or 2 * gain <= penalty:
        return []
    return [*_segment(series, i, tau, penalty), tau, *_segment(series, tau, j, penalty)]


def _refit(series: _Series, cuts: list[int], penalty: float) -> list[int]:
    """Each change point moved to its best place between its neighbours, or dropped if it no longer pays.

    Binary segmentation places a change point while the stretch it splits still holds
    others; with its neighbours known it can be placed better.
    """
    for _ in range(_REFIT_ROUNDS):
        moved = False
        k = 0
        while k < len(cuts):
            left = cuts[k - 1] if k else 0
            right = cuts[k + 1] if k + 1 < len(cuts) else series.length
            gain, tau = _best_split(series, left, right)
            if tau < 0 or 2 * gain <= penalty:
                del cuts[k]
                moved = True
                continue
            moved = moved or tau != cuts[k]
            cuts[k] = tau
            k += 1
        if not moved:
            break
    return cuts


def _ratios(series: _Series, own: _Totals, base: _Totals) -> tuple[float, dict[str, float]]:
    """Twice the log-likelihood ratio of two sets of bins apart against together: in all and per part."""
    apart = {k: v + series.parts(base)[k] for k, v in series.parts(own).items()}
    together = series.parts(own + base)
    ratios = {k: 2 * (apart[k] - together[k]) for k in apart}
    return sum(ratios.values()), ratios


def _against(series: _Series, segment: tuple[int, int], baseline: _Totals, bin_ms: int) -> Incident | None:
    """The segment as an incident, if it differs from the baseline by more than the penalty."""
    statistic, ratios = _ratios(series, series.totals(*segment), baseline)
    if statistic <= series.penalty:
        return None
    log_n = math.log(series.payments)
    what = tuple(k for k, r in ratios.items() if r > series.part_parameters(k) * log_n)
    if not what:  # together, not one by one: name the strongest
        what = (max(ratios, key=lambda k: ratios[k] / series.part_parameters(k)),)
    start, end = (series.first + t for t in segment)
    return Incident(start * bin_ms, end * bin_ms, what, statistic, series.penalty, tuple(ratios.items()))
