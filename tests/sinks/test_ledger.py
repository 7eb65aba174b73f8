"""The ledger's record of where a run's records lie."""

from __future__ import annotations

from synthpay.sinks.ledger import Ledger
from synthpay.summary.document import PartitionRange


def test_place_keeps_the_partitions_whose_end_moved() -> None:
    ledger = Ledger(["a", "b"])
    ledger.place({("a", 0): 5, ("a", 1): 2, ("b", 0): 7}, {("a", 0): 9, ("a", 1): 2, ("b", 0): 8})
    assert ledger.offsets == {"a": (PartitionRange(0, 5, 9),), "b": (PartitionRange(0, 7, 8),)}


def test_a_partition_that_appeared_during_the_run_starts_at_0() -> None:
    ledger = Ledger(["a"])
    ledger.place({}, {("a", 0): 3})
    assert ledger.offsets == {"a": (PartitionRange(0, 0, 3),)}
