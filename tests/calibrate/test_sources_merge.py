"""Merging streams by arrival, a chunk at a time."""

from __future__ import annotations

import heapq

from hypothesis import given
from hypothesis import strategies as st

from synthpay.calibrate.merge import ARRIVAL, batched, merge
from synthpay.calibrate.observations import Observation

STREAM = st.lists(st.integers(0, 50), max_size=40).map(sorted)


def _events(stream: int, arrivals: list[int]) -> list[Observation]:
    return [Observation(f"{stream}-{i}", "S", a, a) for i, a in enumerate(arrivals)]


@given(st.lists(STREAM, max_size=5), st.integers(1, 7))
def test_sorted_streams_merge_as_heapq_does_ties_aside(streams: list[list[int]], size: int) -> None:
    events = [_events(i, arrivals) for i, arrivals in enumerate(streams)]
    merged = [o for chunk in merge([batched(e, size) for e in events]) for o in chunk]
    expected = list(heapq.merge(*events, key=ARRIVAL))
    assert sorted(merged) == sorted(expected)
    assert [o.arrival_ms for o in merged] == [o.arrival_ms for o in expected]


@given(st.lists(st.lists(st.integers(0, 50), max_size=30), max_size=4), st.integers(1, 7))
def test_unsorted_streams_lose_no_event(streams: list[list[int]], size: int) -> None:
    events = [_events(i, arrivals) for i, arrivals in enumerate(streams)]
    merged = [o for chunk in merge([batched(e, size) for e in events]) for o in chunk]
    assert sorted(merged) == sorted(o for e in events for o in e)
