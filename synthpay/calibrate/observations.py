"""What every input yields: one payment status event, as read, in arrival order."""

from __future__ import annotations

from typing import NamedTuple


class Observation(NamedTuple):
    """One payment status event.

    A NamedTuple rather than a dataclass: one is made per event read, and a fit reads
    hundreds of thousands a second.

    ``arrival_ms`` is when the event was emitted: the record timestamp when the input has
    one (Kafka, or a CSV/JSON-lines column named by a flag), else the largest event time
    read so far from the same file or partition (a file sink writes in emission order).
    Sources yield observations in non-decreasing ``arrival_ms``, but for inputs with record
    timestamps (Kafka, whose consumer interleaves partitions, and a file's arrival column,
    read in file order), which come only roughly in that order: a consumer orders a
    payment's events by ``arrival_ms`` itself. The last four fields are None when the input
    does not have them.
    """

    payment: str
    status: str
    ts_ms: int
    arrival_ms: int
    source: str | None = None
    destination: str | None = None
    amount: float | None = None
    currency: str | None = None
