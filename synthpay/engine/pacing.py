"""Admission pacing under the real clock: start payments no faster than their events can be emitted.

A payment started now comes back as one event per status, each a fixed delay later, so
the starts of one moment become the due events of later ones. Started faster than the
engine and its sink can emit them, they fall due in bunches and every event of a bunch
lags (docs/explanation/performance.md: pacing trades a burst's start rate for lag that
stays low, paced and not).

So admission draws on a token bucket, filled at one payment per (cost of starting one +
cost of emitting one event) of wall time. Both costs are measured as the run goes,
weighted towards the last thousand or so measurements, so an hour of trickle, where
fixed costs per wake dominate, does not hold back a later burst for long; until an event
has been emitted, emitting is taken to cost what starting does. While events are due the
engine emits them first, so it cannot start payments faster than this anyway: what the
bucket changes is a quiet moment, which no longer lets a burst of starts through. Under
the virtual clock nothing is paced: time waits for the engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

#: Each new measurement of a cost counts this much less than the one after it.
DECAY: Final = 0.999


class Pace:
    """A token bucket for payment starts, filled at the measured rate the engine can sustain."""

    __slots__ = ("_admit_s", "_admitted", "_depth", "_emit_s", "_emitted", "_last", "_now", "_tokens")

    def __init__(self, depth: int, now: Callable[[], float] = time.perf_counter) -> None:
        """``depth``: the most payments started at once (the bucket starts full); ``now``: seconds."""
        self._now = now
        self._depth = depth
        self._tokens = float(depth)
        self._last = now()
        self._admit_s = 0.0
        self._admitted = 0.0
        self._emit_s = 0.0
        self._emitted = 0.0

    def allowance(self) -> int:
        """How many payments may start now."""
        now = self._now()
        cost = self.cost_s()
        if cost > 0:
            self._tokens = min(self._depth, self._tokens + (now - self._last) / cost)
        self._last = now
        return int(self._tokens)

    def admitted(self, payments: int, seconds: float) -> None:
        """``payments`` were started, which took ``seconds``."""
        self._tokens -= payments
        self._admit_s = self._admit_s * DECAY + seconds
        self._admitted = self._admitted * DECAY + payments

    def emitted(self, events: int, seconds: float) -> None:
        """``events`` were emitted and handed to the sink, which took ``seconds``."""
        self._emit_s = self._emit_s * DECAY + seconds
        self._emitted = self._emitted * DECAY + events

    def cost_s(self) -> float:
        """Seconds of wall time one payment start takes, with one of the events it will cause."""
        admit = self._admit_s / self._admitted if self._admitted else 0.0
        emit = self._emit_s / self._emitted if self._emitted else admit
        return admit + emit
