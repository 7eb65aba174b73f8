"""Labelled anomalies: the injector on its own, then the engine under the MockClock."""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import payment_events, read_avro, run_engine, settings_for
from engine_runs import Written, _run

from synthpay.config.settings import DEFAULT_DUPLICATE_DELAY, DEFAULT_LATE_DELAY, AnomalySettings, Settings
from synthpay.engine.injector import MISSING_IDS_CAP, Injector, _Picks
from synthpay.model import delays
from synthpay.model.anomalies import Injected, Withheld
from synthpay.model.entities import Payment
from synthpay.model.events import Event, Topic
from synthpay.model.reports import AnomalyReport
from synthpay.summary.document import Summary

NONE = AnomalySettings(0.0, DEFAULT_LATE_DELAY, 0.0, DEFAULT_DUPLICATE_DELAY, 0.0, 0.0)


def _within_binomial(hits: int, n: int, p: float, z: float = 5.0) -> bool:
    return abs(hits - n * p) <= z * math.sqrt(n * p * (1 - p)) + 1


# -- the picks


@pytest.mark.parametrize("p", [0.001, 0.01, 0.3])
def test_picks_hit_each_index_with_the_probability(p: float) -> None:
    picks, hits, n = _Picks(p, random.Random(7)), 0, 200_000
    for index in range(1, n + 1):
        if picks.next <= index:
            hits += 1
            picks.advance()
    assert _within_binomial(hits, n, p)


def test_probability_one_picks_every_index_and_zero_none() -> None:
    always, never = _Picks(1.0, random.Random(1)), _Picks(0.0, random.Random(1))
    picked = []
    for index in range(1, 6):
        picked.append(always.next <= index)
        if always.next <= index:
            always.advance()
    assert picked == [True] * 5
    assert never.next == math.inf


# -- the injector alone, driven as the scheduler drives it: payments of three steps, one every 10 ms


STATUSES = ("Initiated", "Validated", "Completed")
TOPICS = tuple(Topic(f"t-{s.lower()}", "payment", 1, s) for s in STATUSES)
GAPS: tuple[int, ...] = (0, 100, 200)
ROUTE_TOPICS: tuple[Topic, ...] = (TOPICS[0], TOPICS[1], TOPICS[2])
GROUND_TRUTH = Topic("t-ground-truth", "ground_truth", 1)


class _Flight(Payment):
    __slots__ = ("gaps", "step", "topics")

    def __init__(self, kafka_key: bytes) -> None:
        super().__init__(kafka_key, b"tail")
        self.gaps, self.topics, self.step = GAPS, ROUTE_TOPICS, 0


@dataclass
class Harness:
    injector: Injector
    buffer: list[Event]
    wakes: list[int]
    emitted: dict[str, int]
    payments: int = 0

    def report(self) -> AnomalyReport:
        records = sum(n for name, n in self.emitted.items() if name != GROUND_TRUTH.name)
        return self.injector.report(records, self.payments, [self.payments])


def _harness(settings: AnomalySettings, seed: str = "s") -> Harness:
    emitted = dict.fromkeys((t.name for t in (*TOPICS, GROUND_TRUTH)), 0)
    wakes: list[int] = []
    return Harness(Injector(settings, seed, emitted, wakes.append, GROUND_TRUTH), [], wakes, emitted)


def _drive(h: Harness, payments: int, end_ms: int = 10**12) -> list[_Flight]:
    """The scheduler's loop in small: events in due order, the injector taking the picked ones (until ``end_ms``)."""
    made = [_Flight(f"{i:036d}".encode()) for i in range(payments)]
    h.payments = payments
    wheel = [(10 * i, i, flight) for i, flight in enumerate(made)]
    heapq.heapify(wheel)
    quiet = h.injector.first()
    while wheel:
        due, order, flight = heapq.heappop(wheel)
        h.injector.release(h.buffer, due - 1)
        topic = flight.topics[flight.step]
        if quiet:
            quiet -= 1
            h.buffer.append(Event(topic, due, flight))
            h.emitted[topic.name] += 1
        else:
            quiet = h.injector.emit(h.buffer, topic, due, flight, flight.step)
        flight.step += 1
        if flight.step < len(flight.gaps):  # a swap may have taken a step out
            heapq.heappush(wheel, (due + flight.gaps[flight.step], order, flight))
    h.injector.release(h.buffer, end_ms)
    return made


def _labels(buffer: Sequence[Event]) -> Counter[str]:
    return Counter(e.entity.anomaly if isinstance(e.entity, Injected) else "" for e in buffer)


def test_no_anomaly_emits_every_event_once() -> None:
    h = _harness(NONE)
    _drive(h, 100)
    assert len(h.buffer) == 300
    assert _labels(h.buffer) == {"": 300}
    assert h.injector.injected == dict.fromkeys(("late", "duplicate", "out_of_order", "missing"), 0)


def test_late_event_keeps_its_time_and_is_emitted_later() -> None:
    h = _harness(replace(NONE, late=1.0, late_delay=delays.fixed(500)))
    _drive(h, 10)
    assert _labels(h.buffer) == {"late": 30}
    for event in h.buffer:
        assert isinstance(event.entity, Injected)
        assert event.ts_ms == event.entity.event_ts_ms + 500
        assert event.avro() == Payment.avro(event.entity, event.topic, event.entity.event_ts_ms)
    assert sorted(h.wakes) == sorted(e.ts_ms for e in h.buffer)


def test_duplicate_is_byte_identical_and_comes_after_the_original() -> None:
    h = _harness(replace(NONE, duplicate=1.0, duplicate_delay=delays.fixed(5)))
    _drive(h, 10)
    originals = [e for e in h.buffer if not isinstance(e.entity, Injected)]
    copies = [e for e in h.buffer if isinstance(e.entity, Injected)]
    assert len(originals) == len(copies) == 30
    by_key = {(e.topic.name, e.key): e for e in originals}
    for copy in copies:
        original = by_key[(copy.topic.name, copy.key)]
        assert (copy.entity.kafka_key, copy.avro()) == (original.entity.kafka_key, original.avro())
        assert copy.ts_ms == original.ts_ms + 5


def test_late_and_duplicate_together_copy_the_late_emission() -> None:
    h = _harness(replace(NONE, late=1.0, late_delay=delays.fixed(1000), duplicate=1.0, duplicate_delay=delays.fixed(7)))
    _drive(h, 1)
    assert [(e.entity.anomaly, e.ts_ms) for e in h.buffer if isinstance(e.entity, Injected)] == [
        ("late", 1000),
        ("duplicate", 1007),
        ("late", 1100),
        ("duplicate", 1107),
        ("late", 1300),
        ("duplicate", 1307),
    ]


def test_out_of_order_emits_the_earlier_status_just_after_the_later() -> None:
    h = _harness(replace(NONE, out_of_order=1.0))
    made = _drive(h, 200)
    assert h.injector.injected["out_of_order"] == 200
    assert len(made) == 200
    pairs = Counter[int]()
    for flight in made:
        seen = [e for e in h.buffer if e.key == flight.id]
        assert sorted(e.topic.status for e in seen) == sorted(STATUSES)
        held = [(e, e.entity) for e in seen if isinstance(e.entity, Injected)]
        assert len(held) == 1
        event, injected = held[0]
        assert injected.anomaly == "out_of_order"
        j = STATUSES.index(event.topic.status)
        after = next(e for e in seen if e.topic.status == STATUSES[j + 1])
        assert injected.event_ts_ms < after.ts_ms < event.ts_ms == after.ts_ms + 1
        assert seen.index(event) > seen.index(after)
        pairs[j] += 1
    assert set(pairs) == {0, 1}


def test_missing_never_drops_the_first_step() -> None:
    h = _harness(replace(NONE, missing=1.0))
    _drive(h, 50)
    assert [e.topic.status for e in h.buffer if e.topic.name != GROUND_TRUTH.name] == ["Initiated"] * 50
    assert h.injector.missing == {"Validated": 50, "Completed": 50}
    report = h.report()
    assert report.missing_ids["Validated"][0] == f"{0:036d}"
    assert report.missing_ts["Validated"][0] == 100
    assert report.by_topic["missing"] == {"t-completed": 50, "t-validated": 50}
    assert report.candidates["missing"] == 100


def test_every_missing_event_goes_to_the_ground_truth_past_the_summarys_list() -> None:
    h = _harness(replace(NONE, missing=1.0))
    _drive(h, MISSING_IDS_CAP)  # two missing events each: twice what the summary lists
    withheld = [e for e in h.buffer if e.topic.name == GROUND_TRUTH.name]
    assert len(withheld) == 2 * MISSING_IDS_CAP == sum(h.injector.missing.values())
    assert sum(len(ids) for ids in h.report().missing_ids.values()) == MISSING_IDS_CAP
    last = withheld[-1]
    assert isinstance(last.entity, Withheld) and (last.entity.anomaly, last.entity.cut) == ("missing", False)
    assert (last.topic.status, last.ts_ms) == ("Completed", 10 * (MISSING_IDS_CAP - 1) + 300)
    assert h.emitted[GROUND_TRUTH.name] == len(withheld)


def test_a_stop_cuts_held_back_events_to_the_ground_truth_and_counts_them() -> None:
    day = 86_400_000
    h = _harness(replace(NONE, late=1.0, late_delay=delays.fixed(day)))
    _drive(h, 10, end_ms=day - 1)  # stopped before any fell due
    assert not h.buffer and h.injector.pending == 30
    h.injector.cut(h.buffer)
    assert h.injector.pending == 0
    assert [(e.topic.name, e.entity.anomaly) for e in h.buffer] == [(GROUND_TRUTH.name, "late")] * 30
    assert all(isinstance(e.entity, Withheld) and e.entity.cut for e in h.buffer)
    assert sorted(e.ts_ms for e in h.buffer)[:3] == [0, 10, 20]  # the event's own time, not the emission's
    report = h.report()
    assert report.cut == {"late": 30} and report.injected["late"] == 30
    assert report.candidates["late"] == 30  # cut events were drawn for all the same


def test_emitted_counts_every_record_appended() -> None:
    h = _harness(replace(NONE, late=0.2, duplicate=0.2, out_of_order=0.2, missing=0.2))
    _drive(h, 500)
    assert sum(h.emitted.values()) == len(h.buffer)
    report = h.report()
    labelled = _labels(h.buffer)
    for kind in ("late", "duplicate", "out_of_order"):
        assert labelled[kind] == sum(report.by_topic[kind].values()) == report.injected[kind]


def test_candidates_count_every_event_a_kind_could_befall() -> None:
    h = _harness(replace(NONE, late=0.2, duplicate=0.2, out_of_order=0.2, missing=0.2))
    _drive(h, 500)
    report, injected = h.report(), h.injector.injected
    held_later = sum(
        1
        for e in h.buffer
        if isinstance(e.entity, Injected) and e.entity.anomaly == "out_of_order" and e.topic.status != "Initiated"
    )
    # A swap takes one event from late and duplicate; a held-back later step was never offered to missing.
    assert (
        report.candidates["late"]
        == report.candidates["duplicate"]
        == 1500 - injected["out_of_order"] - injected["missing"]
    )
    assert report.candidates["missing"] == 1000 - held_later


@pytest.mark.parametrize("kind", ["late", "duplicate", "out_of_order", "missing"])
def test_realized_rate_is_a_binomial_sample(kind: str) -> None:
    probabilities: dict[str, Any] = {kind: 0.05}
    h = _harness(replace(NONE, **probabilities))
    _drive(h, 20_000)
    report = h.report()
    assert _within_binomial(report.injected[kind], report.candidates[kind], 0.05)


def test_turning_one_kind_on_moves_no_other_kinds_picks() -> None:
    alone = _harness(replace(NONE, missing=0.05))
    _drive(alone, 2000)
    with_late = _harness(replace(NONE, missing=0.05, late=0.05))
    _drive(with_late, 2000)
    assert alone.injector.missing_ids == with_late.injector.missing_ids


# -- the engine under the MockClock, through a sink that records what it is handed


ALL = {"anomalies.late": 0.02, "anomalies.duplicate": 0.02, "anomalies.out_of_order": 0.02, "anomalies.missing": 0.02}


def _settings(overrides: Mapping[str, Any]) -> Settings:
    return settings_for(None, {"run.payments": 5000, "run.sink": "null", **overrides})


@pytest.fixture(scope="module")
def dirty_run() -> tuple[Summary, list[Written]]:
    return _run(_settings(ALL))


def test_engine_default_run_has_no_anomaly_report() -> None:
    summary, written = _run(_settings({"run.payments": 300}))
    assert summary.anomalies is None
    assert written
    assert all(not w.anomaly for w in written)
    assert "anomalies" not in summary.to_json()


def test_engine_accounting_balances_with_duplicates(dirty_run: tuple[Summary, list[Written]]) -> None:
    summary, written = dirty_run
    assert summary.ok
    assert summary.payments_completed == 5000
    report = summary.anomalies
    assert report is not None
    gt = summary.plan.ground_truth_topic
    payment_topics = {t: c["emitted"] for t, c in summary.topics.items() if t not in ("banks", gt)}
    emitted = [w for w in written if w.topic != gt]
    assert sum(payment_topics.values()) == len(emitted)
    for kind in ("late", "duplicate", "out_of_order"):
        assert sum(report.by_topic[kind].values()) == sum(1 for w in emitted if w.anomaly == kind)
    expected = sum(summary.statuses.values())
    assert expected == len(emitted)
    assert summary.topics[gt]["emitted"] == report.injected["missing"] == sum(1 for w in written if w.topic == gt)


def test_engine_injects_each_kind_at_its_rate(dirty_run: tuple[Summary, list[Written]]) -> None:
    report = dirty_run[0].anomalies
    assert report is not None
    for kind in ("late", "duplicate", "out_of_order", "missing"):
        assert report.injected[kind] > 0
        assert _within_binomial(report.injected[kind], report.candidates[kind], 0.02)


def test_engine_late_records_keep_their_event_time(dirty_run: tuple[Summary, list[Written]]) -> None:
    late = [w for w in dirty_run[1] if w.anomaly == "late"]
    assert late and all(w.emitted_ms >= w.ts for w in late)
    assert any(w.emitted_ms > w.ts for w in late)
    on_time = [w for w in dirty_run[1] if not w.anomaly]
    assert on_time
    assert all(w.emitted_ms == w.ts for w in on_time)


def test_engine_duplicates_repeat_an_emitted_record_byte_for_byte(dirty_run: tuple[Summary, list[Written]]) -> None:
    written = dirty_run[1]
    values = Counter((w.topic, w.key, w.value) for w in written if w.anomaly != "duplicate")
    duplicates = [w for w in written if w.anomaly == "duplicate"]
    assert duplicates
    for w in duplicates:
        assert values[(w.topic, w.key, w.value)] == 1


def test_engine_missing_ids_never_reach_the_sink(dirty_run: tuple[Summary, list[Written]]) -> None:
    summary, written = dirty_run
    assert summary.anomalies is not None
    seen = {(w.topic.removeprefix("payment-"), w.key) for w in written}
    assert summary.anomalies.missing_ids
    for status, ids in summary.anomalies.missing_ids.items():
        assert ids
        assert all((status.lower(), pid) not in seen for pid in ids)


def test_engine_seeded_dirty_run_is_reproducible(dirty_run: tuple[Summary, list[Written]]) -> None:
    assert _run(_settings(ALL))[1] == dirty_run[1]


def test_engine_file_sink_writes_the_event_time(tmp_path: Path) -> None:
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 300, "anomalies.late": 1.0})
    assert summary.anomalies is not None and summary.anomalies.injected["late"] == sum(summary.statuses.values())
    validated = 0
    for events in payment_events(read_avro(out_dir)).values():
        ts = {e["status"]: e["ts"] for e in events}
        if "Validated" in ts:  # its fixed delay, however late each was emitted
            assert ts["Validated"] - ts["Initiated"] == 1000
            validated += 1
    assert validated > 0
