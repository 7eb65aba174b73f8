"""Counting what happened while it happens: delivery per topic, emission, lag, memory.

Counters only, never lists: memory does not grow with the number of events.
"""

from __future__ import annotations

import resource
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthpay.model.events import Event


class Ledger:
    """Delivery accounting per topic. Written only by the I/O thread; read by summaries.

    Every topic's counters exist from the start, so readers on another thread never see a
    dict change size.
    """

    __slots__ = ("produced", "delivered", "failed", "pending")

    def __init__(self, topics: Iterable[str]) -> None:
        names = list(topics)
        self.produced = dict.fromkeys(names, 0)
        self.delivered = dict.fromkeys(names, 0)
        self.failed = dict.fromkeys(names, 0)
        self.pending = 0  # accepted by the sink, fate not known yet (e.g. librdkafka's queue)

    def written(self, batch: Iterable[Event]) -> None:
        """Count a batch that a synchronous sink accepted and delivered in one go."""
        produced, delivered = self.produced, self.delivered
        for event in batch:
            name = event.topic.name
            produced[name] += 1
            delivered[name] += 1

    def settle(self, pending: int, unknown: Mapping[str, int]) -> None:
        """Count as delivered what is neither failed, of ``unknown`` fate, nor ``pending``.

        For a sink that reports only failures. ``pending`` (the sink's queue) may count a
        message more than once, never less, so the total delivered never runs ahead of the
        truth. With nothing pending every topic's count is exact. Otherwise the newly
        delivered are shared out over the topics in proportion to what each has in flight:
        an estimate per topic, corrected at the next moment nothing is pending.
        """
        produced, delivered, failed = self.produced, self.delivered, self.failed
        self.pending = pending
        in_flight = {name: count - failed[name] - unknown[name] - delivered[name] for name, count in produced.items()}
        if not pending:
            for name, count in in_flight.items():
                delivered[name] += count
            return
        weights = {name: max(0, count) for name, count in in_flight.items()}
        total = sum(weights.values())
        fresh = sum(in_flight.values()) - pending
        if fresh > 0 and total:
            for name, weight in weights.items():
                delivered[name] += weight * fresh // total

    def totals(self) -> tuple[int, int, int]:
        """(produced, delivered, failed) over all topics."""
        return sum(self.produced.values()), sum(self.delivered.values()), sum(self.failed.values())


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
        "emitted", "workflows", "started", "completed", "bank_updates", "banks_created",
        "lag_max_ms", "first_ts_ms", "last_ts_ms", "lag_counts", "peak_in_flight",
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
