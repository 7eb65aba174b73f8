"""Workflow schedules and the weighted pick, without the engine."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from conftest import defaults_only
from hypothesis import given
from hypothesis import strategies as st

from synthpay.model.workflow import Mix, Status, Workflow, emission, schedule

STATUSES = defaults_only().statuses
WORKFLOWS = defaults_only().workflows


def offsets(steps: tuple[str, ...], timing: str) -> list[tuple[str, int]]:
    return [(s.status.name, s.offset_ms) for s in schedule(Workflow(steps, 1), STATUSES, timing)]  # type: ignore[arg-type]


def test_sequential_offsets_accumulate_delays() -> None:
    assert offsets(("Initiated", "Validated", "Accounted", "Completed"), "sequential") == [
        ("Initiated", 100),
        ("Validated", 1100),
        ("Accounted", 2100),
        ("Completed", 5100),
    ]
    assert offsets(("Initiated", "Failed"), "sequential") == [("Initiated", 100), ("Failed", 1100)]


def test_parallel_offsets_are_each_status_delay_from_the_start() -> None:
    # Validated and Accounted tie at 1000 ms: workflow order is kept for ties.
    assert offsets(("Initiated", "Validated", "Accounted", "Completed"), "parallel") == [
        ("Initiated", 100),
        ("Validated", 1000),
        ("Accounted", 1000),
        ("Completed", 3000),
    ]
    assert offsets(("Initiated", "Validated", "Accounted", "Rejected"), "parallel") == [
        ("Initiated", 100),
        ("Validated", 1000),
        ("Accounted", 1000),
        ("Rejected", 2000),
    ]


def test_parallel_sorts_by_offset() -> None:
    statuses = {"A": Status("A", 50, "a", 1), "B": Status("B", 10, "b", 1)}
    steps = schedule(Workflow(("A", "B"), 1), statuses, "parallel")
    assert [(s.status.name, s.offset_ms) for s in steps] == [("B", 10), ("A", 50)]


def test_sequential_emission_keeps_the_delays_as_gaps_in_workflow_order() -> None:
    assert emission([100, 1000, 0], ["a", "b", "c"], "sequential") == ((100, 1000, 0), ("a", "b", "c"))


def test_parallel_emission_sorts_by_delay_and_gives_the_gaps_between() -> None:
    # b and c tie at 300 ms: workflow order is kept for ties.
    assert emission([500, 300, 300, 100], ["a", "b", "c", "d"], "parallel") == (
        (100, 200, 0, 200),
        ("d", "b", "c", "a"),
    )


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8))
def test_the_schedule_is_the_emission_order_at_its_running_offsets(delays: list[int]) -> None:
    statuses = {f"S{i}": Status(f"S{i}", d, f"t{i}", 1) for i, d in enumerate(delays)}
    for timing in ("sequential", "parallel"):
        gaps, ordered = emission(delays, list(statuses.values()), timing)
        steps = schedule(Workflow(tuple(statuses), 1), statuses, timing)
        assert [(s.status, s.offset_ms) for s in steps] == list(zip(ordered, itertools.accumulate(gaps)))


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=8))
def test_schedules_for_any_delays(delays: list[int]) -> None:
    statuses = {f"S{i}": Status(f"S{i}", d, f"t{i}", 1) for i, d in enumerate(delays)}
    wf = Workflow(tuple(statuses), 1)
    seq = schedule(wf, statuses, "sequential")
    assert [s.status.name for s in seq] == list(statuses)  # always in workflow order
    assert [b.offset_ms - a.offset_ms for a, b in itertools.pairwise(seq)] == delays[1:]
    par = schedule(wf, statuses, "parallel")
    assert sorted((s.status.name, s.offset_ms) for s in par) == sorted((n, s.delay_ms) for n, s in statuses.items())
    assert [s.offset_ms for s in par] == sorted(delays)


def test_labels_are_the_originals() -> None:
    assert [wf.label for wf in WORKFLOWS][:2] == ["[Initiated Failed]", "[Initiated Rejected]"]


def test_pick_chi_square_over_20000_draws() -> None:
    mix = Mix(WORKFLOWS, STATUSES, "sequential")
    rng = random.Random(12345)
    counts = Counter(mix.pick(rng).index for _ in range(20_000))
    weights = [wf.weight for wf in WORKFLOWS]
    expected = [20_000 * w / sum(weights) for w in weights]
    statistic = sum((counts[i] - e) ** 2 / e for i, e in enumerate(expected))
    assert statistic < 24.32  # df = 7, p = 0.001


def test_zero_weight_is_never_picked() -> None:
    wfs = (Workflow(("Initiated",), 0), Workflow(("Initiated", "Failed"), 3), Workflow(("Initiated", "Rejected"), 0))
    mix = Mix(wfs, STATUSES, "sequential")
    rng = random.Random(1)
    assert {mix.pick(rng).index for _ in range(5000)} == {1}


@pytest.mark.parametrize("value", [0.0, 0.5, 0.9999999999999999])
def test_pick_edges(value: float) -> None:
    class Fixed(random.Random):
        def random(self) -> float:
            return value

    mix = Mix(WORKFLOWS, STATUSES, "sequential")
    plan = mix.pick(Fixed())
    total = sum(wf.weight for wf in WORKFLOWS)
    acc = 0
    for i, wf in enumerate(WORKFLOWS):
        acc += wf.weight
        if value * total < acc:
            assert plan.index == i
            break
    else:
        pytest.fail("no workflow's cumulative weight exceeds the draw")
