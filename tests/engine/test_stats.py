"""Delivery accounting from failure-only reports (Ledger.settle), against a simulated queue."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synthpay.sinks.ledger import Ledger

TOPICS = ("a", "b", "c")

# An operation on the simulated sink: (kind, topic index, count, queued report events).
OPS = st.lists(
    st.tuples(
        st.sampled_from(("produce", "deliver", "fail", "poll")),
        st.integers(0, 2),
        st.integers(0, 50),
        st.integers(0, 3),
    ),
    max_size=60,
)


class Queue:
    """What the sink knows for sure: per topic, messages produced and not yet settled."""

    def __init__(self) -> None:
        self.in_flight = dict.fromkeys(TOPICS, 0)
        self.delivered = dict.fromkeys(TOPICS, 0)
        self.failed = dict.fromkeys(TOPICS, 0)


def run_ops(ops: list[tuple[str, int, int, int]], failures: bool) -> None:
    ledger, queue = Ledger(TOPICS), Queue()
    unknown = dict.fromkeys(TOPICS, 0)
    before = dict(ledger.delivered)
    for kind, index, count, events in ops:
        topic = TOPICS[index]
        if kind == "produce":
            ledger.produced[topic] += count
            queue.in_flight[topic] += count
        elif kind == "deliver" or (kind == "fail" and failures):
            n = min(count, queue.in_flight[topic])
            queue.in_flight[topic] -= n
            if kind == "deliver":
                queue.delivered[topic] += n
            else:
                queue.failed[topic] += n
                ledger.failed[topic] += n  # failures are reported one by one
        pending = sum(queue.in_flight.values())
        # librdkafka's queue length adds report events not yet served: an overcount.
        ledger.settle(pending + (events if pending else 0), unknown)
        assert sum(ledger.delivered.values()) <= sum(queue.delivered.values())
        if not pending:
            assert ledger.delivered == queue.delivered
        if not failures:
            for name in TOPICS:
                assert before[name] <= ledger.delivered[name] <= ledger.produced[name] - ledger.failed[name]
        before = dict(ledger.delivered)
    # The end of a run: everything settles.
    for topic in TOPICS:
        queue.delivered[topic] += queue.in_flight[topic]
        queue.in_flight[topic] = 0
    ledger.settle(0, unknown)
    assert ledger.delivered == queue.delivered


@given(OPS)
def test_settle_is_exact_when_nothing_is_pending_and_never_ahead(ops: list[tuple[str, int, int, int]]) -> None:
    run_ops(ops, failures=True)


@given(OPS)
def test_without_failures_counts_only_grow_and_stay_within_produced(ops: list[tuple[str, int, int, int]]) -> None:
    run_ops(ops, failures=False)


def test_messages_of_unknown_fate_are_neither_delivered_nor_failed() -> None:
    ledger = Ledger(TOPICS)
    ledger.produced.update(a=10, b=5, c=0)
    ledger.failed["a"] = 2
    ledger.settle(0, {"a": 3, "b": 5, "c": 0})  # purged after an incomplete flush
    assert ledger.delivered == {"a": 5, "b": 0, "c": 0}
    assert ledger.pending == 0


def test_in_flight_deliveries_are_shared_in_proportion() -> None:
    ledger = Ledger(TOPICS)
    ledger.produced.update(a=300, b=100, c=0)
    ledger.settle(200, dict.fromkeys(TOPICS, 0))  # 200 of the 400 delivered
    assert ledger.delivered == {"a": 150, "b": 50, "c": 0}
    assert ledger.pending == 200
