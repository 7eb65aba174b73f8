"""Delivery accounting: what a sink counts as produced, delivered and failed, per topic.

Counters only, never lists: memory does not grow with the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from synthpay.summary.document import PartitionRange

if TYPE_CHECKING:
    from synthpay.model.events import Event


class Ledger:
    """Delivery accounting per topic. Written only by the I/O thread; read by summaries.

    Every topic's counters exist from the start, so readers on another thread never see a
    dict change size.
    """

    __slots__ = ("delivered", "failed", "offsets", "pending", "produced")

    def __init__(self, topics: Iterable[str]) -> None:
        names = list(topics)
        self.produced = dict.fromkeys(names, 0)
        self.delivered = dict.fromkeys(names, 0)
        self.failed = dict.fromkeys(names, 0)
        self.pending = 0  # accepted by the sink, fate not known yet (e.g. librdkafka's queue)
        # Per topic, the offset range of each partition written to: only sinks that know offsets fill it.
        self.offsets: dict[str, tuple[PartitionRange, ...]] = {}

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

    def place(self, before: Mapping[tuple[str, int], int], after: Mapping[tuple[str, int], int]) -> None:
        """Record where the run's records lie from each partition's end offset before and after the run.

        A partition whose end did not move holds none of them and is left out; one that
        appeared during the run started at offset 0.
        """
        offsets: dict[str, list[PartitionRange]] = {}
        for (topic, partition), end in sorted(after.items()):
            start = before.get((topic, partition), 0)
            if end > start:
                offsets.setdefault(topic, []).append(PartitionRange(partition, start, end))
        self.offsets = {topic: tuple(ranges) for topic, ranges in offsets.items()}

    def totals(self) -> tuple[int, int, int]:
        """(produced, delivered, failed) over all topics."""
        return sum(self.produced.values()), sum(self.delivered.values()), sum(self.failed.values())
