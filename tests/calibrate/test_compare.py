"""compare: each aspect of two profiles judged against its threshold (profiles made by hand)."""

from __future__ import annotations

from dataclasses import replace

from calibrate.made_profiles import COMPLETED, DELAYS, FAILED, MIX, made
from hypothesis import given
from hypothesis import strategies as st

from synthpay.calibrate.compare import Thresholds, compare, pool, weighted_ks
from synthpay.calibrate.profile import Sample
from synthpay.model.goodness import ks_two_sample


def _failed(a: object, b: object, thresholds: Thresholds | None = None) -> list[str]:
    assert not isinstance(a, type(None)) and not isinstance(b, type(None))
    comparison = compare(a, b, thresholds)  # type: ignore[arg-type]
    return [f"{row.section} {row.name}" for row in comparison.failed]


def test_two_samples_of_one_shape_pass() -> None:
    comparison = compare(made(seed=1), made(seed=2))
    assert comparison.passed, [row for row in comparison.rows if row.passed is False]


def test_a_slower_status_fails_its_delay_ks() -> None:
    assert _failed(made(seed=1), made(seed=2, delays={**DELAYS, "Validated": 480.0})) == ["delays Validated"]


def test_a_looser_ks_threshold_lets_the_slower_status_pass() -> None:
    slower = made(seed=2, delays={**DELAYS, "Validated": 480.0})
    assert _failed(made(seed=1), slower, Thresholds(max_ks=0.1)) == []


def test_the_first_step_has_no_delay_and_is_not_judged() -> None:
    (first,) = [row for row in compare(made(seed=1), made(seed=2)).rows if row.name == "Initiated"]
    assert (first.section, first.passed, first.a, first.b) == ("delays", None, None, None)
    assert "first step" in first.note


def test_a_changed_workflow_mix_fails_chi_squared() -> None:
    assert _failed(made(seed=1), made({COMPLETED: 7_600, FAILED: 2_400}, seed=2)) == ["mix workflow mix"]


def test_a_stricter_mix_p_fails_a_mix_that_passed() -> None:
    a, b = made(seed=1), made({COMPLETED: 7_900, FAILED: 2_100}, seed=2)
    assert _failed(a, b) == []
    assert _failed(a, b, Thresholds(min_mix_p=0.5)) == ["mix workflow mix"]


def test_a_tenth_more_payments_in_the_same_time_fails_the_rate() -> None:
    more = made({path: count * 11 // 10 for path, count in MIX.items()}, seed=2)
    assert _failed(made(seed=1), more) == ["rate overall", "rate hour 0 (part)"]


def test_a_busier_second_hour_fails_that_hour_alone() -> None:
    a = made({COMPLETED: 24_000, FAILED: 6_000}, seed=1, hours=(1.0, 1.0, 1.0))
    b = made({COMPLETED: 24_960, FAILED: 6_240}, seed=2, hours=(1.0, 1.12, 1.0))
    assert _failed(a, b) == ["rate hour 1"]


def test_without_time_bins_the_clock_hours_are_compared() -> None:
    a = replace(made({COMPLETED: 24_000, FAILED: 6_000}, seed=1, hours=(1.0, 1.0, 1.0)), bins={})
    b = replace(made({COMPLETED: 24_960, FAILED: 6_240}, seed=2, hours=(1.0, 1.12, 1.0)), bins={})
    # The first event is at 09:06:40: clock hour 1 (10:00 to 11:00) is mostly the busier one.
    assert _failed(a, b) == ["rate hour 1"]


def test_a_rate_difference_within_noise_passes_unless_sigmas_is_zero() -> None:
    a, b = made({COMPLETED: 100}, seed=1), made({COMPLETED: 108}, seed=2)
    assert _failed(a, b) == []
    assert "rate overall" in _failed(a, b, Thresholds(sigmas=0.0))


def test_duplicates_in_one_source_only_fail_their_rate() -> None:
    assert _failed(made(seed=1), made(seed=2, duplicates=300)) == ["anomalies duplicates / events"]


def test_missing_events_are_counted_from_rare_paths_with_a_step_of_a_workflow_missing() -> None:
    # Each step after the first missing at one rate: 60 of each of COMPLETED's, 20 of FAILED's.
    dropped = {COMPLETED[:i] + COMPLETED[i + 1 :]: 60 for i in range(1, 4)}
    b = made({COMPLETED: 7_800, FAILED: 2_000, **dropped, FAILED[:1]: 20}, seed=2)
    (missing,) = [row for row in compare(made(seed=1), b).rows if row.name == "missing / payments"]
    assert (missing.a, missing.b, missing.passed) == (0.0, 0.02, False)


def test_a_status_in_one_source_only_fails_when_it_carries_a_share() -> None:
    b = made({**MIX, ("Initiated", "Rejected"): 100}, seed=2, delays={**DELAYS, "Rejected": 500.0})
    assert "only status Rejected in B only" in _failed(made(seed=1), b)
    assert "only paths in B only" in _failed(made(seed=1), b)


def test_a_path_in_one_source_only_passes_when_its_share_is_tiny() -> None:
    b = made({**MIX, ("Initiated", "Validated", "Failed"): 5}, seed=2)
    (row,) = [row for row in compare(made(seed=1), b).rows if row.name == "paths in B only"]
    assert row.passed is True and row.b == 5 / 10_005


def test_a_flatter_bank_popularity_fails_the_rank_shares() -> None:
    flat = {f"bank-{i}": 400 for i in range(20)}
    assert "banks rank shares" in _failed(made(seed=1), made(seed=2, banks=flat))


def test_the_popularity_row_names_each_sides_fit_without_judging_it() -> None:
    flat = {f"bank-{i}": 400 for i in range(20)}
    (row,) = [row for row in compare(made(seed=1), made(seed=2, banks=flat)).rows if row.name == "popularity"]
    assert row.passed is None and row.b == 0.0 and row.a is not None and row.a > 0.5
    assert row.note.startswith("zipf s ") and row.note.endswith(" vs uniform")


def test_a_path_sample_stands_for_every_delay_it_was_drawn_from() -> None:
    pooled = pool([Sample(1_000, (1.0, 2.0), (0, 0)), Sample(2, (3.0, 4.0), (0, 0))])
    assert pooled == ((1.0, 500.0), (2.0, 500.0), (3.0, 1.0), (4.0, 1.0))


@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.lists(st.integers(0, 50), min_size=1, max_size=40))
def test_equally_weighted_ks_is_the_plain_two_sample_ks(a: list[int], b: list[int]) -> None:
    weighted = weighted_ks(sorted((float(x), 1.0) for x in a), sorted((float(x), 1.0) for x in b))
    assert weighted == ks_two_sample([float(x) for x in a], [float(x) for x in b])
