"""What verify says of records the broker deleted below the log start offset."""

from __future__ import annotations

from dataclasses import replace

import pytest

from synthpay.summary.document import PartitionRange
from synthpay.verify.deleted import check, gone
from synthpay.verify.manifest import Manifest

BASE = Manifest(
    run_id="r",
    delivered={"a": 10, "b": 4},
    statuses=("S",),
    status_of_topic={"a": 0},
    banks_topic="b",
    schedules=(),
    payments_started=10,
    payments_cut=0,
)
RANGES = {"a": (PartitionRange(0, 100, 106), PartitionRange(1, 0, 4)), "b": (PartitionRange(0, 0, 4),)}


def test_records_below_the_log_start_offset_are_counted_and_explain_all() -> None:
    manifest = replace(BASE, offsets=RANGES)
    found = gone(manifest, {"a": 7, "b": 4}, {("a", 0): 103, ("a", 1): 0, ("b", 0): 0})
    assert [(g.topic, g.missing, g.deleted) for g in found] == [("a", 3, 3)]
    assert "partition 0: log start offset 103, past 3 of the run's offsets 100-105" in found[0].why
    assert check(manifest, {"a": 7, "b": 4}, found).detail.startswith("all 3 missing records of the run were deleted")


def test_only_what_the_offsets_show_is_deleted() -> None:
    manifest = replace(BASE, offsets=RANGES)
    consumed = {"a": 5, "b": 4}  # 5 missing, 2 of them below the log start offset
    found = gone(manifest, consumed, {("a", 0): 102, ("a", 1): 0})
    assert found[0].deleted == 2
    assert "the other 3 are missing for another reason" in check(manifest, consumed, found).detail


def test_records_of_other_producers_in_the_ranges_are_not_counted_as_the_run_s() -> None:
    manifest = replace(BASE, offsets={"a": (PartitionRange(0, 0, 12),)})  # 10 of the run's, 2 others'
    assert gone(manifest, {"a": 5, "b": 4}, {("a", 0): 5})[0].deleted == 3


@pytest.mark.parametrize(("log_start", "explained"), [(6, True), (2, False)], ids=["consistent", "too-few"])
def test_without_offsets_a_log_start_above_0_is_consistent_with_deletion(log_start: int, explained: bool) -> None:
    found = gone(BASE, {"a": 5, "b": 4}, {("a", 0): log_start, ("a", 1): 0})
    assert bool(found) is explained
    if found:
        assert "consistent with deletion" in check(BASE, {"a": 5, "b": 4}, found).detail
