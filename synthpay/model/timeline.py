"""The run's timeline: phases and the arrival curve, and the start rate they give at any moment.

Phases are offsets from the run's start; the arrival curve follows the hour of day of the
event clock, so a virtual-clock backfill of a day has its peaks at the right hours.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS
# Within a ramp the rate is taken as constant over steps this long (at each step's middle).
_RAMP_STEP_MS: Final = 100.0
# Steps (hours, ramp steps, phases) taken one by one before the rest is integrated in
# closed form: an arrival a few steps away costs what it always did.
_STEPS_BEFORE_SKIPPING: Final = 4
#: An arrival due after the year 9999 never comes: no event time can carry it.
NEVER_MS: Final = 253_402_300_800_000

#: A stretch of the timeline with one base rate, the arrival curve aside: payments/s at
#: ``origin`` ms, and the change per ms after it (0 but in a ramp).
_Line = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Phase:
    """A stretch of the run with its own rate, workflow weights, delay scales and anomaly rates."""

    name: str
    at_s: float
    duration_s: float
    rate: float | None = None  # payments/s at its start across all instances; None = the run's
    rate_end: float | None = None  # linear ramp to this by its end; None = no ramp
    weights: Mapping[str, int] | None = None  # by workflow name; the others keep theirs
    delay_scale: Mapping[str, float] | None = None  # by status name
    anomalies: Mapping[str, float] | None = None  # by anomaly kind; the others keep the run's rate


class Timeline:
    """Which phase is in force when, and the start rate (payments/s, this instance) at any ms."""

    __slots__ = ("_curve", "_curve_sum", "_edges", "_ends", "_rate", "_share", "_starts", "phases")

    def __init__(
        self, phases: Sequence[Phase], curve: Sequence[float], rate: float, instance_count: int, start_ms: int
    ) -> None:
        self.phases = tuple(sorted(phases, key=lambda p: p.at_s))
        self._curve = tuple(curve)
        self._curve_sum = math.fsum(self._curve)
        self._rate = rate / instance_count
        self._share = 1.0 / instance_count
        self._starts = [start_ms + p.at_s * 1000 for p in self.phases]
        self._ends = [s + p.duration_s * 1000 for s, p in zip(self._starts, self.phases)]
        self._edges = sorted({*self._starts, *self._ends})

    def index_at(self, t_ms: float) -> int:
        """The index of the phase in force at ``t_ms``, or -1 outside every phase."""
        i = bisect.bisect_right(self._starts, t_ms) - 1
        return i if i >= 0 and t_ms < self._ends[i] else -1

    def name_at(self, t_ms: float) -> str:
        """The phase in force at ``t_ms`` by name, "" outside every phase."""
        i = self.index_at(t_ms)
        return self.phases[i].name if i >= 0 else ""

    def rate_at(self, t_ms: float) -> float:
        """The target start rate at ``t_ms``, payments/s for this instance."""
        i = self.index_at(t_ms)
        rate = self._rate
        if i >= 0:
            phase = self.phases[i]
            if phase.rate is not None:
                rate = phase.rate * self._share
            if phase.rate_end is not None:
                done = (t_ms - self._starts[i]) / (self._ends[i] - self._starts[i])
                rate += (phase.rate_end * self._share - rate) * done
        if self._curve:
            rate *= self._curve[int(t_ms // _HOUR_MS) % 24]
        return rate

    def next_arrival(self, t_ms: float, work: float) -> float:
        """When the next start is due after one at ``t_ms``: where the rate's integral reaches ``work``.

        ``work`` is 1 for constant spacing, an Exp(1) draw for Poisson arrivals (the time
        change that makes a Poisson process of varying rate). Infinite if none ever is.
        Whole days (with an arrival curve) and whole ramp steps that the work outlasts are
        integrated at once, so the steps taken do not depend on how small the rate is.
        """
        steps = 0
        while t_ms < NEVER_MS:
            i = self.index_at(t_ms)
            end = self._edge_after(t_ms)
            ramp = i >= 0 and self.phases[i].rate_end is not None
            if steps >= _STEPS_BEFORE_SKIPPING:  # a long way to go: integrate it in closed form
                if self._curve:
                    t_ms, work = self._skip_days(t_ms, work, i)
                    end = self._edge_after(t_ms)
                if ramp:
                    t_ms, work = self._skip_steps(t_ms, work, end, i)
            if ramp:
                end = min(end, t_ms + _RAMP_STEP_MS)
            steps += 1
            per_ms = self.rate_at(t_ms if end == math.inf else (t_ms + end) / 2) / 1000
            if per_ms > 0:
                due = t_ms + work / per_ms
                if due <= end:
                    return due if due < NEVER_MS else math.inf
                work -= per_ms * (end - t_ms)
            elif end == math.inf:
                return math.inf
            t_ms = end
        return math.inf

    def _skip_days(self, t_ms: float, work: float, index: int) -> tuple[float, float]:
        """Past the whole days before the next phase edge that the work outlasts by more than a day."""
        i = bisect.bisect_right(self._edges, t_ms)
        edge = self._edges[i] if i < len(self._edges) else math.inf
        # The last day before the edge is left to the caller (inf // n is nan, not inf).
        most = math.inf if edge == math.inf else (edge - t_ms) // _DAY_MS - 1
        if most < 1:
            return t_ms, work
        line = self._line(index)
        origin, rate, slope = line
        # Payments/s times seconds: a day's worth at a rate of 1 with the curve.
        daily = self._curve_sum * _HOUR_MS / 1000
        if slope == 0:
            day = rate * daily  # any 24 hours hold each hour of the curve once
            if day <= 0:
                return t_ms + most * _DAY_MS, work
            days = min(most, work // day - 1)
            if days < 1:
                return t_ms, work
            return t_ms + days * _DAY_MS, work - days * day
        top = max(rate + slope * (t_ms - origin), rate + slope * (t_ms + 2 * _DAY_MS - origin))
        if work <= 2 * top * daily:
            return t_ms, work
        # A ramp (within one phase, so at most a year of days): the most days the work outlasts.
        days = _most_below(work, int(most), lambda n: self._integral(line, t_ms, t_ms + n * _DAY_MS)) - 1
        if days < 1:
            return t_ms, work
        return t_ms + days * _DAY_MS, work - self._integral(line, t_ms, t_ms + days * _DAY_MS)

    def _skip_steps(self, t_ms: float, work: float, end: float, index: int) -> tuple[float, float]:
        """Past the whole ramp steps before ``end`` that the work outlasts by more than a step."""
        line = self._line(index)
        multiplier = self._curve[int(t_ms // _HOUR_MS) % 24] if self._curve else 1.0
        origin, rate, slope = line

        def integral(steps: int) -> float:
            length = steps * _RAMP_STEP_MS
            return multiplier * (rate + slope * (t_ms + length / 2 - origin)) * length / 1000

        most = int((end - t_ms) // _RAMP_STEP_MS)
        if most < 3 or work <= integral(2):
            return t_ms, work
        steps = _most_below(work, most, integral) - 1
        if steps < 1:
            return t_ms, work
        return t_ms + steps * _RAMP_STEP_MS, work - integral(steps)

    def _line(self, index: int) -> _Line:
        """The base rate of phase ``index`` (-1: outside every phase), the arrival curve aside."""
        if index < 0:
            return 0.0, self._rate, 0.0
        phase = self.phases[index]
        rate = self._rate if phase.rate is None else phase.rate * self._share
        if phase.rate_end is None:
            return 0.0, rate, 0.0
        start, end = self._starts[index], self._ends[index]
        return start, rate, (phase.rate_end * self._share - rate) / (end - start)

    def _integral(self, line: _Line, begin: float, end: float) -> float:
        """Payments due over [``begin``, ``end``) at ``line``'s base rate times the arrival curve.

        Closed form: the hours up to the first midnight, the whole days at once, the hours
        after the last one; a linear rate's integral over an hour is its value at the middle.
        """
        origin, rate, slope = line

        def hours(a: float, b: float) -> float:
            total = 0.0
            while a < b:
                hour_end = min(b, (a // _HOUR_MS + 1) * _HOUR_MS)
                weight = self._curve[int(a // _HOUR_MS) % 24] if self._curve else 1.0
                total += weight * (rate + slope * ((a + hour_end) / 2 - origin)) * (hour_end - a) / 1000
                a = hour_end
            return total

        if not self._curve or end - begin < 2 * _DAY_MS:
            if not self._curve:
                return (rate + slope * ((begin + end) / 2 - origin)) * (end - begin) / 1000
            return hours(begin, end)
        first = (begin // _DAY_MS + 1) * _DAY_MS
        days = (end - first) // _DAY_MS
        last = first + days * _DAY_MS
        hour_s = _HOUR_MS / 1000
        # Day k (from ``first``): sum over hours h of curve[h] * rate at the hour's middle * an hour.
        day0 = sum(
            weight * (rate + slope * (first + (h + 0.5) * _HOUR_MS - origin)) * hour_s
            for h, weight in enumerate(self._curve)
        )
        growth = slope * _DAY_MS * sum(self._curve) * hour_s
        return hours(begin, first) + days * day0 + growth * days * (days - 1) / 2 + hours(last, end)

    def _edge_after(self, t_ms: float) -> float:
        """The next moment after ``t_ms`` at which the rate may jump."""
        i = bisect.bisect_right(self._edges, t_ms)
        edge = self._edges[i] if i < len(self._edges) else math.inf
        if self._curve:
            edge = min(edge, (t_ms // _HOUR_MS + 1) * _HOUR_MS)
        return edge

    def mean_rate(self, index: int, until_ms: float) -> float:
        """The target rate averaged over phase ``index`` (up to ``until_ms``)."""
        start, end = self._starts[index], min(self._ends[index], until_ms)
        if end <= start:
            return self.rate_at(start)
        return self._integral(self._line(index), start, end) / ((end - start) / 1000)

    def mean_rate_outside(self, start_ms: float, until_ms: float) -> float:
        """The target rate averaged over the time outside every phase."""
        line, due, seconds = self._line(-1), 0.0, 0.0
        begin = start_ms
        for phase_start, phase_end in (*zip(self._starts, self._ends), (math.inf, math.inf)):
            end = min(phase_start, until_ms)
            if end > begin:
                due += self._integral(line, begin, end)
                seconds += (end - begin) / 1000
            begin = max(begin, phase_end)
            if begin >= until_ms:
                break
        return due / seconds if seconds else self.rate_at(start_ms)

    def edges_ms(self) -> list[int]:
        """The whole ms at which a phase begins or ends: the first an event of the new state can be due at."""
        return sorted({math.ceil(edge) for edge in self._edges})

    def span_ms(self, index: int) -> tuple[float, float]:
        """Phase ``index``'s start and end in epoch ms."""
        return self._starts[index], self._ends[index]


def _most_below(work: float, most: int, integral: Callable[[int], float]) -> int:
    """The largest ``n`` from 0 to ``most`` whose ``integral(n)`` is below ``work`` (it grows with ``n``)."""
    low, high = 0, most
    while low < high:
        mid = (low + high + 1) // 2
        if integral(mid) < work:
            low = mid
        else:
            high = mid - 1
    return low
