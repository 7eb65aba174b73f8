"""paths: which paths are a more frequent one with a step missing."""

from __future__ import annotations

from synthpay.calibrate.paths import missing_share, missing_variants

LONG = ("Initiated", "Validated", "Accounted", "Completed")
SHORT = ("Initiated", "Validated", "Completed")


def test_a_rare_one_step_shorter_path_is_the_longer_one_missing_a_step() -> None:
    assert missing_variants({LONG: 1_000, SHORT: 20}) == {SHORT: LONG}


def test_a_shorter_workflow_as_common_as_the_longer_one_is_a_workflow_of_its_own() -> None:
    assert missing_variants({LONG: 1_000, SHORT: 500}) == {}


def test_a_path_two_steps_shorter_is_not_a_missing_variant() -> None:
    assert missing_variants({LONG: 1_000, ("Initiated", "Completed"): 20}) == {}


def test_of_two_longer_paths_the_more_frequent_one_is_named() -> None:
    other = ("Initiated", "Validated", "Rejected", "Completed")
    assert missing_variants({LONG: 1_000, other: 400, SHORT: 20}) == {SHORT: LONG}


def test_the_missing_share_is_of_all_payments() -> None:
    assert missing_share({LONG: 980, SHORT: 20}) == 0.02
