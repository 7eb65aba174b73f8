"""verify reads each Kafka value format: what counts as a record, and what as a bad one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError
from conftest import settings_for
from engine_runs import _run

from synthpay.formats import json_schema
from synthpay.formats.values import AVRO, JSON, JSON_SCHEMA, ValueFormat
from synthpay.summary.document import Summary, SummaryError
from synthpay.verify.manifest import Manifest, load_manifest
from synthpay.verify.tally import Reader

TOPIC = "p-initiated"
RECORD = {
    "id": "8f4e6a8c-3a8e-4f0e-9d5e-6c1f4f0c2b11",
    "ts": 1_700_000_000_000,
    "date_ts": "2023-11-14T22:13:20.000Z",
    "destination": "d",
    "source": "s",
    "currency": "EUR",
    "amount": 12.5,
    "status": "Initiated",
}
KNOWN_ID = 3


def reader(fmt: ValueFormat) -> Reader:
    manifest = Manifest("r", {TOPIC: 1}, ("Initiated",), {TOPIC: 0}, "banks", (), 1, 0, value_format=fmt)

    def fetch(schema_id: int) -> str:
        if schema_id != KNOWN_ID:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return json_schema.schema_text("payment")

    return Reader(manifest, "r", fetch)


def read(fmt: ValueFormat, value: bytes) -> Reader:
    r = reader(fmt)
    r.record(TOPIC, str(RECORD["id"]).encode(), value, b"r")
    return r


def framed(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def test_a_json_schema_value_is_its_record() -> None:
    tally = read(JSON_SCHEMA, framed(KNOWN_ID, json.dumps(RECORD).encode())).tally
    assert tally.bad_records.count == 0 and len(tally.payments) == 1 and tally.schemas[KNOWN_ID] is not None


def test_a_json_schema_value_whose_id_does_not_resolve_is_a_bad_record() -> None:
    tally = read(JSON_SCHEMA, framed(KNOWN_ID + 1, json.dumps(RECORD).encode())).tally
    assert tally.bad_records.shown == [f"{TOPIC}: schema id {KNOWN_ID + 1} does not resolve"] and not tally.payments


def test_a_json_schema_value_that_is_not_json_is_a_bad_record() -> None:
    tally = read(JSON_SCHEMA, framed(KNOWN_ID, b'{"id": ')).tally
    assert tally.bad_records.shown == [f"{TOPIC}: undecodable as json_schema with schema {KNOWN_ID}: JSONDecodeError"]


def test_a_json_schema_value_without_the_framing_is_a_bad_record() -> None:
    tally = read(JSON_SCHEMA, json.dumps(RECORD).encode()).tally
    assert tally.bad_records.count == 1 and "wire format" in tally.bad_records.shown[0]


def test_a_plain_json_value_is_its_record() -> None:
    tally = read(JSON, json.dumps(RECORD).encode()).tally
    assert tally.bad_records.count == 0 and len(tally.payments) == 1 and not tally.schemas


def test_a_plain_json_value_that_is_no_object_is_a_bad_record() -> None:
    tally = read(JSON, b"[1, 2]").tally
    assert tally.bad_records.shown == [f"{TOPIC}: undecodable as json: ValueError"]


def kafka_summary(value_format: str) -> Summary:
    overrides = {"run.payments": 5, "run.sink": "kafka", "kafka.value_format": value_format}
    summary, _ = _run(settings_for(None, {**overrides, "kafka.bootstrap_servers": "localhost:9092"}))
    return summary


def test_a_json_run_s_summary_names_its_value_format_and_verify_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(kafka_summary("json").to_json())
    assert json.loads(path.read_text())["value_format"] == "json"
    assert load_manifest(str(path)).value_format is JSON


def test_an_avro_run_s_summary_is_as_before_and_means_avro(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(kafka_summary("avro").to_json())
    assert "value_format" not in json.loads(path.read_text())
    assert load_manifest(str(path)).value_format is AVRO


def test_a_value_format_verify_does_not_know_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({**json.loads(kafka_summary("json").to_json()), "value_format": "xml"}))
    with pytest.raises(
        SummaryError, match=r"value_format 'xml' is no value format this synthpay reads \(it reads avro, "
    ):
        load_manifest(str(path))
