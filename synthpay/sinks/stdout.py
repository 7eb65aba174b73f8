"""JSON lines on standard output: ``{"topic", "key", "timestamp", "value": {...}, "headers": {...}}``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TextIO

from synthpay.model.events import Event, Labels
from synthpay.sinks.base import ReaderGone, SinkContext, SynchronousSink


def json_line(event: Event, labels: Labels) -> str:
    """``event`` as one JSON object: the record, and under ``headers`` the labels Kafka would carry."""
    return json.dumps(
        {
            "topic": event.topic.name,
            "key": event.key,
            "timestamp": event.ts_ms,
            "value": event.record(),
            "headers": labels.of(event),
        }
    )


class StdoutSink(SynchronousSink):
    """Writes one JSON object per event; a closed pipe (``| head``) ends the run, as the reader asked."""

    def __init__(self, ctx: SinkContext, stream: TextIO | None = None) -> None:
        self._ledger = ctx.ledger
        self._labels = ctx.labels
        self._out = stream or sys.stdout

    def write(self, batch: Sequence[Event]) -> None:
        labels = self._labels
        try:
            self._out.write("".join(json_line(e, labels) + "\n" for e in batch))
            self._out.flush()
        except BrokenPipeError:
            raise ReaderGone("stdout was closed by the reader") from None
        self._ledger.written(batch)
