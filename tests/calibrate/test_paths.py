"""paths: which observed paths are workflows, and which a workflow with events missing."""

from __future__ import annotations

import pytest

from synthpay.calibrate.paths import classify, grouped, missing_payments
from synthpay.calibrate.profile import Path

LONG: Path = ("Initiated", "Validated", "Accounted", "Completed")
SHORT: Path = ("Initiated", "Validated", "Completed")
#: LONG with each step after the first missing in turn, as a missing rate drops them.
DROPPED: tuple[Path, ...] = (("Initiated", "Accounted", "Completed"), SHORT, ("Initiated", "Validated", "Accounted"))


def _variants(paths: dict[Path, int]) -> set[Path]:
    return set(classify(grouped(paths)).variants)


def test_rare_paths_with_each_step_of_a_workflow_missing_are_its_variants() -> None:
    assert _variants({LONG: 10_000, **dict.fromkeys(DROPPED, 100)}) == set(DROPPED)


def test_a_shorter_workflow_as_common_as_the_longer_one_is_a_workflow_of_its_own() -> None:
    assert _variants({LONG: 1_000, SHORT: 500}) == set()


def test_one_shorter_path_far_above_the_others_missing_rate_is_a_workflow_of_its_own() -> None:
    paths = {LONG: 10_000, DROPPED[0]: 100, DROPPED[2]: 100, SHORT: 600}
    assert _variants(paths) == {DROPPED[0], DROPPED[2]}


def test_the_missing_rate_is_per_event_after_the_first_from_the_variants_share() -> None:
    # r = 100 / 10,000 variants per workflow payment and step: m = r / (1 + r).
    classified = classify(grouped({LONG: 10_000, **dict.fromkeys(DROPPED, 100)}))
    assert classified.missing == pytest.approx(0.01 / 1.01)


def test_a_workflow_s_count_holds_the_variants_of_a_longer_one_it_looks_like() -> None:
    # Initiated>Failed is a workflow, and also what Initiated>Validated>Failed is without
    # Validated: at the rate Initiated>Validated and Initiated show (1 in 100), 100 of its payments are that.
    longer, failed, cut = ("Initiated", "Validated", "Failed"), ("Initiated", "Failed"), ("Initiated", "Validated")
    kept = {
        g.steps: held
        for g, held in classify(grouped({longer: 10_000, failed: 5_000, cut: 100, ("Initiated",): 50})).kept
    }
    assert kept == {longer: 0.0, failed: pytest.approx(100.0)}


def test_paths_of_the_same_statuses_in_other_orders_are_one_group_in_its_most_frequent_order() -> None:
    other = ("Initiated", "Accounted", "Validated", "Completed")
    (group,) = grouped({LONG: 700, other: 300})
    assert (group.steps, group.payments) == (LONG, 1_000)


def test_the_missing_payments_are_the_variants_payments() -> None:
    assert missing_payments({LONG: 10_000, **dict.fromkeys(DROPPED, 100)}) == 300
