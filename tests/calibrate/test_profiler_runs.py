"""The profiler on generated runs, against their labels: each kind of dirty data counted as injected.

Runs are read as a file reader reads them (arrival estimated from each file's order, see
labelled_runs). A count is right when it is within three binomial standard deviations of
the labelled truth: the classification may err on a few events, never on a share of them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest
from labelled_runs import Labelled, generate, labelled

from synthpay.calibrate.profile import Profile
from synthpay.calibrate.profiler import ProfilerOptions, profile

PAYMENTS = 20_000
LATENESS = ProfilerOptions().lateness_ms


def profiled(items: list[Labelled]) -> Profile:
    return profile((item.observation for item in items), ("run",), False)


def close_to(measured: int, truth: int) -> bool:
    return abs(measured - truth) <= 3 * math.sqrt(max(truth, 1))


def truth(items: list[Labelled], anomaly: str) -> int:
    return sum(1 for item in items if item.anomaly == anomaly)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> list[Labelled]:
    return list(labelled(generate(tmp_path_factory.mktemp("clean") / "run", 11, PAYMENTS)))


def _dirty(tmp_path_factory: pytest.TempPathFactory, name: str, anomalies: str) -> list[Labelled]:
    run = generate(tmp_path_factory.mktemp(name) / "run", 12, PAYMENTS, f"[anomalies]\n{anomalies}\n")
    return list(labelled(run))


@pytest.fixture(scope="module")
def duplicated(tmp_path_factory: pytest.TempPathFactory) -> list[Labelled]:
    return _dirty(tmp_path_factory, "duplicate", "duplicate = 0.02")


@pytest.fixture(scope="module")
def swapped(tmp_path_factory: pytest.TempPathFactory) -> list[Labelled]:
    return _dirty(tmp_path_factory, "swap", "out_of_order = 0.05")


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> list[Labelled]:
    return _dirty(tmp_path_factory, "late", "late = 0.02")


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> list[Labelled]:
    return _dirty(tmp_path_factory, "all", "late = 0.01\nduplicate = 0.01\nout_of_order = 0.02\nmissing = 0.01")


def test_a_clean_run_has_every_payment_on_its_path(clean: list[Labelled]) -> None:
    events: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for item in clean:
        events[item.observation.payment].append((item.observation.ts_ms, item.observation.status))
    expected = Counter(tuple(status for _, status in sorted(e, key=lambda x: x[0])) for e in events.values())
    result = profiled(clean)
    assert dict(result.paths) == dict(expected)
    assert (result.payments, result.open_at_end, result.split, result.events) == (PAYMENTS, 0, 0, len(clean))


def test_a_clean_run_has_no_dirty_data(clean: list[Labelled]) -> None:
    anomalies = profiled(clean).anomalies
    assert (anomalies.duplicates, anomalies.out_of_order, anomalies.late.seen) == (0, 0, 0)


def test_duplicates_are_counted(duplicated: list[Labelled]) -> None:
    assert close_to(profiled(duplicated).anomalies.duplicates, truth(duplicated, "duplicate"))


def test_duplicates_do_not_change_the_paths(duplicated: list[Labelled]) -> None:
    assert sum(profiled(duplicated).paths.values()) == PAYMENTS


def test_swapped_payments_are_counted(swapped: list[Labelled]) -> None:
    result = profiled(swapped)
    assert close_to(result.anomalies.out_of_order, truth(swapped, "out_of_order"))
    assert result.anomalies.late.seen <= 3 * math.sqrt(truth(swapped, "out_of_order"))


def test_late_events_are_counted(late: list[Labelled]) -> None:
    injected = sum(1 for item in late if item.anomaly == "late" and (item.delay_ms or 0) > LATENESS)
    result = profiled(late)
    assert close_to(result.anomalies.late.seen, injected)
    assert result.anomalies.out_of_order <= 3 * math.sqrt(injected)


def test_lateness_is_measured_as_injected(late: list[Labelled]) -> None:
    delays = [item.delay_ms or 0 for item in late if item.anomaly == "late" and (item.delay_ms or 0) > LATENESS]
    values = profiled(late).anomalies.late.values
    # The estimate of arrival is the largest time read from the file: at most the emission.
    assert sum(values) / len(values) == pytest.approx(sum(delays) / len(delays), rel=0.05)


def test_every_kind_is_counted_when_all_are_injected(everything: list[Labelled]) -> None:
    late_truth = sum(1 for item in everything if item.anomaly == "late" and (item.delay_ms or 0) > LATENESS)
    anomalies = profiled(everything).anomalies
    assert close_to(anomalies.duplicates, truth(everything, "duplicate"))
    assert close_to(anomalies.out_of_order, truth(everything, "out_of_order"))
    assert close_to(anomalies.late.seen, late_truth)


def test_missing_events_leave_shorter_paths_not_open_payments(everything: list[Labelled]) -> None:
    result = profiled(everything)
    assert result.payments + result.open_at_end == PAYMENTS
    assert result.open_at_end <= 3


def test_a_profile_is_the_same_for_the_same_input_and_seed(everything: list[Labelled]) -> None:
    assert profiled(everything) == profiled(everything)


def test_runs_are_read_in_arrival_order(clean: list[Labelled]) -> None:
    arrivals = [item.observation.arrival_ms for item in clean]
    assert arrivals == sorted(arrivals)
