"""kafka.topic_prefix against the real broker and registry: prefixed topics, prefixed subjects."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from kafka_support import consume, kafka_env, registry, run_synthpay, services, verify_run

from synthpay.config.settings import DEFAULT_STATUSES

pytestmark = pytest.mark.kafka


def test_a_prefixed_run_writes_prefixed_topics_under_prefixed_subjects(tmp_path: Path) -> None:
    svc = services()
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topics = [f"{prefix}banks", *(f"{prefix}payment-{name.lower()}" for name, _, _ in DEFAULT_STATUSES)]
    # From now: records years old are past the broker's retention, and its cleaner runs every few seconds.
    args = ["--topic-prefix", prefix, "--payments", "200", "--clock", "virtual"]
    run = run_synthpay(tmp_path, args, kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.summary["topics"]) == sorted(topics)

    records = consume(svc, topics, run.summary["delivered"])
    delivered = {topic: counts["delivered"] for topic, counts in run.summary["topics"].items()}
    assert Counter(r.topic for r in records) == {topic: n for topic, n in delivered.items() if n}
    client = registry(svc)
    # Every subject is registered at start, a topic no event reached (Canceled, say) included.
    subjects = {topic: client.get_latest_version(f"{topic}-value").schema_id for topic in topics}
    assert all(r.schema_id == subjects[r.topic] for r in records)
    assert verify_run(tmp_path, run, kafka_env(svc)).returncode == 0
