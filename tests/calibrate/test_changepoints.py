"""Incidents: the acquirer outage is found with its edges; a stationary series has none."""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import payment_events, read_avro

from synthpay import cli
from synthpay.calibrate.changepoints import Incident, find_incidents
from synthpay.calibrate.profile import Bin
from synthpay.calibrate.profile import Path as StatusPath
from synthpay.model.delays import Delay

BIN_MS = 10_000
DELAYS = {
    "Initiated": Delay("uniform", (20.0, 200.0)),
    "Validated": Delay("lognormal", (400.0, 2500.0)),
    "Accounted": Delay("lognormal", (800.0, 4000.0)),
    "Completed": Delay("normal", (3000.0, 500.0)),
    "Failed": Delay("exponential", (800.0,)),
}
PATHS: dict[StatusPath, int] = {
    ("Initiated", "Failed"): 1,
    ("Initiated", "Validated", "Failed"): 1,
    ("Initiated", "Validated", "Accounted", "Failed"): 1,
    ("Initiated", "Validated", "Accounted", "Completed"): 17,
}
OUTAGE_PATHS = dict(zip(PATHS, (8, 12, 4, 16)))


class Binner:
    """Bins as the profiler makes them: payments by the bin they started in."""

    def __init__(self, bin_ms: int) -> None:
        self.bin_ms = bin_ms
        self.paths: defaultdict[int, Counter[StatusPath]] = defaultdict(Counter)
        self.delays: defaultdict[int, defaultdict[str, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0.0, 0.0])
        )

    def add(self, start_ms: int, path: StatusPath, gaps: Sequence[int]) -> None:
        index = start_ms // self.bin_ms
        self.paths[index][path] += 1
        for status, gap in zip(path[1:], gaps):
            stats, y = self.delays[index][status], math.log1p(gap)
            stats[0] += 1
            stats[1] += y
            stats[2] += y * y

    def bins(self) -> dict[int, Bin]:
        return {
            i: Bin(dict(self.paths[i]), {s: (int(v[0]), v[1], v[2]) for s, v in self.delays[i].items()})
            for i in self.paths
        }


def synthetic(
    seed: int, seconds: int, rate: float, outage: tuple[int, int] | None = None, outage_rate: float | None = None
) -> dict[int, Bin]:
    """Payments at ``rate``/s (Poisson) for ``seconds``; in ``outage`` (s) the outage's mix and Validated x5."""
    rng, binner = random.Random(seed), Binner(BIN_MS)
    tables = {s: d.table() for s, d in DELAYS.items()}
    slow = DELAYS["Validated"].scaled(5.0).table()
    t = rng.expovariate(rate)
    while t < seconds:
        inside = outage is not None and outage[0] <= t < outage[1]
        weights = OUTAGE_PATHS if inside else PATHS
        path = rng.choices(list(weights), list(weights.values()))[0]
        gaps = [(slow if inside and s == "Validated" else tables[s]).draw(rng) for s in path[1:]]
        binner.add(int(t * 1000), path, gaps)
        t += rng.expovariate(outage_rate if inside and outage_rate else rate)
    return binner.bins()


def surge(seed: int) -> dict[int, Bin]:
    """20 payments/s, ramping up to 60/s from 600 s to 900 s, 60/s to 1500 s, then 20/s to 2400 s."""

    def rate(t: float) -> float:
        return 20.0 + 40.0 * min(max((t - 600) / 300, 0.0), 1.0) if t < 1500 else 20.0

    rng, binner = random.Random(seed), Binner(BIN_MS)
    tables = {s: d.table() for s, d in DELAYS.items()}
    t = rng.expovariate(60.0)
    while t < 2400:
        if rng.random() * 60.0 < rate(t):  # thinning: a Poisson process of rate(t)
            path = rng.choices(list(PATHS), list(PATHS.values()))[0]
            binner.add(int(t * 1000), path, [tables[s].draw(rng) for s in path[1:]])
        t += rng.expovariate(60.0)
    return binner.bins()


def edges_within(incident: Incident, start_ms: int, end_ms: int, tolerance_ms: int) -> bool:
    return abs(incident.start_ms - start_ms) <= tolerance_ms and abs(incident.end_ms - end_ms) <= tolerance_ms


@pytest.mark.parametrize("seed", range(5))
def test_a_stationary_series_has_no_incident(seed: int) -> None:
    assert find_incidents(synthetic(seed, 2700, 50.0), BIN_MS) == ()


def test_a_synthetic_outage_is_found_with_its_edges_and_what_changed() -> None:
    incidents = find_incidents(synthetic(1, 2700, 50.0, outage=(900, 1800)), BIN_MS)
    assert len(incidents) == 1
    (incident,) = incidents
    assert edges_within(incident, 900_000, 1_800_000, BIN_MS)
    assert set(incident.what) == {"mix", "delay:Validated"}
    assert incident.statistic > incident.penalty
    assert sum(dict(incident.parts).values()) == pytest.approx(incident.statistic)


def test_a_rate_surge_alone_is_a_rate_incident() -> None:
    incidents = find_incidents(synthetic(2, 1800, 20.0, outage=(600, 900), outage_rate=60.0), BIN_MS)
    assert len(incidents) == 1
    # The synthetic outage also changes the mix and Validated: the rate is among what is named.
    assert "rate" in incidents[0].what
    assert edges_within(incidents[0], 600_000, 900_000, BIN_MS)


def test_a_ramp_is_covered_by_touching_incidents() -> None:
    incidents = find_incidents(surge(6), BIN_MS)
    assert len(incidents) >= 2  # the ramp in steps, then the plateau
    # Nothing left out between them: each starts where the one before ends.
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(incidents))
    assert abs(incidents[0].start_ms - 600_000) <= 60_000 and abs(incidents[-1].end_ms - 1_500_000) <= BIN_MS
    assert {"rate"} == {w for incident in incidents for w in incident.what}


def test_a_short_departure_is_not_an_incident() -> None:
    bins = synthetic(3, 1800, 50.0, outage=(900, 930))
    assert find_incidents(bins, BIN_MS, min_duration_ms=60_000) == ()
    (incident,) = find_incidents(bins, BIN_MS, min_duration_ms=20_000)
    assert edges_within(incident, 900_000, 930_000, BIN_MS)


def test_the_expected_rate_curve_is_not_an_incident() -> None:
    # Rate doubles halfway, as a fitted arrival curve says it will: no incident.
    first, second = synthetic(4, 900, 20.0), synthetic(5, 900, 40.0)
    shift = 900_000 // BIN_MS
    bins = {**first, **{i + shift: b for i, b in second.items()}}
    weights = {i: 1.0 if i < shift else 2.0 for i in bins}
    assert find_incidents(bins, BIN_MS, rate_weights=weights) == ()
    (incident,) = find_incidents(bins, BIN_MS, min_duration_ms=60_000)
    assert incident.what == ("rate",)


def test_nothing_to_look_at_has_no_incident() -> None:
    assert find_incidents({}, BIN_MS) == ()
    assert find_incidents({5: Bin({("Initiated",): 1}, {})}, BIN_MS) == ()


def test_bin_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="bin_ms"):
        find_incidents({}, 0)


def test_rate_weights_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate weights must be > 0"):
        find_incidents(synthetic(0, 60, 5.0), BIN_MS, rate_weights={0: 0.0})


# --- the acceptance test: the shipped scenario, generated


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("outage") / "out"
    argv = ["run", "--scenario", "acquirer-outage", "--clock", "virtual", "--seed", "13", "--out", str(out)]
    assert cli.main([*argv, "--log-level", "error"]) == 0
    return out


def bins_of_run(out: Path, bin_ms: int = BIN_MS) -> tuple[dict[int, Bin], int]:
    """The run's payments binned by start, and the first event's time."""
    binner, first = Binner(bin_ms), None
    for events in payment_events(read_avro(out)).values():
        times = [int(e["ts"]) for e in events]
        path = tuple(str(e["status"]) for e in events)
        binner.add(times[0], path, [b - a for a, b in itertools.pairwise(times)])
        first = times[0] if first is None else min(first, times[0])
    assert first is not None
    return binner.bins(), first


def test_the_acquirer_outage_is_found_within_a_minute_of_its_edges(outage_run: Path) -> None:
    bins, first_ms = bins_of_run(outage_run)
    incidents = find_incidents(bins, BIN_MS)
    assert len(incidents) == 1
    (incident,) = incidents
    # The phase runs from 900 s to 1800 s after the run's start (its first payment's, give or take ms).
    assert edges_within(incident, first_ms + 900_000, first_ms + 1_800_000, 60_000)
    assert "mix" in incident.what and "delay:Validated" in incident.what


def test_bins_of_the_outage_run_hold_every_payment(outage_run: Path) -> None:
    bins, _ = bins_of_run(outage_run)
    # A guard for the test above: 45 minutes at 50 payments/s.
    assert sum(sum(b.paths.values()) for b in bins.values()) == pytest.approx(135_000, rel=0.01)


def test_wide_bins_find_the_outage_once(outage_run: Path) -> None:
    # Minute bins: the run starts and ends mid-bin, and a bin straddles each of the outage's edges.
    bins, first_ms = bins_of_run(outage_run, 60_000)
    incidents = find_incidents(bins, 60_000)
    assert len(incidents) == 1
    assert edges_within(incidents[0], first_ms + 900_000, first_ms + 1_800_000, 60_000)
