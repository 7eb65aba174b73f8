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
# Within a ramp the rate is taken as constant over steps this long (at each step's middle).
_RAMP_STEP_MS: Final = 100.0


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

    __slots__ = ("_curve", "_edges", "_ends", "_rate", "_share", "_starts", "phases")

    def __init__(
        self, phases: Sequence[Phase], curve: Sequence[float], rate: float, instance_count: int, start_ms: int
    ) -> None:
        self.phases = tuple(sorted(phases, key=lambda p: p.at_s))
        self._curve = tuple(curve)
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
        """
        while True:
            end = self._edge_after(t_ms)
            i = self.index_at(t_ms)
            if i >= 0 and self.phases[i].rate_end is not None:
                end = min(end, t_ms + _RAMP_STEP_MS)
            per_ms = self.rate_at(t_ms if end == math.inf else (t_ms + end) / 2) / 1000
            if per_ms > 0:
                due = t_ms + work / per_ms
                if due <= end:
                    return due
                work -= per_ms * (end - t_ms)
            elif end == math.inf:
                return math.inf
            t_ms = end

    def _edge_after(self, t_ms: float) -> float:
        """The next moment after ``t_ms`` at which the rate may jump."""
        i = bisect.bisect_right(self._edges, t_ms)
        edge = self._edges[i] if i < len(self._edges) else math.inf
        if self._curve:
            edge = min(edge, (t_ms // _HOUR_MS + 1) * _HOUR_MS)
        return edge

    def mean_rate(self, index: int, until_ms: float) -> float:
        """The target rate averaged over phase ``index`` (up to ``until_ms``), by the second."""
        start, end = self._starts[index], min(self._ends[index], until_ms)
        return self._mean(start, end, lambda i: i == index)

    def mean_rate_outside(self, start_ms: float, until_ms: float) -> float:
        """The target rate averaged over the time outside every phase, by the second."""
        return self._mean(start_ms, until_ms, lambda i: i < 0)

    def _mean(self, start: float, end: float, counts: Callable[[int], bool]) -> float:
        samples = [
            self.rate_at(t)
            for t in (start + 1000 * s + 500 for s in range(int((end - start) // 1000)))
            if counts(self.index_at(t))
        ]
        return sum(samples) / len(samples) if samples else self.rate_at(start)

    def edges_ms(self) -> list[int]:
        """The whole ms at which a phase begins or ends: the first an event of the new state can be due at."""
        return sorted({math.ceil(edge) for edge in self._edges})

    def span_ms(self, index: int) -> tuple[float, float]:
        """Phase ``index``'s start and end in epoch ms."""
        return self._starts[index], self._ends[index]
