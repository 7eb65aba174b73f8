"""Discards events (counting them as delivered): measures the engine without any I/O."""

from __future__ import annotations

from collections.abc import Sequence

from synthpay.events import Event
from synthpay.sinks.base import SinkContext


class NullSink:
    """Counts and forgets."""

    def __init__(self, ctx: SinkContext) -> None:
        self._ledger = ctx.ledger

    def write(self, batch: Sequence[Event]) -> None:
        produced, delivered = self._ledger.produced, self._ledger.delivered
        for event in batch:
            name = event.topic.name
            produced[name] += 1
            delivered[name] += 1

    def poll(self) -> None:
        pass

    def flush(self, timeout_s: float) -> int:
        return 0

    def close(self) -> None:
        pass
