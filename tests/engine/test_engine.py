"""The engine end to end under the virtual clock, checked against the files it writes."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import (
    START_MS,
    make_engine,
    payment_events,
    read_avro,
    rfc3339,
    run_engine,
    settings_for,
    writer_schema_name,
)

from synthpay import config
from synthpay.config.settings import DEFAULT_STATUSES, DEFAULT_WORKFLOWS
from synthpay.model import entities
from synthpay.summary.document import Summary

DELAYS = {name: delay for name, delay, _ in DEFAULT_STATUSES}
WORKFLOWS = dict(DEFAULT_WORKFLOWS)
LABELS = {steps: "[" + " ".join(steps) + "]" for steps in WORKFLOWS}
TOPICS = {name: f"payment-{name.lower()}" for name in DELAYS}


# The summary, the output directory and the records read back from it.
Run3000 = tuple[Summary, Path, dict[str, list[dict[str, Any]]]]


@pytest.fixture(scope="module")
def run_3000(tmp_path_factory: pytest.TempPathFactory) -> Run3000:
    """3,000 payments, default config (100 workers, sequential timing), virtual clock."""
    summary, out_dir, _ = run_engine(tmp_path_factory.mktemp("run3000"), {"run.payments": 3000})
    return summary, out_dir, read_avro(out_dir)


def test_file_counts_equal_the_summary(run_3000: Run3000) -> None:
    summary, _out_dir, records = run_3000
    assert sorted(records) == sorted([*TOPICS.values(), "banks"])
    counts = {topic: len(recs) for topic, recs in records.items()}

    assert summary.ok
    assert summary.payments_started == summary.payments_completed == 3000
    assert summary.payments_cut == 0
    assert summary.statuses == {name: counts[TOPICS[name]] for name in DELAYS}
    assert summary.events_total == sum(counts.values())
    assert summary.delivered == summary.produced == summary.events_total
    assert summary.failed == summary.undelivered == 0
    assert summary.banks_created + summary.bank_updates == counts["banks"]
    assert summary.banks_created == 20
    for topic, count in counts.items():
        assert summary.topics[topic] == {"emitted": count, "produced": count, "delivered": count, "failed": 0}
    # Every payment gets exactly one Initiated event.
    assert counts[TOPICS["Initiated"]] == 3000
    # The workflow table counts what the files hold.
    by_id = payment_events(records)
    assert len(by_id) == 3000
    seen = Counter("[" + " ".join(e["status"] for e in events) + "]" for events in by_id.values())
    assert dict(seen) == {label: n for label, n in summary.workflows.items() if n}
    assert sum(summary.workflows.values()) == 3000


def test_topic_files_have_the_right_schema_and_order(run_3000: Run3000) -> None:
    _, out_dir, records = run_3000
    assert any(topic != "banks" for topic in records)
    for topic, recs in records.items():
        expected = "Bank" if topic == "banks" else "Payment"
        assert writer_schema_name(out_dir / f"{topic}.avro") == f"confluent.io.examples.serialization.avro.{expected}"
        if topic != "banks":
            assert {r["status"] for r in recs} == {topic.removeprefix("payment-").capitalize()}
            # One scheduler emits in time order, so every topic is in time order.
            assert [r["ts"] for r in recs] == sorted(r["ts"] for r in recs)


def test_payment_fields(run_3000: Run3000) -> None:
    _, _, records = run_3000
    bank_ids = {b["id"] for b in records["banks"]}
    first_bank_ids = [b["id"] for b in records["banks"] if b["version"] == 1]
    sources, destinations = set(first_bank_ids[:10]), set(first_bank_ids[10:])
    assert len(payment_events(records)) == 3000
    for pid, events in payment_events(records).items():
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", pid)
        assert events
        first = events[0]
        for e in events:
            assert e["date_ts"] == rfc3339(e["ts"])
            assert 0.1 <= e["amount"] < 99999
            assert re.fullmatch(r"[A-Z]{3}", e["currency"]) and e["currency"] in entities.CURRENCIES
            assert e["source"] in bank_ids and e["destination"] in bank_ids
            # What a payment is does not change between its status events.
            for name in ("source", "destination", "currency", "amount"):
                assert e[name] == first[name]
        assert first["source"] in sources
        assert first["destination"] in destinations


def test_banks_and_bank_updates(run_3000: Run3000) -> None:
    summary, _, records = run_3000
    banks = records["banks"]
    first_payment_ts = min(r["ts"] for topic, recs in records.items() if topic != "banks" for r in recs)
    assert first_payment_ts == START_MS + DELAYS["Initiated"]
    created = [b for b in banks if b["version"] == 1]
    assert len(created) == len({b["id"] for b in created}) == 20
    assert banks[:20] == created  # every bank exists before any update
    start_text = rfc3339(START_MS)
    for bank in created:
        assert bank["created_ts"] == bank["updated_ts"] == start_text  # START_MS, before any payment
        assert re.fullmatch(r"[a-z]+-bank", bank["name"])
        assert bank["bic"].startswith(bank["bankCode"] + bank["country"])
    # Updates: one bank every 3000 ms, each a new version (+1) of that bank, the rest unchanged.
    updates = banks[20:]
    assert len(updates) == summary.bank_updates > 0
    assert [u["updated_ts"] for u in updates] == [rfc3339(START_MS + 3000 * k) for k in range(1, len(updates) + 1)]
    latest = {b["id"]: b for b in created}
    for update in updates:
        previous = latest[update["id"]]
        assert update["version"] == previous["version"] + 1
        assert {k: v for k, v in update.items() if k not in ("version", "updated_ts")} == {
            k: v for k, v in previous.items() if k not in ("version", "updated_ts")
        }
        latest[update["id"]] = update
    # Updates go on while payments are in flight, not after the last one.
    last_payment_ts = max(r["ts"] for topic, recs in records.items() if topic != "banks" for r in recs)
    assert START_MS + 3000 * len(updates) <= last_payment_ts < START_MS + 3000 * (len(updates) + 1)


def _check_workflows(
    records: dict[str, list[dict[str, Any]]],
    timing: str,
    workers: int,
    delays: dict[str, int] = DELAYS,
    start_ms: int = START_MS,
) -> None:
    intervals = []
    for pid, events in payment_events(records).items():
        statuses = [e["status"] for e in events]
        matching = [steps for steps in WORKFLOWS if sorted(steps) == sorted(statuses)]
        assert len(matching) == 1, (pid, statuses)
        steps = matching[0]
        ts = {e["status"]: e["ts"] for e in events}
        if timing == "sequential":
            assert tuple(statuses) == steps  # strictly in order: every delay is > 0
            for previous, status in itertools.pairwise(steps):
                assert ts[status] - ts[previous] == delays[status], (pid, previous, status)
            start = ts[steps[0]] - delays[steps[0]]
        else:
            start = ts["Initiated"] - delays["Initiated"]
            for status in steps:
                assert ts[status] - start == delays[status], (pid, status)
            # In time order; only equal delays (Validated/Accounted) share a timestamp.
            assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
        assert start >= start_ms
        intervals.append((start, max(ts.values())))
    # NUM_WORKERS: never more payments in flight than workers (a slot frees as one ends).
    edges = sorted([(end, -1) for _, end in intervals] + [(start, 1) for start, _ in intervals])
    in_flight = peak = 0
    for _, delta in edges:
        in_flight += delta
        peak = max(peak, in_flight)
    assert peak == workers


@pytest.mark.parametrize("timing", ["sequential", "parallel"])
def test_every_payment_follows_one_workflow_with_exact_delays(tmp_path: Path, timing: str) -> None:
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 1500, "run.workers": 50, "timing": timing})
    records = read_avro(out_dir)
    _check_workflows(records, timing, workers=50)
    assert summary.ok and summary.payments_completed == 1500


def test_parallel_timing_emits_equal_delays_together(tmp_path: Path) -> None:
    _, out_dir, _ = run_engine(tmp_path, {"run.payments": 300, "timing": "parallel"})
    accounted = 0
    for events in payment_events(read_avro(out_dir)).values():
        ts = {e["status"]: e["ts"] for e in events}
        if "Accounted" in ts:
            assert ts["Accounted"] == ts["Validated"]  # both 1000 ms from the start, as the original
            accounted += 1
    assert accounted > 0


def test_custom_statuses_and_workflows_from_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        """
[run]
payments = 400
workers = 7
clock = "virtual"
start = "2026-01-31T09:00:00Z"
seed = 9
sink = "file"
[entities]
sources = 2
destinations = 3
bank_update_interval_ms = 0
[statuses]
Initiated = { delay_ms = 5 }
Screened = { delay_ms = 7, topic = "screening", partitions = 2 }
[[workflows]]
steps = ["Initiated", "Screened", "Completed"]
weight = 3
[[workflows]]
steps = ["Initiated", "Failed"]
weight = 1
"""
    )
    # file.dir is relative to the process's working directory, so point it into tmp_path.
    out_dir = tmp_path / "out"
    summary, _, _ = run_engine(tmp_path, settings=config.load(env={}, cwd=tmp_path, flags={"file.dir": str(out_dir)}))
    records = read_avro(out_dir)
    assert summary.ok
    assert len(records["screening"]) == summary.statuses["Screened"] > 0
    assert len(records["banks"]) == 5 and summary.bank_updates == 0
    assert set(summary.workflows) == {"[Initiated Screened Completed]", "[Initiated Failed]"}
    assert len(payment_events(records)) == 400
    for events in payment_events(records).values():
        statuses = tuple(e["status"] for e in events)
        assert statuses in {("Initiated", "Screened", "Completed"), ("Initiated", "Failed")}
        ts = [e["ts"] for e in events]
        delays = [5, 7, 3000] if len(events) == 3 else [5, 1000]
        assert [b - a for a, b in itertools.pairwise(ts)] == delays[1:]


def test_chi_square_workflow_mix_over_20000_payments(tmp_path: Path) -> None:
    summary, _, _ = run_engine(
        tmp_path, {"run.payments": 20_000, "run.workers": 2000, "run.sink": "null", "run.seed": 20240131}
    )
    assert summary.ok and sum(summary.workflows.values()) == 20_000
    observed = [summary.workflows[LABELS[steps]] for steps in WORKFLOWS]
    assert chi_square(observed, list(WORKFLOWS.values())) < 24.32  # df = 7, p = 0.001


def chi_square(observed: list[int], weights: list[int]) -> float:
    total, wsum = sum(observed), sum(weights)
    expected = [total * w / wsum for w in weights]
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected))


def test_chi_square_rejects_a_wrong_mix() -> None:
    # The statistic above can fail: the default mix is far from uniform weights.
    observed = [1111, 2222, 1111, 1111, 1111, 10000, 2222, 1112]
    assert chi_square(observed, [1] * 8) > 24.32
    assert chi_square(observed, list(WORKFLOWS.values())) < 1


def test_null_sink_counts_and_writes_nothing(tmp_path: Path) -> None:
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 500, "run.sink": "null"})
    assert summary.ok and summary.sink == "null"
    assert summary.delivered == summary.events_total == sum(summary.statuses.values()) + 20 + summary.bank_updates
    assert sum(summary.workflows.values()) == 500
    assert not out_dir.exists()


def test_one_worker_runs_payments_one_after_another(tmp_path: Path) -> None:
    # workers = 1: payments run one after another, so the run takes the sum of their paths.
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 20, "run.workers": 1})
    records = read_avro(out_dir)
    _check_workflows(records, "sequential", workers=1)
    ends = sorted(max(e["ts"] for e in evs) for evs in payment_events(records).values())
    assert summary.last_event_ts_ms == ends[-1]


async def test_engine_under_the_autojump_clock_fixture(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    """Inside pytest-trio: 200 payments of up to 5.1 s each take no real time."""
    settings = settings_for(tmp_path / "out", {"run.payments": 200, "run.workers": 10})
    engine = make_engine(settings)
    before = trio.current_time()
    summary = await engine.run()
    assert summary.ok and summary.payments_completed == 200
    # 200 payments through 10 workers take at least 20 rounds of the shortest workflow (1.1 s).
    assert trio.current_time() - before >= 20 * 1.1
    assert summary.last_event_ts_ms is not None
    assert summary.last_event_ts_ms - START_MS == round((trio.current_time() - before) * 1000)


@pytest.mark.parametrize("timing", ["sequential", "parallel"])
def test_real_clock_run_with_short_delays(tmp_path: Path, timing: str) -> None:
    """The real clock (linger flushes, lag tracking): event times are still the exact schedule."""
    delays = {name: 5 + 3 * i for i, name in enumerate(DELAYS)}
    env = {f"DELAY_{name.upper()}": str(d) for name, d in delays.items()} | {"UPDATE_BANKS_INTERVAL": "40"}
    settings = config.load(
        env=env,
        read_files=False,
        flags={
            "run.clock": "real",
            "run.sink": "file",
            "file.dir": str(tmp_path / "out"),
            "run.payments": 300,
            "run.workers": 30,
            "timing": timing,
            "run.log_level": "warning",
        },
    )
    engine = make_engine(settings)
    summary = trio.run(engine.run)
    records = read_avro(tmp_path / "out")
    assert summary.ok and summary.clock == "real"
    assert sum(len(r) for r in records.values()) == summary.events_total == summary.delivered
    assert summary.first_event_ts_ms is not None
    _check_workflows(records, timing, workers=30, delays=delays, start_ms=summary.first_event_ts_ms)
    updates = records["banks"][20:]
    assert [u["updated_ts"] for u in updates] == [
        rfc3339(summary.first_event_ts_ms + 40 * k) for k in range(1, len(updates) + 1)
    ]
