"""Reservoirs: bounded, uniform, deterministic by seed, whole rows kept."""

from __future__ import annotations

import random

from synthpay.calibrate.reservoir import Reservoir, Rows


def offered(reservoir: Reservoir, n: int, batch: int) -> Reservoir:
    for lo in range(0, n, batch):
        values = [float(v) for v in range(lo, min(n, lo + batch))]
        reservoir.offer(values, [int(v) * 10 for v in values])
    return reservoir


def test_fewer_values_than_its_size_are_all_kept_in_order() -> None:
    sample = offered(Reservoir(100, random.Random(1)), 30, 7).sample()
    assert sample.values == tuple(float(v) for v in range(30))
    assert sample.seen == 30


def test_it_keeps_its_size_and_counts_every_value_offered() -> None:
    sample = offered(Reservoir(100, random.Random(1)), 10_000, 333).sample()
    assert (len(sample.values), sample.seen) == (100, 10_000)
    assert len(set(sample.values)) == 100


def test_each_value_keeps_its_start() -> None:
    sample = offered(Reservoir(100, random.Random(1)), 10_000, 333).sample()
    assert len(sample.values) == 100
    assert sample.starts_ms == tuple(int(v) * 10 for v in sample.values)


def test_the_same_seed_keeps_the_same_values() -> None:
    a = offered(Reservoir(50, random.Random(7)), 5000, 64).sample()
    b = offered(Reservoir(50, random.Random(7)), 5000, 64).sample()
    assert a == b


def test_every_value_is_equally_likely_kept() -> None:
    # 20,000 values into 1,000 slots, 40 times: each decile of the stream should hold a
    # tenth of what is kept (chi-squared, 9 degrees of freedom, p = 1e-6 at 50.1).
    counts = [0] * 10
    rng = random.Random(3)
    for _ in range(40):
        for v in offered(Reservoir(1000, rng), 20_000, 1000).sample().values:
            counts[int(v) // 2000] += 1
    expected = sum(counts) / 10
    assert sum((c - expected) ** 2 / expected for c in counts) < 50.1


def test_one_at_a_time_or_in_batches_keeps_values_uniformly_alike() -> None:
    late = 0
    rng = random.Random(5)
    for _ in range(40):
        late += sum(v >= 10_000 for v in offered(Reservoir(500, rng), 20_000, 1).sample().values)
    # Half the stream is past 10,000: half of the 20,000 kept, within 5 standard deviations.
    assert abs(late - 10_000) < 5 * (20_000 * 0.25) ** 0.5


def test_rows_are_kept_whole() -> None:
    rows = Rows(3, 20, random.Random(2))
    for lo in range(0, 1000, 30):
        rows.offer([[i, i + 1, i + 2] for i in range(lo, min(1000, lo + 30))])
    first, second, third = rows.column(0), rows.column(1), rows.column(2)
    assert len(first) == 20
    assert rows.seen == 1000
    assert (second, third) == (tuple(a + 1 for a in first), tuple(a + 2 for a in first))
