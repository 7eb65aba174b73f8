"""Profiles made by hand, as the profiler would fold them from payments of known shape."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence

from synthpay.calibrate.profile import Anomalies, Arrivals, Bin, Path, Profile, Sample

START_MS = 1_769_850_400_000  # 2026-01-31T09:06:40Z: not on an hour, as a real first event is not
HOUR_MS = 3_600_000
BIN_MS = 60_000
COMPLETED: Path = ("Initiated", "Validated", "Accounted", "Completed")
FAILED: Path = ("Initiated", "Failed")
MIX: Mapping[Path, int] = {COMPLETED: 8_000, FAILED: 2_000}
#: Mean delay (ms) of each status after the first, drawn exponential.
DELAYS: Mapping[str, float] = {"Validated": 400.0, "Accounted": 800.0, "Completed": 3000.0, "Failed": 800.0}
BANKS: Mapping[str, int] = {f"bank-{i}": 2_000 // (i + 1) for i in range(20)}


def made(
    paths: Mapping[Path, int] = MIX,
    *,
    seed: int = 0,
    delays: Mapping[str, float] = DELAYS,
    hours: Sequence[float] = (1.0,),
    banks: Mapping[str, int] = BANKS,
    duplicates: int = 0,
    late: int = 0,
    out_of_order: int = 0,
    reservoir: int = 5_000,
    start_ms: int = START_MS,
) -> Profile:
    """A profile of ``paths``' payments, started evenly over ``hours`` (one weight per hour).

    Each step's delay is drawn exponential with ``delays``' mean for its status; each
    (path, step) keeps at most ``reservoir`` of them, as the profiler's reservoirs do.
    """
    rng = random.Random(seed)
    payments = sum(paths.values())
    starts = _starts(payments, hours, start_ms)
    gaps = {
        (path, step): _sample(rng, count, delays[path[step]], reservoir, start_ms)
        for path, count in paths.items()
        for step in range(1, len(path))
    }
    order = [path for path, count in paths.items() for _ in range(count)]
    rng.shuffle(order)
    bins: dict[int, Counter[Path]] = {}
    for start, path in zip(starts, order):
        bins.setdefault(start // BIN_MS, Counter())[path] += 1
    events = sum(len(path) * count for path, count in paths.items())
    span = starts[-1] - starts[0]
    half = len(banks) // 2
    names = list(banks)
    return Profile(
        sources=(f"made-{seed}",),
        events=events + duplicates,
        payments=payments,
        open_at_end=0,
        first_ms=starts[0],
        last_ms=starts[-1] + 10_000,
        record_timestamps=False,
        paths=dict(paths),
        gaps=gaps,
        offsets={},
        bin_ms=BIN_MS,
        bins={k: Bin(dict(c), {}) for k, c in bins.items()},
        arrivals=Arrivals(payments - 1, span / (payments - 1), 0.0, dict(Counter(s // HOUR_MS for s in starts))),
        sources_seen={name: banks[name] for name in names[:half]} if banks else {},
        destinations_seen={name: banks[name] for name in names[half:]} if banks else {},
        amounts=None,
        currencies={},
        anomalies=Anomalies(events + duplicates, duplicates, Sample(late, (), ()), out_of_order),
    )


def _starts(payments: int, hours: Sequence[float], start_ms: int) -> list[int]:
    """Start times spread evenly within each hour, each hour's share of payments by its weight."""
    total = sum(hours)
    counts = [round(payments * w / total) for w in hours]
    counts[-1] += payments - sum(counts)
    starts = []
    for hour, count in enumerate(counts):
        starts += [start_ms + hour * HOUR_MS + i * HOUR_MS // count for i in range(count)]
    return starts


def _sample(rng: random.Random, seen: int, mean_ms: float, reservoir: int, start_ms: int) -> Sample:
    kept = min(seen, reservoir)
    values = tuple(float(round(rng.expovariate(1.0 / mean_ms))) for _ in range(kept))
    return Sample(seen, values, (start_ms,) * kept)
