"""Sinks for the tests, registered through the same plugin path users use.

Loaded as ``plugins = ["plugins_for_tests:register"]`` (conftest puts tests/ on sys.path,
and subprocesses get it on PYTHONPATH). What the sinks see is recorded in module globals,
read by in-process tests; with ``SYNTHPAY_TEST_REPORT=<path>`` in the environment the
sinks also write their counts there as JSON on close, for subprocess tests.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from synthpay.sinks.base import SinkError, SynchronousSink

#: (topic, key, ts_ms) of every event any test sink received, in order.
EVENTS: list[tuple[str, str, int]] = []
#: Events emitted by the engine but not yet written, sampled at the start of each SlowSink.write.
OUTSTANDING: list[int] = []
#: Sizes of the batches SlowSink received.
BATCHES: list[int] = []
#: Set by a test: returns how many events the engine has emitted so far.
PROBE: Callable[[], int] | None = None
#: Seconds SlowSink sleeps per batch.
SLOW_S = 0.002
CLOSED: list[str] = []


def reset() -> None:
    global PROBE
    EVENTS.clear()
    OUTSTANDING.clear()
    BATCHES.clear()
    CLOSED.clear()
    PROBE = None


class CollectingSink(SynchronousSink):
    """Records every event; each is produced and delivered at once."""

    name = "collect"

    def __init__(self, ctx: Any) -> None:
        self._ledger = ctx.ledger
        self._report = os.environ.get("SYNTHPAY_TEST_REPORT")
        self._counts: dict[str, int] = {}

    def write(self, batch: Sequence[Any]) -> None:
        for event in batch:
            name = event.topic.name
            EVENTS.append((name, event.key, event.ts_ms))
            self._counts[name] = self._counts.get(name, 0) + 1
        self._ledger.written(batch)

    def close(self) -> None:
        CLOSED.append(self.name)
        if self._report:
            with open(self._report, "w") as fh:
                json.dump({"sink": self.name, "topics": self._counts, "total": sum(self._counts.values())}, fh)


class SlowSink(CollectingSink):
    """Sleeps per batch (real time) and samples how far the engine has run ahead of it."""

    name = "slow"

    def write(self, batch: Sequence[Any]) -> None:
        if PROBE is not None:
            OUTSTANDING.append(PROBE() - sum(self._ledger.produced.values()))
        BATCHES.append(len(batch))
        time.sleep(SLOW_S)
        super().write(batch)


class FailingSink(CollectingSink):
    """Fails part way, as a full disk or a fatal broker error would: at its third batch."""

    name = "failing"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self._batches = 0

    def write(self, batch: Sequence[Any]) -> None:
        self._batches += 1
        if self._batches == 3:
            raise SinkError("test sink: broke at the third batch")
        super().write(batch)


class FailingFlushSink(CollectingSink):
    """Takes every batch, then fails the final flush."""

    name = "failing-flush"

    def flush(self, timeout_s: float) -> int:
        raise SinkError("test sink: broke at the final flush")


def register(registry: Any) -> None:
    registry.add_sink("collect", CollectingSink)
    registry.add_sink("slow", SlowSink)
    registry.add_sink("failing", FailingSink)
    registry.add_sink("failing-flush", FailingFlushSink)


def replace_null(registry: Any) -> None:
    """A plugin may replace a built-in sink."""
    registry.add_sink("null", CollectingSink)


def broken(registry: Any) -> None:
    raise RuntimeError("boom in register")


def bad_name(registry: Any) -> None:
    registry.add_sink("", CollectingSink)


not_callable = 42
