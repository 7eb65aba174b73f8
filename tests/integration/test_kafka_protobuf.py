"""The protobuf value format end to end: read back with Confluent's ProtobufDeserializer and a protoc-generated class."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import fastavro
import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka_support import Run, Services, kafka_env, registry, run_synthpay, services, verify_run, workflows_by_steps

pytestmark = pytest.mark.kafka

START = "2020-01-01T00:00:00Z"
ANOMALIES = """
[anomalies]
late = 0.05
duplicate = 0.05
out_of_order = 0.05
missing = 0.05
"""


def record_type(summary: dict[str, Any], topic: str) -> str:
    plan = summary["plan"]
    return (
        "bank" if topic == plan["banks_topic"] else "ground_truth" if topic == plan["ground_truth_topic"] else "payment"
    )


@pytest.fixture(scope="module")
def proto_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run, list[str]]:
    """A short run with anomalies in the protobuf format, and the same run (same seed) into Avro files."""
    svc = services()
    tmp = tmp_path_factory.mktemp("protobuf")
    config = tmp / "anomalies.toml"
    config.write_text(ANOMALIES)
    args = ["--config", str(config), "--topic-prefix", f"pb{uuid.uuid4().hex[:8]}.", "--clock", "virtual"]
    args += ["--seed", "5", "--start", START, "--payments", "300"]
    run = run_synthpay(tmp, [*args, "--value-format", "protobuf"], kafka_env(svc))
    assert run.returncode == 0, run.stderr[-3000:]
    avro = run_synthpay(tmp, [*args, "--sink", "file", "--out", str(tmp / "avro")], {})
    assert avro.returncode == 0, avro.stderr[-3000:]
    return tmp, run, sorted(run.summary["topics"])


def generated_classes(
    svc: Services, tmp: Path, summary: dict[str, Any], topics: list[str]
) -> tuple[dict[str, type[Any]], dict[str, int]]:
    """Per record type, the message class protoc generates from the .proto text the run registered; per topic its schema id."""
    client = registry(svc)
    texts: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, int] = {}
    for topic in topics:
        registered = client.get_latest_version(f"{topic}-value")
        assert registered.schema.schema_type == "PROTOBUF" and registered.schema.schema_str is not None
        assert registered.schema_id is not None
        texts[record_type(summary, topic)].add(registered.schema.schema_str)
        ids[topic] = registered.schema_id
    classes = {}
    for kind, (text,) in texts.items():  # one text per record type, whichever topic registered it
        (tmp / f"{kind}.proto").write_text(text)
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp}", f"--python_out={tmp}", f"{kind}.proto"], check=True
        )
        module = _module(tmp / f"{kind}_pb2.py")
        (name,) = module.DESCRIPTOR.message_types_by_name
        classes[kind] = getattr(module, name)
    return classes, ids


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"synthpay_it_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def as_record(message: Any) -> dict[str, Any]:
    """Every field of a message, a default-valued one too, by its name."""
    return {f.name: getattr(message, f.name) for f in message.DESCRIPTOR.fields}


Consumed = tuple[dict[str, Any], list[tuple[str, str, dict[str, bytes], dict[str, Any]]]]


@pytest.fixture(scope="module")
def consumed(proto_run: tuple[Path, Run, list[str]]) -> Consumed:
    """Every record of the run: (topic, key, headers, value), the value through ProtobufDeserializer."""
    tmp, run, topics = proto_run
    svc = services()
    classes, ids = generated_classes(svc, tmp, run.summary, topics)
    # No registry client: given one, the deserializer asks for the writer's schema as a serialized
    # descriptor (?format=serialized), which Apicurio 3.3 answers with the descriptor's raw bytes
    # mangled into a JSON string instead of base64. The framing and message indexes it still reads.
    conf = {"subject.name.strategy": topic_subject_name_strategy}
    deserializers = {kind: ProtobufDeserializer(cls, conf) for kind, cls in classes.items()}
    expected = sum(counts["delivered"] for counts in run.summary["topics"].values())
    consumer = Consumer(
        {"bootstrap.servers": svc.bootstrap, "group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"}
    )
    records: list[tuple[str, str, dict[str, bytes], dict[str, Any]]] = []
    try:
        consumer.subscribe(topics)
        while len(records) < expected:
            msgs = consumer.consume(num_messages=10_000, timeout=10)
            assert msgs, f"only {len(records)} of {expected} records within 10 s"
            for msg in msgs:
                topic, key, raw = msg.topic(), msg.key(), msg.value()
                assert topic is not None and key is not None and raw is not None and msg.error() is None
                assert int.from_bytes(raw[1:5], "big") == ids[topic]
                deserialize = deserializers[record_type(run.summary, topic)]
                value = deserialize(raw, SerializationContext(topic, MessageField.VALUE))
                headers = cast("dict[str, bytes]", dict(msg.headers() or []))  # the consumer gives bytes
                records.append((topic, key.decode(), headers, as_record(value)))
    finally:
        consumer.close()
    return run.summary, records


def test_counts_per_topic_are_the_summarys(consumed: Consumed) -> None:
    summary, records = consumed
    assert Counter(topic for topic, *_ in records) == {t: c["delivered"] for t, c in summary["topics"].items() if c}


def test_the_records_are_the_avro_runs_field_for_field(
    proto_run: tuple[Path, Run, list[str]], consumed: Consumed
) -> None:
    tmp, _, topics = proto_run
    _, records = consumed
    avro: Counter[tuple[str, str]] = Counter()
    for topic in topics:
        with (tmp / "avro" / f"{topic}.avro").open("rb") as f:
            avro.update((topic, json.dumps(r, sort_keys=True)) for r in fastavro.reader(f))
    assert Counter((topic, json.dumps(value, sort_keys=True)) for topic, _, _, value in records) == avro


def test_every_record_carries_its_headers(consumed: Consumed) -> None:
    summary, records = consumed
    assert records
    assert {h["run_id"] for _, _, h, _ in records} == {summary["run_id"].encode()}
    labelled = Counter((h["anomaly"].decode(), topic) for topic, _, h, _ in records if "anomaly" in h)
    by_topic = dict(summary["anomalies"]["by_topic"])  # a copy: the fixture is shared
    # A missing event is on the ground truth, the others where their status belongs.
    missing = sum(by_topic.pop("missing").values())
    expected = Counter({(kind, t): n for kind, counts in by_topic.items() for t, n in counts.items()})
    assert missing and labelled == expected + Counter({("missing", summary["plan"]["ground_truth_topic"]): missing})
    payments = [(topic, h, v) for topic, _, h, v in records if record_type(summary, topic) == "payment"]
    assert payments and all(h["status"].decode() == v["status"] for _, h, v in payments)


def test_each_payment_is_one_workflow_in_event_time_order(consumed: Consumed) -> None:
    """Its statuses by the ts in its values, a duplicate once, the withheld ones from the ground truth."""
    summary, records = consumed
    events: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for topic, key, _, value in records:
        if record_type(summary, topic) != "bank":
            events[key].add((value["ts"], value["status"]))
    assert len(events) == summary["payments_started"] == 300
    steps = {tuple(status for _, status in sorted(seen)) for seen in events.values()}
    assert steps <= workflows_by_steps()


def test_verify_passes(proto_run: tuple[Path, Run, list[str]]) -> None:
    tmp, run, _ = proto_run
    proc = verify_run(tmp, run, kafka_env(services()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
