"""Merging streams of events by arrival, a batch at a time.

``heapq.merge`` compares events one by one in Python, which halves what reading the file
sink's Avro files costs. Here the streams come in batches (an Avro block, say) and are
merged a chunk at a time: every event up to the earliest last arrival among the streams'
current batches is taken (found by bisection), and the chunk is sorted in C (timsort
merges its sorted runs). Sorted streams give the order ``heapq.merge`` gives, ties aside.

A stream only roughly in arrival order (Kafka's, or a file's with an arrival column) comes
out roughly in order too: the stream whose batch ends earliest gives its whole batch each
round, so the merge never stalls.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter

from synthpay.calibrate.observations import Observation

#: ``Observation.arrival_ms``, by index: a C call, as sorting and bisecting need.
ARRIVAL = itemgetter(3)
BATCH = 1000


def batched(events: Iterable[Observation], size: int = BATCH) -> Iterator[list[Observation]]:
    """``events`` as lists of up to ``size``."""
    it = iter(events)
    while batch := list(islice(it, size)):
        yield batch


def merge(streams: Sequence[Iterator[list[Observation]]]) -> Iterator[list[Observation]]:
    """The events of ``streams`` (each in batches, in non-decreasing arrival) merged, in chunks."""
    if len(streams) == 1:
        yield from (batch for batch in streams[0] if batch)
        return
    buffers: list[tuple[list[Observation], Iterator[list[Observation]]]] = []
    for stream in streams:
        _refill(buffers, [], stream)
    while buffers:
        horizon = min(ARRIVAL(buffer[-1]) for buffer, _ in buffers)
        chunk: list[Observation] = []
        left: list[tuple[list[Observation], Iterator[list[Observation]]]] = []
        for buffer, stream in buffers:
            last = ARRIVAL(buffer[-1])
            cut = len(buffer) if last <= horizon else bisect_right(buffer, horizon, key=ARRIVAL)
            chunk += buffer[:cut]
            _refill(left, buffer[cut:], stream)
        buffers = left
        chunk.sort(key=ARRIVAL)
        yield chunk


def _refill(
    buffers: list[tuple[list[Observation], Iterator[list[Observation]]]],
    rest: list[Observation],
    stream: Iterator[list[Observation]],
) -> None:
    """Put ``stream`` back with ``rest``, or its next batch when ``rest`` is empty; drop it when it is done."""
    batch: list[Observation] | None = rest
    while not batch:
        batch = next(stream, None)
        if batch is None:
            return
    buffers.append((batch, stream))
