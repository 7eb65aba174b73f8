"""The profiler on hand-made streams: paths, steps, bins, arrivals, entities, closing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.profile import Profile
from synthpay.calibrate.profiler import ProfilerOptions, profile

T0 = 1_796_648_400_000  # a whole hour (UTC)
FLOW = ("Initiated", "Validated", "Completed")


def payment(pid: str, start: int, gaps: tuple[int, ...], statuses: tuple[str, ...] = FLOW) -> list[Observation]:
    """A payment's events, each arriving at its own time."""
    out = []
    ts = start
    for status, gap in zip(statuses, (0, *gaps), strict=True):
        ts += gap
        out.append(Observation(pid, status, ts, ts, "bank-a", "bank-b", 10.0, "EUR"))
    return out


def by_arrival(*payments: list[Observation]) -> list[Observation]:
    return sorted((e for p in payments for e in p), key=lambda o: o.arrival_ms)


def run(events: list[Observation], record_timestamps: bool = True, **options: int) -> Profile:
    return profile(events, ("test",), record_timestamps, ProfilerOptions(**options))


def test_paths_count_payments_per_status_path() -> None:
    events = by_arrival(
        payment("a", T0, (1000, 3000)),
        payment("b", T0 + 10, (1000, 3000)),
        payment("c", T0 + 20, (500,), ("Initiated", "Failed")),
    )
    result = profile(events, ("test",), True)
    assert dict(result.paths) == {FLOW: 2, ("Initiated", "Failed"): 1}
    assert (result.payments, result.events, result.open_at_end) == (3, 8, 0)


def test_gaps_are_time_since_the_step_before_and_offsets_since_the_start() -> None:
    result = profile(by_arrival(payment("a", T0, (1000, 3000))), ("test",), True)
    assert result.gaps[(FLOW, 1)].values == (1000.0,)
    assert result.gaps[(FLOW, 2)].values == (3000.0,)
    assert result.offsets[(FLOW, 2)].values == (4000.0,)
    assert result.gaps[(FLOW, 2)].starts_ms == (T0,)


def test_events_are_ordered_by_their_time_not_their_arrival() -> None:
    events = payment("a", T0, (1000, 3000))
    events[1] = events[1]._replace(arrival_ms=T0 + 4000)  # Validated held back past Completed
    result = profile(sorted(events, key=lambda o: o.arrival_ms), ("test",), True)
    assert dict(result.paths) == {FLOW: 1}
    assert result.gaps[(FLOW, 1)].values == (1000.0,)


def test_a_repeated_status_and_time_is_a_duplicate_dropped_from_the_path() -> None:
    events = payment("a", T0, (1000, 3000))
    copy = events[1]._replace(arrival_ms=T0 + 1500)
    result = profile(by_arrival(events, [copy]), ("test",), True)
    assert dict(result.paths) == {FLOW: 1}
    assert result.anomalies.duplicates == 1
    assert result.events == 4


def test_a_payment_idle_past_the_horizon_is_closed_and_its_late_comer_counted_as_split() -> None:
    early = payment("a", T0, (1000,), ("Initiated", "Validated"))
    straggler = payment("a", T0 + 1000 + 120_000, (), ("Completed",))
    # Others keep the watermark moving, so the first payment is closed before its last event.
    others = [payment(f"o{i}", T0 + i * 10_000, (100,), ("Initiated", "Failed")) for i in range(20)]
    result = run(by_arrival(early, straggler, *others), horizon_ms=60_000)
    assert result.split == 1
    assert result.paths[("Initiated", "Validated")] == 1
    assert FLOW not in result.paths


def test_a_gap_within_the_horizon_does_not_split() -> None:
    slow = payment("a", T0, (1000, 50_000))
    others = [payment(f"o{i}", T0 + i * 10_000, (100,), ("Initiated", "Failed")) for i in range(20)]
    result = run(by_arrival(slow, *others), horizon_ms=60_000)
    assert (result.split, result.paths[FLOW]) == (0, 1)


def test_the_horizon_grows_with_the_longest_payment_seen() -> None:
    # A 50 s payment closes first; then a 100 s gap no longer splits a 60 s horizon (2 x 50 s).
    first = payment("a", T0, (50_000,), ("Initiated", "Completed"))
    second = payment("b", T0 + 200_000, (100_000,), ("Initiated", "Completed"))
    others = [payment(f"o{i}", T0 + i * 10_000, (100,), ("Initiated", "Failed")) for i in range(40)]
    result = run(by_arrival(first, second, *others), horizon_ms=60_000)
    assert result.split == 0
    assert result.paths[("Initiated", "Completed")] == 2


def test_a_prefix_of_a_longer_path_cut_by_the_end_of_input_is_left_open() -> None:
    done = payment("a", T0, (1000, 3000))
    cut = payment("b", T0 + 2000, (1000,), ("Initiated", "Validated"))
    result = profile(by_arrival(done, cut), ("test",), True)
    assert result.open_at_end == 1
    assert dict(result.paths) == {FLOW: 1}


def test_a_path_that_is_no_prefix_is_closed_at_the_end_of_input() -> None:
    done = payment("a", T0, (1000, 3000))
    other = payment("b", T0 + 2000, (1000,), ("Initiated", "Failed"))
    result = profile(by_arrival(done, other), ("test",), True)
    assert result.open_at_end == 0
    assert result.paths[("Initiated", "Failed")] == 1


def test_a_prefix_that_ended_long_before_the_end_of_input_is_a_path_of_its_own() -> None:
    done = payment("a", T0, (1000, 3000))
    short = payment("b", T0 + 10, (1000,), ("Initiated", "Validated"))
    later = payment("c", T0 + 100_000, (1000, 3000))
    result = profile(by_arrival(done, short, later), ("test",), True)
    assert result.open_at_end == 0
    assert result.paths[("Initiated", "Validated")] == 1


def test_bins_count_paths_and_sum_log_delays_by_start() -> None:
    events = by_arrival(
        payment("a", T0, (1000, 3000)), payment("b", T0 + 5000, (2000, 3000)), payment("c", T0 + 12_000, (10, 10))
    )
    result = profile(events, ("test",), True)
    first = result.bins[T0 // 10_000]
    assert dict(first.paths) == {FLOW: 2}
    count, s, s2 = first.delays["Validated"]
    assert count == 2
    assert s == pytest.approx(math.log1p(1000) + math.log1p(2000))
    assert s2 == pytest.approx(math.log1p(1000) ** 2 + math.log1p(2000) ** 2)
    assert dict(result.bins[T0 // 10_000 + 1].paths) == {FLOW: 1}


def test_arrivals_give_the_mean_and_variance_of_gaps_between_starts_and_starts_per_hour() -> None:
    starts = [T0, T0 + 100, T0 + 300, T0 + 3_600_000]
    events = by_arrival(*(payment(f"p{i}", s, (10,), ("Initiated", "Failed")) for i, s in enumerate(starts)))
    arrivals = profile(events, ("test",), True).arrivals
    gaps = [100, 200, 3_599_700]
    mean = sum(gaps) / 3
    assert arrivals.gaps == 3
    assert arrivals.gap_mean_ms == pytest.approx(mean)
    assert arrivals.gap_variance_ms2 == pytest.approx(sum((g - mean) ** 2 for g in gaps) / 2)
    assert dict(arrivals.per_hour) == {T0 // 3_600_000: 3, T0 // 3_600_000 + 1: 1}


def test_banks_amount_and_currency_come_from_the_first_event_carrying_them() -> None:
    first = Observation("a", "Initiated", T0, T0)
    second = Observation("a", "Completed", T0 + 10, T0 + 10, "src", "dst", 12.5, "CHF")
    result = profile([first, second], ("test",), True)
    assert (dict(result.sources_seen), dict(result.destinations_seen)) == ({"src": 1}, {"dst": 1})
    assert dict(result.currencies) == {"CHF": 1}
    assert result.amounts is not None and result.amounts.values == (12.5,)


def test_an_input_without_amounts_has_none() -> None:
    result = profile([Observation("a", "Initiated", T0, T0)], ("test",), True)
    assert result.amounts is None
    assert dict(result.sources_seen) == {}


def test_time_span_is_the_earliest_and_latest_event_time() -> None:
    result = profile(by_arrival(payment("a", T0, (1000, 3000)), payment("b", T0 + 50, (10, 10))), ("test",), True)
    assert (result.first_ms, result.last_ms) == (T0, T0 + 4000)


def test_an_event_arriving_long_after_its_time_is_late() -> None:
    events = payment("a", T0, (1000, 3000))
    events[1] = events[1]._replace(arrival_ms=T0 + 1000 + 30_000)
    result = profile(sorted(events, key=lambda o: o.arrival_ms), ("test",), True)
    assert result.anomalies.late.values == (30_000.0,)
    assert result.anomalies.out_of_order == 0


def test_an_event_arriving_within_the_tolerance_is_not_late() -> None:
    events = payment("a", T0, (1000, 3000))
    events[1] = events[1]._replace(arrival_ms=T0 + 1000 + 900)
    result = profile(sorted(events, key=lambda o: o.arrival_ms), ("test",), True)
    assert result.anomalies.late.seen == 0


def test_an_event_held_back_past_the_next_status_is_a_swap_not_late() -> None:
    events = payment("a", T0, (3000, 3000))
    events[1] = events[1]._replace(arrival_ms=T0 + 6001)  # Validated emitted 1 ms after Completed
    result = profile(sorted(events, key=lambda o: o.arrival_ms), ("test",), True)
    assert result.anomalies.out_of_order == 1
    assert result.anomalies.late.seen == 0


def test_an_estimated_arrival_just_before_the_next_status_is_a_swap() -> None:
    # A file reader's estimate: the largest time read from the held-back event's file.
    events = payment("a", T0, (3000, 3000))
    events[1] = events[1]._replace(arrival_ms=T0 + 5900)
    ordered = sorted(events, key=lambda o: o.arrival_ms)
    assert profile(ordered, ("test",), False).anomalies.out_of_order == 1
    assert profile(ordered, ("test",), True).anomalies.out_of_order == 0


def test_a_payment_with_two_swaps_is_counted_once() -> None:
    events = payment("a", T0, (3000, 3000, 3000), ("Initiated", "Validated", "Accounted", "Completed"))
    events[0] = events[0]._replace(arrival_ms=T0 + 3001)
    events[2] = events[2]._replace(arrival_ms=T0 + 9001)
    result = profile(sorted(events, key=lambda o: o.arrival_ms), ("test",), True)
    assert result.anomalies.out_of_order == 1


def test_options_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="reservoir"):
        ProfilerOptions(reservoir=0)
    with pytest.raises(ValueError, match="horizon_max_ms"):
        ProfilerOptions(horizon_ms=10, horizon_max_ms=5)


ENDINGS = (("Initiated", "Failed"), ("Initiated", "Validated", "Completed"), ("Initiated", "Validated", "Rejected"))


@st.composite
def interleaved(draw: st.DrawFn) -> tuple[list[Observation], list[Observation]]:
    """Payments (none's path a prefix of another's), as emitted and in a shuffled arrival order."""
    payments = []
    for i in range(draw(st.integers(1, 8))):
        statuses = draw(st.sampled_from(ENDINGS))
        gaps = tuple(draw(st.integers(1, 5000)) for _ in statuses[1:])
        payments.append(payment(f"p{i}", T0 + draw(st.integers(0, 60_000)), gaps, statuses))
    emitted = by_arrival(*payments)
    order = draw(st.permutations(emitted))
    return emitted, [e._replace(arrival_ms=T0 + 100_000 + n) for n, e in enumerate(order)]


@given(interleaved())
def test_any_arrival_order_gives_the_same_paths_and_steps(streams: tuple[list[Observation], list[Observation]]) -> None:
    emitted, shuffled = streams
    a = profile(emitted, ("test",), True)
    b = profile(shuffled, ("test",), True)
    assert dict(a.paths) == dict(b.paths)
    assert {k: sorted(s.values) for k, s in a.gaps.items()} == {k: sorted(s.values) for k, s in b.gaps.items()}
    assert {k: sorted(s.values) for k, s in a.offsets.items()} == {k: sorted(s.values) for k, s in b.offsets.items()}


def test_the_offsets_of_one_path_s_steps_are_of_the_same_payments_index_by_index() -> None:
    # A reservoir of 3 over 40 payments keeps whole payments: fit pairs the steps of one
    # payment by index (parallel timing measures every status from the workflow's first step).
    gaps = {f"p{i}": (100 + i, 1000 + 7 * i) for i in range(40)}
    events = by_arrival(*(payment(pid, T0 + 10 * i, g) for i, (pid, g) in enumerate(gaps.items())))
    result = run(events, reservoir=3)
    pairs = set(zip(result.offsets[(FLOW, 1)].values, result.offsets[(FLOW, 2)].values))
    assert len(pairs) == 3
    assert pairs <= {(float(a), float(a + b)) for a, b in gaps.values()}
