"""Round trip on every shipped scenario: generate (>= 100,000 payments) -> fit -> generate -> compare passes.

The two scenarios of a day's or a sale's traffic run at an eighth of it (``--instance-count
8``, one instance's share), which still makes over 100,000 payments.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from calibrate.round_trips import RoundTrip, made_once

from synthpay.config.scenarios import available

#: Each scenario's share of its traffic that makes at least 100,000 payments.
SHARE = {"business-day": ["--instance-count", "8"], "flash-sale": ["--instance-count", "8"]}


@pytest.fixture(scope="module")
def trips(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RoundTrip]:
    """Each scenario's round trip, made once for the module's tests."""
    return made_once(tmp_path_factory, lambda name: (["--scenario", name, *SHARE.get(name, [])], ""))


@pytest.mark.parametrize("name", sorted(available()))
def test_a_scenario_fitted_generates_traffic_compare_cannot_tell_apart(
    trips: Callable[[str], RoundTrip], name: str
) -> None:
    trip = trips(name)
    assert trip.fit["input"]["payments"] >= 100_000
    assert trip.failures() == []
    assert trip.code == 0


def test_the_acquirer_outage_is_found_where_it_was(trips: Callable[[str], RoundTrip]) -> None:
    (outage,) = trips("acquirer-outage").fit["incidents"]
    assert abs(outage["at_s"] - 900) <= 60
    assert abs(outage["at_s"] + outage["duration_s"] - 1800) <= 60


def test_the_acquirer_outage_fails_as_many_payments_as_the_scenario(trips: Callable[[str], RoundTrip]) -> None:
    (outage,) = trips("acquirer-outage").fit["incidents"]
    weights = outage["weights"]
    failing = sum(w for name, w in weights.items() if not name.endswith("Completed"))
    # The scenario's outage weights: declined 8, validation failed 12, accounting failed 4, completed 16.
    assert failing / sum(weights.values()) == pytest.approx(24 / 40, rel=0.10)


def test_a_day_s_arrival_curve_is_the_rate_expected_not_an_incident(trips: Callable[[str], RoundTrip]) -> None:
    fit = trips("business-day").fit
    assert len(fit["arrivals"]["arrival_curve"]) == 24
    assert fit["incidents"] == []
