from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import payment_of, payment_topic
from google.protobuf import descriptor_pb2
from hypothesis import given
from hypothesis import strategies as st

from synthpay.formats import proto, proto_values
from synthpay.model import entities, serde
from synthpay.model.anomalies import Injected, Withheld
from synthpay.model.events import Event, Topic

RECORD_TYPES = ("payment", "bank", "ground_truth")
TEXT = st.text(max_size=40)
TS_MS = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999)
AMOUNTS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0])

#: Today's field numbers. A field keeps its number for ever: Avro fields are only ever appended,
#: so a reordered or removed field in an .avsc fails here before a reader decodes garbage.
GOLDEN = {
    "payment": ("id", "ts", "date_ts", "destination", "source", "currency", "amount", "status"),
    "bank": (
        "id",
        "name",
        "country",
        "email",
        "website",
        "bankCode",
        "bic",
        "branch",
        "created_ts",
        "updated_ts",
        "version",
    ),
    "ground_truth": ("id", "ts", "date_ts", "destination", "source", "currency", "amount", "status", "anomaly", "cut"),
}


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_field_numbers_are_todays(record_type: str) -> None:
    numbers = {f.name: f.number for f in proto.derived(record_type).fields}
    assert numbers == {name: i for i, name in enumerate(GOLDEN[record_type], start=1)}


def test_the_fast_payment_encoder_numbers_the_fields_as_derived() -> None:
    assert tuple(f.name for f in proto.derived("payment").fields) == proto_values.PAYMENT_FIELDS


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_the_message_is_the_avro_record_in_its_namespace(record_type: str) -> None:
    avro = json.loads(serde.schema_text(record_type))
    msg = proto.derived(record_type)
    assert (msg.package, msg.name) == (avro["namespace"], avro["name"])
    assert [(f.name, f.avro_type) for f in msg.fields] == [(f["name"], f["type"]) for f in avro["fields"]]


def test_the_payment_proto_text() -> None:
    assert proto.proto_text("payment") == (
        'syntax = "proto3";\n\npackage confluent.io.examples.serialization.avro;\n\nmessage Payment {\n'
        "  string id = 1;\n  int64 ts = 2;\n  string date_ts = 3;\n  string destination = 4;\n"
        "  string source = 5;\n  string currency = 6;\n  double amount = 7;\n  string status = 8;\n}\n"
    )


def compiled(tmp_path: Path, record_type: str) -> descriptor_pb2.FileDescriptorProto:
    """What protoc makes of the derived text."""
    (tmp_path / proto.file_name(record_type)).write_text(proto.proto_text(record_type))
    out = tmp_path / "set.bin"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{tmp_path}",
            f"--descriptor_set_out={out}",
            proto.file_name(record_type),
        ],
        check=True,
        cwd=tmp_path,
    )
    (only,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return only


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_protoc_compiles_the_text_to_the_descriptor_built_here(tmp_path: Path, record_type: str) -> None:
    assert compiled(tmp_path, record_type) == proto.file_descriptor(record_type)


def runtime_bytes(record_type: str, record: dict[str, object]) -> bytes:
    msg = proto.message_class(record_type)(**record)
    serialized: bytes = msg.SerializeToString()
    return serialized


PAYMENTS = st.builds(payment_of, st.uuids().map(str) | TEXT, TEXT, TEXT, TEXT, AMOUNTS)


@given(PAYMENTS, TS_MS, TEXT)
def test_a_payment_event_is_the_runtimes_bytes(p: entities.Payment, ts_ms: int, status: str) -> None:
    event = Event(payment_topic(status), ts_ms, p)
    assert proto_values.encoder(event.topic)(event) == runtime_bytes("payment", event.record())


@given(PAYMENTS, TS_MS, st.integers(min_value=-(10**6), max_value=10**6))
def test_an_injected_event_is_the_runtimes_bytes_at_its_own_time(p: entities.Payment, ts_ms: int, delay: int) -> None:
    event = Event(payment_topic("Validated"), ts_ms + delay, Injected(p, ts_ms, "late"))
    value = proto_values.encoder(event.topic)(event)
    assert value == runtime_bytes("payment", event.record())
    assert proto.decode("payment", value)["ts"] == ts_ms


@given(PAYMENTS, TS_MS, st.sampled_from(["missing", "late"]), st.booleans())
def test_a_withheld_event_is_the_runtimes_bytes(p: entities.Payment, ts_ms: int, anomaly: str, cut: bool) -> None:
    topic = Topic("synthpay-ground-truth", "ground_truth", 1, "Accounted", serde.avro_string("Accounted"))
    event = Event(topic, ts_ms, Withheld(p, ts_ms, anomaly, cut))
    assert proto_values.encoder(topic)(event) == runtime_bytes("ground_truth", event.record())


@given(st.integers(min_value=0), st.integers(min_value=-(2**31), max_value=2**31 - 1), TEXT)
def test_a_bank_is_the_runtimes_bytes(seed: int, version: int, name: str) -> None:
    bank = entities.new_bank(random.Random(seed), 1_700_000_000_000)
    record = {**Event(Topic("banks", "bank", 1), 0, bank).record(), "version": version, "name": name}
    assert proto_values.encode_record("bank", record) == runtime_bytes("bank", record)


@given(PAYMENTS, TS_MS, TEXT)
def test_decode_gives_back_the_record(p: entities.Payment, ts_ms: int, status: str) -> None:
    event = Event(payment_topic(status), ts_ms, p)
    assert proto.decode("payment", proto_values.encoder(event.topic)(event)) == event.record()
