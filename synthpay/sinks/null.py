"""Discards events (counting them as delivered): measures the engine without any I/O."""

from __future__ import annotations

from collections.abc import Sequence

from synthpay.model.events import Event
from synthpay.sinks.base import SinkContext, SynchronousSink


class NullSink(SynchronousSink):
    """Counts and forgets."""

    def __init__(self, ctx: SinkContext) -> None:
        self._ledger = ctx.ledger

    def write(self, batch: Sequence[Event]) -> None:
        self._ledger.written(batch)
