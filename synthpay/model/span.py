"""The event-time span a run will cover, as far as it is known before the first event."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventSpan:
    """Event times a run will write, in epoch ms, known before it starts.

    A sink that must check them against its target's rules (a broker's retention and
    timestamp limits) reads this before it produces anything.
    """

    #: The first event's time: the run's start.
    first_ms: int
    #: The latest event time the run can write, when its settings bound it (a duration, a
    #: payment count at a rate, a backfill that ends now); None when nothing does.
    last_ms: int | None
    #: Where a backfill hands over to the real clock (about now), None for a run that never does.
    live_from_ms: int | None = None
