"""The json and json_schema value formats end to end: read back with the registry's JSONDeserializer and json.loads."""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.serialization import SerializationContext
from conftest import avro_schema
from kafka_support import (
    Deserializer,
    Record,
    Run,
    Services,
    closed_port,
    consume,
    end_offsets,
    group_by_payment,
    kafka_env,
    registry,
    run_synthpay,
    services,
    verify_run,
    workflows_by_steps,
)

from synthpay.config.settings import DEFAULT_STATUSES
from synthpay.model.anomalies import GROUND_TRUTH

pytestmark = pytest.mark.kafka

DELAYS = {name: delay for name, delay, _ in DEFAULT_STATUSES}
START = "2020-01-01T00:00:00Z"
#: Duplicates and missing events (so the ground-truth topic has records), and a phase: every header.
CONFIG = '[run]\nrate = 100\n\n[anomalies]\nduplicate = 0.05\nmissing = 0.05\n\n[[phases]]\nname = "all"\nat_s = 0\nduration_s = 3600\n'


def plain_json(raw: bytes, ctx: SerializationContext) -> Any:
    return json.loads(raw)


def deserializer(svc: Services, value_format: str) -> Deserializer:
    if value_format == "json":
        return plain_json
    deserialize: Deserializer = JSONDeserializer(
        None, schema_registry_client=registry(svc), conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    return deserialize


# The services, the topic prefix, the finished run, every record it produced and the run's environment.
Written = tuple[Services, str, Run, list[Record], dict[str, str]]


@pytest.fixture(scope="module", params=["json_schema", "json"])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Written:
    svc = services()
    value_format: str = request.param
    tmp = tmp_path_factory.mktemp(value_format)
    (tmp / "config.toml").write_text(CONFIG)
    prefix = f"kj{uuid.uuid4().hex[:8]}."
    args = ["--payments", "300", "--clock", "virtual", "--seed", "9", "--start", START, "--topic-prefix", prefix]
    env = kafka_env(svc)
    if value_format == "json":  # nothing to register: a registry nobody answers at must not matter
        env["SCHEMA_REGISTRY_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    run = run_synthpay(tmp, [*args, "--value-format", value_format], env)
    assert run.returncode == 0, run.stderr[-3000:]
    records = consume(svc, list(run.summary["topics"]), run.summary["delivered"], 60, deserializer(svc, value_format))
    return svc, prefix, run, records, env


def test_counts_per_topic_equal_the_summary(written: Written) -> None:
    _, prefix, run, records, _ = written
    seen = Counter(r.topic for r in records)
    topics = run.summary["topics"]
    assert len(records) == run.summary["delivered"] == run.summary["events_total"]
    assert prefix + GROUND_TRUTH in topics and seen[prefix + GROUND_TRUTH] > 0
    assert {t: seen[t] for t in topics} == {t: counts["delivered"] for t, counts in topics.items()}


def test_fields_are_the_avro_schemas_in_order(written: Written) -> None:
    _, prefix, run, records, _ = written
    types = {"string": str, "long": int, "int": int, "double": float, "boolean": bool}
    banks = run.summary["plan"]["banks_topic"]
    assert {r.topic for r in records} >= {banks, prefix + GROUND_TRUTH}
    for r in records:
        record_type = "bank" if r.topic == banks else "ground_truth" if r.topic == prefix + GROUND_TRUTH else "payment"
        fields = avro_schema(record_type)["fields"]
        assert list(r.value) == [f["name"] for f in fields], r
        assert all(type(r.value[f["name"]]) is types[f["type"]] for f in fields), r
        assert r.value["id"] == r.key


def test_headers_travel_as_with_avro(written: Written) -> None:
    _, _, run, records, _ = written
    run_id = run.summary["run_id"].encode()
    status_topics = {spec["topic"] for spec in run.summary["plan"]["statuses"].values()}
    payments = [r for r in records if r.topic in status_topics]
    assert len(payments) < len(records) == run.summary["delivered"]
    assert all(r.headers["run_id"] == run_id for r in records)
    assert payments and all(r.headers["status"] == r.value["status"].encode() for r in payments)
    assert all(r.headers["phase"] == b"all" for r in payments)
    duplicates = Counter(r.topic for r in payments if r.headers.get("anomaly") == b"duplicate")
    assert duplicates == Counter(run.summary["anomalies"]["by_topic"]["duplicate"]) and duplicates


def test_every_payment_is_one_workflow_in_order_with_exact_delays(written: Written) -> None:
    _, prefix, run, records, _ = written
    banks = run.summary["plan"]["banks_topic"]
    clean = [r for r in records if "anomaly" not in r.headers or r.topic == prefix + GROUND_TRUTH]
    by_id = group_by_payment(clean, banks)
    assert len(by_id) == run.summary["payments_started"] == 300
    allowed = workflows_by_steps()
    for pid, events in by_id.items():
        events.sort(key=lambda r: r.value["ts"])
        steps = tuple(r.value["status"] for r in events)
        assert steps in allowed and len(events) > 1, (pid, steps)
        for before, after in itertools.pairwise(events):
            assert after.value["ts"] - before.value["ts"] == DELAYS[after.value["status"]]


def test_verify_passes(written: Written, tmp_path: Path) -> None:
    _, _, run, _, env = written
    proc = verify_run(tmp_path, run, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def schema_type(client: SchemaRegistryClient, subject: str) -> str | None:
    """The schema type of ``subject``'s latest version; None when the registry has no such subject."""
    try:
        kind = client.get_latest_version(subject).schema.schema_type
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            return None
        raise
    return str(kind)


def test_a_json_schema_run_registers_json_schemas_and_a_json_run_nothing(written: Written) -> None:
    svc, _, run, records, _ = written
    client = registry(svc)
    # Subject by subject: a listing of every subject is cut short in a registry that holds many.
    subjects = [f"{topic}-value" for topic in run.summary["topics"]]
    registered = {s: kind for s in subjects if (kind := schema_type(client, s)) is not None}
    ids = {r.schema_id for r in records}
    if run.summary.get("value_format") == "json_schema":
        assert registered == {f"{t}-value": "JSON" for t in run.summary["topics"]} and -1 not in ids
    else:
        assert (run.summary.get("value_format"), registered, ids) == ("json", {}, {-1})


def test_a_subject_holding_avro_refuses_json_schema_in_one_line_exit_2(tmp_path: Path) -> None:
    svc = services()
    prefix = f"kj{uuid.uuid4().hex[:8]}."
    banks = f"{prefix}banks"
    registry(svc).register_schema(f"{banks}-value", Schema(json.dumps(avro_schema("bank")), "AVRO"))
    args = ["--payments", "20", "--clock", "virtual", "--topic-prefix", prefix, "--value-format", "json_schema"]
    run = run_synthpay(tmp_path, args, kafka_env(svc))
    assert run.returncode == 2, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("synthpay: error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert (
        f"'{banks}-value' holds AVRO schema version 1" in errors[0]
        and "will not add the JSON schema of kafka.value_format = 'json_schema'" in errors[0]
    )
    assert "kafka.topic_prefix" in errors[0] and "compatibility" in errors[0]
    assert end_offsets(svc, [banks]) == 0
