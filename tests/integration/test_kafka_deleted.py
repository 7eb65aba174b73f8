"""verify against the real broker, after the broker deleted some of a run's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from kafka_support import kafka_env, run_synthpay, services, verify_run, write_config

pytestmark = pytest.mark.kafka


def test_verify_names_records_deleted_below_the_log_start_offset(tmp_path: Path) -> None:
    svc = services()
    cfg, topics = write_config(tmp_path)
    start = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    args = ["--config", str(cfg), "--payments", "40", "--clock", "virtual", "--seed", "5", "--start", start]
    run = run_synthpay(tmp_path, args, kafka_env(svc))
    assert run.returncode == 0, run.stderr
    topic = topics["Initiated"]
    ranges = run.summary["offsets"][topic]
    assert sum(r["end"] - r["start"] for r in ranges) == run.summary["topics"][topic]["delivered"] == 40
    # Delete every record of the first partition written to, as retention would.
    gone = ranges[0]
    admin = AdminClient({"bootstrap.servers": svc.bootstrap})
    for future in admin.delete_records([TopicPartition(topic, gone["partition"], gone["end"])]).values():
        future.result(timeout=30)

    report = verify_run(tmp_path, run, kafka_env(svc))

    deleted = gone["end"] - gone["start"]
    assert report.returncode == 1
    assert f"{topic} consumed {40 - deleted}, delivered 40, {deleted} deleted by the broker" in report.stdout
    assert f"all {deleted} missing records of the run were deleted by the broker" in report.stdout
    assert f"partition {gone['partition']}: log start offset {gone['end']}" in report.stdout
