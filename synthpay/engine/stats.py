"""Counting what happened while it happens: delivery per topic, emission, lag, memory.

Counters only, never lists: memory does not grow with the number of events.
"""

from __future__ import annotations

import resource
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


def peak_rss_mib() -> float:
    """This process's peak resident memory, in MiB.

    From /proc (VmHWM) where there is one: getrusage's ru_maxrss survives exec, so a process
    started by a large one (a test runner, a benchmark) would report its parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


#: Scheduling lag is counted per millisecond up to this many ms.
LAG_SLOTS = 60_000


class EngineStats:
    """What the engine emitted. Written only by the Trio scheduler."""

    __slots__ = (
        "bank_updates",
        "banks_created",
        "completed",
        "emitted",
        "first_ts_ms",
        "lag_counts",
        "lag_max_ms",
        "last_ts_ms",
        "peak_in_flight",
        "started",
        "workflows",
    )

    def __init__(self, topics: Iterable[str], workflow_labels: Iterable[str]) -> None:
        self.emitted = dict.fromkeys(topics, 0)
        self.workflows = dict.fromkeys(workflow_labels, 0)
        self.started = 0
        self.completed = 0
        self.bank_updates = 0
        self.banks_created = 0
        self.lag_max_ms = 0
        self.peak_in_flight = 0
        # Events by scheduling lag in whole ms; the last slot collects everything beyond.
        self.lag_counts = [0] * (LAG_SLOTS + 1)
        self.first_ts_ms: int | None = None
        self.last_ts_ms: int | None = None

    @property
    def events(self) -> int:
        """Events emitted so far."""
        return sum(self.emitted.values())

    def record_lag(self, lag_ms: int, events: int) -> None:
        """``events`` were emitted ``lag_ms`` after they were due."""
        self.lag_counts[min(lag_ms, LAG_SLOTS)] += events
        if lag_ms > self.lag_max_ms:
            self.lag_max_ms = lag_ms

    def lag_percentile(self, fraction: float, since: Sequence[int] | None = None) -> int:
        """The lag in ms that ``fraction`` of events were emitted within (0 when none were measured).

        ``since``: a copy of ``lag_counts`` taken earlier, to count only the events after it.
        """
        counts = self.lag_counts if since is None else [now - then for now, then in zip(self.lag_counts, since)]
        total = sum(counts)
        if not total:
            return 0
        wanted, seen = fraction * total, 0
        for lag, count in enumerate(counts):
            seen += count
            if seen >= wanted:
                return lag
        return LAG_SLOTS
