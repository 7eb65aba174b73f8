"""Round trip on hand-made configurations: each delay family, both timings, zipf and amounts, each
anomaly kind, per-workflow delays: generate 100,000 payments -> fit -> generate -> compare passes,
and the fit finds what the configuration said.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from calibrate.round_trips import RoundTrip, made_once

RUN = "[run]\npayments = 100000\nrate = 100\nworkers = 100000\n"

#: Every delay family, on statuses whose delay an event shows (the first step's is never seen).
FAMILIES = (
    RUN
    + """
[statuses]
Initiated = { delay_ms = 50, partitions = 12 }
Validated = { delay = { dist = "uniform", min_ms = 100, max_ms = 900 }, partitions = 12 }
Accounted = { delay = { dist = "lognormal", median_ms = 800, p99_ms = 4000 }, partitions = 12 }
Completed = { delay = { dist = "normal", mean_ms = 3000, stddev_ms = 500 }, partitions = 12 }
Failed = { delay = { dist = "exponential", mean_ms = 800 }, partitions = 4 }
Rejected = { delay_ms = 2000, partitions = 4 }
Canceled = { delay = { dist = "lognormal", median_ms = 1500, p99_ms = 9000 }, partitions = 4 }
"""
)
#: The original generator's timing: every delay counts from the start, so Validated and
#: Accounted (whose delays overlap) come in either order; starts evenly spaced.
PARALLEL = """timing = "parallel"
[run]
payments = 100000
rate = 100
arrivals = "constant"
workers = 100000
[statuses]
Initiated = { delay_ms = 100, partitions = 12 }
Validated = { delay = { dist = "uniform", min_ms = 200, max_ms = 1500 }, partitions = 12 }
Accounted = { delay = { dist = "uniform", min_ms = 1000, max_ms = 2500 }, partitions = 12 }
Completed = { delay = { dist = "normal", mean_ms = 4000, stddev_ms = 300 }, partitions = 12 }
Failed = { delay = { dist = "exponential", mean_ms = 3000 }, partitions = 4 }
Rejected = { delay_ms = 3500, partitions = 4 }
Canceled = { delay = { dist = "lognormal", median_ms = 3000, p99_ms = 6000 }, partitions = 4 }
"""
#: Each kind of dirty data at its own rate, all in one run: the fit must tell them apart.
ANOMALIES = RUN + "[anomalies]\nlate = 0.01\nduplicate = 0.02\nout_of_order = 0.015\nmissing = 0.01\n"
#: Failed after Initiated is quick; Failed after Accounted takes its time.
PER_WORKFLOW = (
    RUN
    + """
[statuses]
Failed = { delay = { dist = "exponential", mean_ms = 800 }, partitions = 4 }
[[workflows]]
steps = ["Initiated", "Failed"]
weight = 2
[[workflows]]
steps = ["Initiated", "Validated", "Accounted", "Failed"]
weight = 2
delays = { Failed = { dist = "lognormal", median_ms = 5000, p99_ms = 20000 } }
[[workflows]]
steps = ["Initiated", "Validated", "Accounted", "Completed"]
weight = 9
"""
)
#: What a payment is about: hot banks (zipf), amounts from a distribution, a currency mix.
ENTITIES = (
    RUN
    + """[entities]
sources = 40
destinations = 40
popularity = "zipf"
zipf_s = 1.2
[amounts]
distribution = { dist = "lognormal", median = 42.5, p99 = 2400 }
currencies = { EUR = 60, USD = 30, GBP = 10 }
"""
)
CONFIGS = {
    "families": FAMILIES,
    "parallel": PARALLEL,
    "anomalies": ANOMALIES,
    "per-workflow": PER_WORKFLOW,
    "entities": ENTITIES,
}


@pytest.fixture(scope="module")
def trips(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RoundTrip]:
    """Each configuration's round trip, made once for the module's tests."""
    return made_once(tmp_path_factory, lambda name: ([], CONFIGS[name]))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_configuration_fitted_generates_traffic_compare_cannot_tell_apart(
    trips: Callable[[str], RoundTrip], name: str
) -> None:
    trip = trips(name)
    assert trip.failures() == []
    assert trip.code == 0


def _chosen(trip: RoundTrip) -> dict[str, str]:
    return {status["name"]: status["chosen"]["dist"] for status in trip.fit["statuses"]}


def test_each_family_is_the_one_chosen(trips: Callable[[str], RoundTrip]) -> None:
    chosen = _chosen(trips("families"))
    assert {k: chosen[k] for k in ("Validated", "Accounted", "Completed", "Failed", "Rejected", "Canceled")} == {
        "Validated": "uniform",
        "Accounted": "lognormal",
        "Completed": "normal",
        "Failed": "exponential",
        "Rejected": "fixed",
        "Canceled": "lognormal",
    }


def test_parallel_timing_is_found(trips: Callable[[str], RoundTrip]) -> None:
    assert trips("parallel").fit["timing"]["chosen"] == "parallel"


def test_constant_arrivals_are_found(trips: Callable[[str], RoundTrip]) -> None:
    assert trips("parallel").fit["arrivals"]["arrivals"] == "constant"


def test_zipf_popularity_and_its_exponent_are_found(trips: Callable[[str], RoundTrip]) -> None:
    banks = trips("entities").fit["banks"]
    assert banks["popularity"] == "zipf"
    assert banks["zipf_s"] == pytest.approx(1.2, rel=0.05)


@pytest.mark.parametrize(
    ("kind", "rate"), [("late", 0.01), ("duplicate", 0.02), ("out_of_order", 0.015), ("missing", 0.01)]
)
def test_each_anomaly_rate_is_found(trips: Callable[[str], RoundTrip], kind: str, rate: float) -> None:
    assert trips("anomalies").fit["anomalies"][kind] == pytest.approx(rate, rel=0.15)


def test_a_workflow_s_own_delay_is_found(trips: Callable[[str], RoundTrip]) -> None:
    trip = trips("per-workflow")
    overrides = {tuple(wf["steps"]): wf.get("delays", {}) for wf in trip.fit["workflows"] if wf.get("delays")}
    assert list(overrides) != []
    assert all("Failed" in delays for delays in overrides.values())


def test_the_amount_distribution_and_currency_mix_are_found(trips: Callable[[str], RoundTrip]) -> None:
    amounts = trips("entities").fit["amounts"]
    assert amounts["chosen"]["dist"] == "lognormal"
    counts = amounts["currencies"]
    shares = {code: n / sum(counts.values()) for code, n in counts.items()}
    assert shares == pytest.approx({"EUR": 0.6, "USD": 0.3, "GBP": 0.1}, abs=0.01)
