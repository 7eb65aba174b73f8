"""verify reading values in the protobuf format: the derived message, after the framing and message index."""

from __future__ import annotations

from synthpay.formats import proto, proto_values
from synthpay.formats.values import PROTOBUF
from synthpay.model import entities, serde
from synthpay.model.events import Event, Topic
from synthpay.verify.manifest import Manifest
from synthpay.verify.tally import Reader

TOPIC = Topic("payments", "payment", 1, "Initiated", serde.avro_string("Initiated"))
MANIFEST = Manifest(
    run_id="r",
    delivered={"payments": 1},
    statuses=("Initiated",),
    status_of_topic={"payments": 0},
    banks_topic="banks",
    schedules=(),
    payments_started=1,
    payments_cut=0,
    value_format=PROTOBUF,
)
PAYMENT = entities.Payment(
    b"7d4f5a8e-0c7b-4e55-9a0b-3c3f5a1b2c3d",
    serde.avro_string("dst") + serde.avro_string("src") + serde.avro_string("EUR") + serde.avro_double(12.5),
)
FRAMING = b"\x00" + (7).to_bytes(4, "big")


def read(value: bytes) -> Reader:
    reader = Reader(MANIFEST, "r", lambda schema_id: proto.proto_text("payment"))  # what the registry holds
    reader.record("payments", PAYMENT.kafka_key, value, b"r")
    return reader


def test_a_protobuf_payment_is_tallied() -> None:
    event = Event(TOPIC, 1_700_000_000_000, PAYMENT)
    reader = read(FRAMING + b"\x00" + proto_values.encoder(TOPIC)(event))
    assert reader.tally.bad_records.count == 0
    assert reader.tally.payments == {bytes.fromhex(PAYMENT.id.replace("-", "")): 1_700_000_000_000 + 1}


def test_a_value_with_another_message_index_is_a_bad_record() -> None:
    event = Event(TOPIC, 1_700_000_000_000, PAYMENT)
    reader = read(FRAMING + b"\x02\x02" + proto_values.encoder(TOPIC)(event))
    assert reader.tally.bad_records.shown == ["payments: value not in the Confluent wire format of protobuf"]


def test_a_garbled_body_is_a_bad_record() -> None:
    reader = read(FRAMING + b"\x00\x0a\xff")
    assert reader.tally.bad_records.shown == ["payments: undecodable as protobuf with schema 7: DecodeError"]
