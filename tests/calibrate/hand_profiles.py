"""Profiles made by hand for the fit's tests: payments described one by one, counted as the profiler would.

Every sample holds every value (a reservoir that never had to drop one), so what a test
puts in is what the fit sees.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from synthpay.calibrate.profile import Anomalies, Arrivals, Bin, Path, Profile, Sample
from synthpay.config.settings import DEFAULT_WORKFLOWS

START_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z
BIN_MS = 60_000


@dataclass(frozen=True)
class Paid:
    """One payment as the data shows it: when it started, its statuses, and their event times."""

    start_ms: int
    path: Path
    times_ms: tuple[int, ...]  # one per status, the first at start_ms
    source: str = ""
    destination: str = ""
    amount: float | None = None
    currency: str = ""


@dataclass(frozen=True)
class Phase:
    """A stretch with its own workflow mix, delay factors and rate factor."""

    start_ms: int
    end_ms: int
    workflows: Sequence[tuple[Path, int]]
    scale: Mapping[str, float] = field(default_factory=dict)
    rate_factor: float = 1.0


@dataclass
class Extra:
    """Dirty data counted besides the payments."""

    duplicates: int = 0
    late_ms: Sequence[float] = ()
    late_seen: int | None = None
    out_of_order: int = 0
    record_timestamps: bool = True
    open_at_end: int = 0
    sources: tuple[str, ...] = ("hand.csv",)
    bin_ms: int = BIN_MS
    extra: dict[str, object] = field(default_factory=dict)


def profile_of(payments: Sequence[Paid], extra: Extra | None = None) -> Profile:
    """The profile of ``payments`` (in any order), with ``extra``'s dirty data."""
    extra = extra or Extra()
    paid = sorted(payments, key=lambda p: p.start_ms)
    paths = Counter(p.path for p in paid)
    gaps: dict[tuple[Path, int], tuple[list[float], list[int]]] = {}
    offsets: dict[tuple[Path, int], tuple[list[float], list[int]]] = {}
    bins_paths: dict[int, Counter[Path]] = {}
    bins_delays: dict[int, dict[str, list[float]]] = {}
    for p in paid:
        index = p.start_ms // extra.bin_ms
        bins_paths.setdefault(index, Counter())[p.path] += 1
        for k in range(1, len(p.path)):
            gap = p.times_ms[k] - p.times_ms[k - 1]
            _add(gaps, (p.path, k), gap, p.start_ms)
            _add(offsets, (p.path, k), p.times_ms[k] - p.times_ms[0], p.start_ms)
            bins_delays.setdefault(index, {}).setdefault(p.path[k], []).append(gap)
    starts = [p.start_ms for p in paid]
    spaces = [b - a for a, b in itertools.pairwise(starts)]
    mean = sum(spaces) / len(spaces) if spaces else 0.0
    variance = sum((s - mean) ** 2 for s in spaces) / len(spaces) if spaces else 0.0
    per_hour = Counter(s // 3_600_000 for s in starts)
    events = sum(len(p.path) for p in paid) + extra.duplicates
    amounts = [p.amount for p in paid if p.amount is not None]
    late = list(extra.late_ms)
    return Profile(
        sources=extra.sources,
        events=events,
        payments=len(paid),
        open_at_end=extra.open_at_end,
        first_ms=min(starts),
        last_ms=max(p.times_ms[-1] for p in paid),
        record_timestamps=extra.record_timestamps,
        paths=dict(paths),
        gaps={key: Sample(len(v), tuple(v), tuple(s)) for key, (v, s) in gaps.items()},
        offsets={key: Sample(len(v), tuple(v), tuple(s)) for key, (v, s) in offsets.items()},
        bin_ms=extra.bin_ms,
        bins={
            index: Bin(
                dict(counted),
                {status: _moments(values) for status, values in bins_delays.get(index, {}).items()},
            )
            for index, counted in bins_paths.items()
        },
        arrivals=Arrivals(len(spaces), mean, variance, dict(per_hour)),
        sources_seen=dict(Counter(p.source for p in paid if p.source)),
        destinations_seen=dict(Counter(p.destination for p in paid if p.destination)),
        amounts=Sample(len(amounts), tuple(amounts), tuple(p.start_ms for p in paid if p.amount is not None))
        if amounts
        else None,
        currencies=dict(Counter(p.currency for p in paid if p.currency)),
        anomalies=Anomalies(
            events=events,
            duplicates=extra.duplicates,
            late=Sample(
                extra.late_seen if extra.late_seen is not None else len(late), tuple(late), (START_MS,) * len(late)
            ),
            out_of_order=extra.out_of_order,
        ),
    )


def _add(
    into: dict[tuple[Path, int], tuple[list[float], list[int]]], key: tuple[Path, int], value: float, start: int
) -> None:
    values, starts = into.setdefault(key, ([], []))
    values.append(float(value))
    starts.append(start)


def _moments(values: Sequence[float]) -> tuple[int, float, float]:
    logs = [math.log1p(v) for v in values]
    return len(logs), math.fsum(logs), math.fsum(x * x for x in logs)


Draw = Callable[[random.Random], float]


def lognormal(median: float, sigma: float) -> Draw:
    return lambda rng: median * math.exp(sigma * rng.gauss(0.0, 1.0))


def exponential(mean: float) -> Draw:
    return lambda rng: rng.expovariate(1 / mean)


def normal(mean: float, stddev: float) -> Draw:
    def draw(rng: random.Random) -> float:
        while True:
            x = rng.gauss(mean, stddev)
            if x >= 0:
                return x

    return draw


def uniform(low: float, high: float) -> Draw:
    return lambda rng: rng.uniform(low, high)


def generate(
    workflows: Sequence[tuple[Path, int]],
    delays: Mapping[str, Draw],
    *,
    n: int,
    rate: float = 10.0,
    seed: int = 1,
    timing: str = "sequential",
    constant: bool = False,
    missing: float = 0.0,
    start_ms: int = START_MS,
    rate_at: Callable[[int], float] | None = None,
    per_workflow: Mapping[tuple[Path, str], Draw] | None = None,
    banks: Callable[[random.Random], tuple[str, str]] | None = None,
    phase: Phase | None = None,
) -> list[Paid]:
    """``n`` payments drawn as the engine would draw them (first step at the start)."""
    rng = random.Random(seed)
    cumulative = list(itertools.accumulate(w for _, w in workflows))
    inside = list(itertools.accumulate(w for _, w in phase.workflows)) if phase else cumulative
    t = float(start_ms)
    out: list[Paid] = []
    for _ in range(n):
        during = phase is not None and phase.start_ms <= t < phase.end_ms
        flows, weights = (phase.workflows, inside) if phase is not None and during else (workflows, cumulative)
        steps = flows[bisect.bisect_right(weights, rng.random() * weights[-1])][0]
        times = [0.0]
        for status in steps[1:]:
            draw = (per_workflow or {}).get((steps, status), delays[status])
            d = draw(rng) * (phase.scale.get(status, 1.0) if phase is not None and during else 1.0)
            times.append(times[-1] + d if timing == "sequential" else d)
        order = sorted(range(len(steps)), key=lambda i: (times[i], i))
        kept = [i for i in order if i == 0 or rng.random() >= missing]
        start = round(t)
        path = tuple(steps[i] for i in kept)
        stamps = tuple(start + round(times[i]) for i in kept)
        source, destination = banks(rng) if banks else ("", "")
        out.append(Paid(start, path, stamps, source, destination))
        current = rate_at(start) if rate_at else rate
        if phase is not None and during:
            current *= phase.rate_factor
        t += 1000 / current if constant else rng.expovariate(current / 1000)
    return out


#: The original generator's eight weighted workflows.
ORIGINAL: tuple[tuple[Path, int], ...] = DEFAULT_WORKFLOWS
REALISTIC: Mapping[str, Draw] = {
    "Validated": lognormal(400, 0.8),
    "Accounted": lognormal(800, 0.7),
    "Completed": normal(3000, 500),
    "Failed": exponential(800),
    "Rejected": uniform(500, 3000),
    "Canceled": exponential(2000),
}
