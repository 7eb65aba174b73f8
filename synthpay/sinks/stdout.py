"""JSON lines on standard output: ``{"topic": ..., "key": ..., "timestamp": ..., "value": {...}}``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from synthpay.model.events import Event
from synthpay.sinks.base import SinkContext, SinkError, SynchronousSink


class StdoutSink(SynchronousSink):
    """Writes one JSON object per event; a closed pipe (``| head``) stops the run cleanly."""

    def __init__(self, ctx: SinkContext, stream: TextIO | None = None) -> None:
        self._ledger = ctx.ledger
        self._out = stream or sys.stdout

    def write(self, batch: Sequence[Event]) -> None:
        dumps = json.dumps
        lines = [dumps({"topic": e.topic.name, "key": e.key, "timestamp": e.ts_ms, "value": e.record()}) for e in batch]
        try:
            self._out.write("\n".join(lines) + "\n")
            self._out.flush()
        except BrokenPipeError:
            raise SinkError("stdout was closed by the reader") from None
        self._ledger.written(batch)
