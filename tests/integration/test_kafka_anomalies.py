"""Labelled anomalies end to end: what a consumer of the Kafka topics sees."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kafka_support import (
    Record,
    Run,
    consume,
    group_by_payment,
    kafka_env,
    run_synthpay,
    services,
    verify_run,
    write_config,
)

pytestmark = pytest.mark.kafka

START = "2020-01-01T00:00:00Z"
RATE = 0.03
ANOMALIES = f"""
[anomalies]
late = {RATE}
late_delay = {{ dist = "exponential", mean_ms = 2000 }}
duplicate = {RATE}
duplicate_delay = {{ dist = "uniform", min_ms = 0, max_ms = 500 }}
out_of_order = {RATE}
missing = {RATE}
"""


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, dict[str, str]]:
    svc = services()
    tmp = tmp_path_factory.mktemp("dirty")
    cfg, topics = write_config(tmp, extra=ANOMALIES, entities='popularity = "zipf"')
    run = run_synthpay(
        tmp,
        ["--config", str(cfg), "--clock", "virtual", "--seed", "3", "--start", START, "--payments", "4000"],
        kafka_env(svc),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return tmp, run, topics


@pytest.fixture(scope="module")
def dirty(dirty_run: tuple[Path, Run, dict[str, str]]) -> tuple[dict[str, Any], dict[str, str], list[Record]]:
    _, run, topics = dirty_run
    expected = sum(run.summary["topics"][t]["delivered"] for t in topics.values())  # the ground truth is not read here
    return run.summary, topics, consume(services(), list(topics.values()), expected)


def test_verify_expects_the_labelled_anomalies(dirty_run: tuple[Path, Run, dict[str, str]]) -> None:
    tmp, run, _ = dirty_run
    proc = verify_run(tmp, run, kafka_env(services()), "--timeout", "5")
    assert proc.returncode == 0
    for line in (
        "PASS  anomalies:",
        "PASS  missing:",
        "PASS  rates:",
        "PASS  timestamps:",
        "PASS  hot banks:",
        "PASS  duplicates: 0",
    ):
        assert line in proc.stdout


def _payment_records(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> list[Record]:
    _, topics, records = dirty
    return [r for r in records if r.topic != topics["banks"]]


def test_every_record_is_delivered_and_accounted(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> None:
    summary, _, records = dirty
    assert summary["ok"]
    withheld = summary["topics"][summary["plan"]["ground_truth_topic"]]["delivered"]
    assert withheld == summary["anomalies"]["injected"]["missing"]
    assert len(records) + withheld == summary["delivered"] == summary["events_total"]


def test_labelled_counts_match_the_summary_per_topic(
    dirty: tuple[dict[str, Any], dict[str, str], list[Record]],
) -> None:
    summary = dirty[0]
    seen = Counter((r.headers["anomaly"].decode(), r.topic) for r in _payment_records(dirty) if "anomaly" in r.headers)
    expected = {
        (kind, topic): n
        for kind, by_topic in summary["anomalies"]["by_topic"].items()
        if kind != "missing"
        for topic, n in by_topic.items()
    }
    assert dict(seen) == expected
    assert {kind for kind, _ in seen} == {"late", "duplicate", "out_of_order"}


def test_each_kind_at_its_rate(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> None:
    report = dirty[0]["anomalies"]
    assert report["candidates"].keys() == {"late", "duplicate", "out_of_order", "missing"}
    for kind, n in report["candidates"].items():
        hits = report["injected"][kind]
        assert abs(hits - n * RATE) <= 5 * math.sqrt(n * RATE * (1 - RATE)) + 1, kind


def test_late_records_have_the_emission_time_as_record_timestamp(
    dirty: tuple[dict[str, Any], dict[str, str], list[Record]],
) -> None:
    late = [r for r in _payment_records(dirty) if r.headers.get("anomaly") == b"late"]
    assert late and all(r.timestamp >= r.value["ts"] for r in late)
    assert sum(r.timestamp > r.value["ts"] for r in late) > len(late) // 2
    clean = [r for r in _payment_records(dirty) if "anomaly" not in r.headers]
    assert clean
    assert all(r.timestamp == r.value["ts"] for r in clean)


def test_duplicates_repeat_a_record_exactly(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> None:
    def identity(r: Record) -> tuple[str, str, int, str]:
        return r.topic, r.key, r.schema_id, repr(sorted(r.value.items()))

    records = _payment_records(dirty)
    first = Counter(identity(r) for r in records if r.headers.get("anomaly") != b"duplicate")
    duplicates = [r for r in records if r.headers.get("anomaly") == b"duplicate"]
    assert duplicates
    for r in duplicates:
        assert first[identity(r)] == 1
        assert r.headers["run_id"] and r.headers["status"] == r.value["status"].encode()


def test_a_swapped_status_arrives_after_the_next_one(
    dirty: tuple[dict[str, Any], dict[str, str], list[Record]],
) -> None:
    summary, topics, _ = dirty
    by_id = group_by_payment(_payment_records(dirty), topics["banks"])
    missing = {pid for ids in summary["anomalies"]["missing_ids"].values() for pid in ids}
    swapped = 0
    for events in by_id.values():
        held = [r for r in events if r.headers.get("anomaly") == b"out_of_order"]
        if not held:
            continue
        assert len(held) == 1
        # Emitted the ms after the next status's time (that one on time, late, or listed missing).
        following = held[0].timestamp - 1
        assert following > held[0].value["ts"]
        assert following in {r.value["ts"] for r in events} or held[0].key in missing
        swapped += 1
    assert swapped == summary["anomalies"]["injected"]["out_of_order"]


def test_missing_events_never_arrive(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> None:
    summary, _topics, _ = dirty
    report = summary["anomalies"]
    arrived = {(r.value["status"], r.key) for r in _payment_records(dirty)}
    listed = [(status, pid) for status, ids in report["missing_ids"].items() for pid in ids]
    assert len(listed) == min(sum(report["missing"].values()), 1000)
    assert not any(item in arrived for item in listed)
    assert "Initiated" not in report["missing"]


def test_bank_records_carry_no_anomaly(dirty: tuple[dict[str, Any], dict[str, str], list[Record]]) -> None:
    _, topics, records = dirty
    banks = [r for r in records if r.topic == topics["banks"]]
    assert banks and not any("anomaly" in r.headers for r in banks)


def test_verify_judges_a_phases_anomalies_from_the_records_headers(tmp_path: Path) -> None:
    """End to end: the phase header, through Kafka, is what verify counts out_of_order under."""
    svc = services()
    phased = (
        '[[phases]]\nname = "incident"\nat_s = 10\nduration_s = 10\n'
        "anomalies = { duplicate = 0.1, out_of_order = 0.2 }\n"
    )
    cfg, _ = write_config(tmp_path, extra=ANOMALIES + phased)
    run = run_synthpay(
        tmp_path,
        [
            "--config",
            str(cfg),
            "--clock",
            "virtual",
            "--seed",
            "3",
            "--start",
            START,
            "--payments",
            "0",
            "--rate",
            "200",
            "--duration",
            "30",
            "--workers",
            "100000",
        ],
        kafka_env(svc),
    )
    assert run.returncode == 0, run.stderr[-3000:]
    proc = verify_run(tmp_path, run, kafka_env(svc), "--timeout", "5")
    assert proc.returncode == 0
    assert "PASS  phase anomalies:" in proc.stdout
