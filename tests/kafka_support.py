"""Helpers for tests against the real broker and registry started by ``scripts/services``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from synthpay.config import DEFAULT_STATUSES, DEFAULT_WORKFLOWS


@dataclass(frozen=True)
class Services:
    bootstrap: str
    sasl_bootstrap: str
    registry: str
    plain_user: str
    plain_password: str
    scram_user: str
    scram_password: str


def services() -> Services:
    """The running services, from ``scripts/services env``; skip (or fail under CI) when absent."""
    bootstrap = os.environ.get("SYNTHPAY_IT_BOOTSTRAP")
    if not bootstrap:
        if os.environ.get("CI"):
            pytest.fail("SYNTHPAY_IT_BOOTSTRAP is not set: run the tests through scripts/test")
        pytest.skip("no broker: run `eval \"$(scripts/services env)\"` after `scripts/services up`")
    env = os.environ
    return Services(
        bootstrap=bootstrap,
        sasl_bootstrap=env["SYNTHPAY_IT_SASL_BOOTSTRAP"],
        registry=env["SYNTHPAY_IT_REGISTRY"],
        plain_user=env["SYNTHPAY_IT_PLAIN_USER"],
        plain_password=env["SYNTHPAY_IT_PLAIN_PASSWORD"],
        scram_user=env["SYNTHPAY_IT_SCRAM_USER"],
        scram_password=env["SYNTHPAY_IT_SCRAM_PASSWORD"],
    )


def write_config(tmp_path: Path, prefix: str | None = None, extra: str = "") -> tuple[Path, dict[str, str]]:
    """A config whose topics carry a unique prefix, so tests never see each other's events.

    Returns the path and {status name (or "banks"): topic}.
    """
    prefix = prefix or f"t{uuid.uuid4().hex[:10]}"
    topics = {name: f"{prefix}-payment-{name.lower()}" for name, _, _ in DEFAULT_STATUSES}
    topics["banks"] = f"{prefix}-banks"
    lines = [f'[entities]\nbanks_topic = "{topics["banks"]}"\n', "[statuses]"]
    for name, delay, partitions in DEFAULT_STATUSES:
        lines.append(f'{name} = {{ delay_ms = {delay}, partitions = {partitions}, topic = "{topics[name]}" }}')
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path, topics


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any] = field(default_factory=dict)


def run_synthpay(tmp_path: Path, args: list[str], env: dict[str, str], timeout: float = 300) -> Run:
    """``python -m synthpay run ...`` in a subprocess, with only the given environment added."""
    summary_path = tmp_path / f"summary-{uuid.uuid4().hex[:6]}.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "SCHEMA_REGISTRY_", "NUM_", "DELAY_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "synthpay", "run", "--summary-json", str(summary_path), *args],
        cwd=tmp_path, env={**base, **env}, capture_output=True, text=True, timeout=timeout,
    )
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return Run(proc.returncode, proc.stdout, proc.stderr, summary)


def kafka_env(svc: Services) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": svc.bootstrap, "SCHEMA_REGISTRY_ENDPOINT": svc.registry}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    timestamp: int
    headers: dict[str, bytes]
    schema_id: int
    value: dict[str, Any]


def consume(svc: Services, topics: list[str], expected: int, timeout: float = 60) -> list[Record]:
    """Read every topic from the beginning with the registry's AvroDeserializer until ``expected`` records."""
    registry = SchemaRegistryClient({"url": svc.registry})
    deserializer = AvroDeserializer(registry)
    consumer = Consumer({
        "bootstrap.servers": svc.bootstrap,
        "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    records: list[Record] = []
    try:
        consumer.subscribe(topics)
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error():
                    raise AssertionError(f"consumer error: {msg.error()}")
                raw = msg.value()
                value = deserializer(raw, SerializationContext(msg.topic(), MessageField.VALUE))
                records.append(Record(
                    topic=msg.topic(), partition=msg.partition(), offset=msg.offset(),
                    key=msg.key().decode(), timestamp=msg.timestamp()[1],
                    headers={k: v for k, v in (msg.headers() or [])},
                    schema_id=int.from_bytes(raw[1:5], "big"), value=value,
                ))
        # Anything beyond the expected count would be a duplicate: look a little longer.
        for msg in consumer.consume(num_messages=10_000, timeout=1.0):
            if not msg.error():
                records.append(Record(msg.topic(), msg.partition(), msg.offset(), msg.key().decode(),
                                      msg.timestamp()[1], {}, -1, {}))
    finally:
        consumer.close()
    return records


def end_offsets(svc: Services, topics: list[str]) -> int:
    """Total records on the topics (high watermarks), without consuming."""
    consumer = Consumer({"bootstrap.servers": svc.bootstrap, "group.id": f"wm-{uuid.uuid4().hex}"})
    try:
        meta = consumer.list_topics(timeout=10)
        total = 0
        for topic in topics:
            if topic not in meta.topics:
                continue
            for p in meta.topics[topic].partitions:
                total += consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        return total
    finally:
        consumer.close()


def workflows_by_steps() -> set[tuple[str, ...]]:
    return {steps for steps, _ in DEFAULT_WORKFLOWS}


def group_by_payment(records: list[Record], banks_topic: str) -> dict[str, list[Record]]:
    by_id: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.topic != banks_topic:
            by_id[r.key].append(r)
    return by_id
