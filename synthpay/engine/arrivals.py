"""When payments arrive under ``--rate``: at constant spacing, as a Poisson process, or along the timeline.

The scheduler drives it from its timing wheel: at each arrival tick it counts the arrivals
due into the backlog and pushes the next tick where this says the next arrival falls.
Arrivals follow a fixed schedule, drawn from their own seeded stream, so the schedule does
not depend on how ticks interleave with the rest of the wheel; when the engine falls
behind, the backlog shows up as lag instead of being silently dropped.
"""

from __future__ import annotations

import math
import random
from typing import Final, Protocol

from synthpay.config.settings import Arrivals as Spacing
from synthpay.model.timeline import NEVER_MS, Timeline

# Arrivals drawn one at a time per wheel tick, at most. When more are due (a rate far above
# what a millisecond can start), or a gap is below the float resolution of epoch
# milliseconds (adding it changes nothing), the rest are counted at once, so no rate keeps
# the loop from moving on.
_ONE_BY_ONE: Final = 1024
# A backlog stops counting here: arrivals beyond it could never all be started anyway.
MAX_BACKLOG: Final = 2**53


class Process(Protocol):
    """An arrival process: counts the arrivals due and knows when the next one is."""

    @property
    def next_ms(self) -> float:
        """When the next arrival not yet counted is due, in (fractional) epoch ms."""
        ...

    def count(self, due: int) -> int:
        """The arrivals due by ``due`` not counted before; afterwards ``next_ms`` is past ``due``."""
        ...


class Constant:
    """Arrival k is due k gaps after the first, by arithmetic on its index: no loop whatever
    the rate, and no rounding error that adds up over the run."""

    __slots__ = ("_counted", "_first_ms", "_gap_ms", "_rate", "next_ms")

    def __init__(self, rate: float, start_ms: int) -> None:
        self._rate = rate
        self._gap_ms = 1000.0 / rate
        self._first_ms = self.next_ms = float(start_ms)
        self._counted = 0

    def count(self, due: int) -> int:
        """Arrivals ``_counted`` .. ``floor(index)`` are due."""
        index = min((due - self._first_ms) * self._rate / 1000, float(self._counted + MAX_BACKLOG))
        arrivals = math.floor(index) + 1
        new = max(0, arrivals - self._counted)
        self._counted += new
        self.next_ms = self._first_ms + self._counted * self._gap_ms
        return new


class Poisson:
    """One random gap after another, as long as that takes a bounded number of draws."""

    __slots__ = ("_gap_ms", "_rng", "next_ms")

    def __init__(self, rate: float, start_ms: int, rng: random.Random) -> None:
        self._gap_ms = 1000.0 / rate  # the mean gap; inf for a rate too small to divide by
        self._rng = rng
        self.next_ms = float(start_ms)

    def count(self, due: int) -> int:
        """Drawn one by one; past ``_ONE_BY_ONE``, a Poisson count for the rest of the way."""
        gap, new = self._gap_ms, 0
        if (due - self.next_ms) / gap <= _ONE_BY_ONE:
            for _ in range(_ONE_BY_ONE):
                if self.next_ms > due:
                    return new
                new += 1
                self.next_ms += self._rng.expovariate(1.0) * gap
        if self.next_ms <= due:
            # The one due at next_ms, then a Poisson count for the rest of the way (normal, at
            # a mean this large); the process being memoryless, the next gap starts at due.
            mean = min((due - self.next_ms) / gap, float(MAX_BACKLOG))
            new += 1 + max(0, round(self._rng.gauss(mean, math.sqrt(mean))))
            self.next_ms = due + self._rng.expovariate(1.0) * gap
        return new


class OnTimeline:
    """One arrival after another along the timeline's rate (phases, the arrival curve), a
    bounded number per tick; spaced evenly or as a Poisson process of varying rate."""

    __slots__ = ("_rng", "_timeline", "next_ms")

    def __init__(self, timeline: Timeline, start_ms: int, rng: random.Random | None) -> None:
        self._timeline = timeline
        self._rng = rng  # None: constant spacing
        self.next_ms = float(start_ms)

    def count(self, due: int) -> int:
        """One by one up to ``_ONE_BY_ONE``; the rest at the rate in force at ``due``."""
        timeline, new = self._timeline, 0
        for _ in range(_ONE_BY_ONE):
            if self.next_ms > due:
                return new
            new += 1
            self.next_ms = timeline.next_arrival(self.next_ms, self._work())
        if self.next_ms <= due:
            rest = min((due - self.next_ms) * timeline.rate_at(due) / 1000, float(MAX_BACKLOG))
            new += 1 + int(rest)
            self.next_ms = timeline.next_arrival(float(due), self._work())
        return new

    def _work(self) -> float:
        """The gap to the next arrival in units of the rate: 1, or exponential for Poisson arrivals."""
        return 1.0 if self._rng is None else self._rng.expovariate(1.0)


class Arrivals:
    """The run's arrival process and the backlog: arrivals due but not yet started."""

    __slots__ = ("_process", "exhausted", "pending")

    def __init__(self, process: Process) -> None:
        self._process = process
        self.pending = 0
        self.exhausted = False  # no arrival comes after those counted

    def arrive(self, due: int) -> int | None:
        """Count the arrivals due by ``due`` into the backlog; the ms of the next tick (after
        ``due``), or None when no arrival ever comes again."""
        self.pending = min(self.pending + self._process.count(due), MAX_BACKLOG)
        next_ms = self._process.next_ms
        if next_ms < NEVER_MS:
            return max(math.ceil(next_ms), due + 1)
        self.exhausted = True
        return None


def start_arrivals(
    rate: float, spacing: Spacing, timeline: Timeline | None, rng: random.Random, start_ms: int
) -> Arrivals:
    """The arrivals of a run at ``rate`` payments/s for this instance, the first due at ``start_ms``.

    With a timeline its rate rules; ``rng`` is the arrivals' own stream.
    """
    constant = spacing == "constant"
    process: Process
    if timeline is not None:
        process = OnTimeline(timeline, start_ms, None if constant else rng)
    elif constant:
        process = Constant(rate, start_ms)
    else:
        process = Poisson(rate, start_ms, rng)
    return Arrivals(process)
