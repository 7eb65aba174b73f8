"""Kafka record values: each ``kafka.value_format``, what it registers and how it encodes a record.

A format registered in the schema registry is framed as Confluent's wire format: magic byte
0, the 4-byte schema id, the format's own index bytes (Protobuf's message indexes), then the
body. Its schema is registered under ``<topic>-value`` with the registry's schema type. A
format with no registry type (plain JSON) is the body alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from synthpay.formats import proto, proto_values
from synthpay.model import serde
from synthpay.model.events import Event, Topic

#: Encodes one event's value body (no framing); made once per topic when a run starts.
Encode = Callable[[Event], bytes]


@dataclass(frozen=True, slots=True)
class ValueFormat:
    """One ``kafka.value_format``."""

    name: str
    #: The registry's schema type ("AVRO", "JSON", "PROTOBUF"); None: nothing registered, no framing.
    registry_type: str | None
    #: The schema text registered for a record type: "payment", "bank" or "ground_truth".
    schema: Callable[[str], str]
    #: A topic's value encoder.
    encoder: Callable[[Topic], Encode]
    #: What follows the magic byte and schema id, before the body.
    index: bytes = b""
    #: A value's record from its body (after the framing and index), given the record type;
    #: None: verify reads it with the Avro schema the registry holds.
    decode: Callable[[str, bytes], dict[str, object]] | None = None


def _avro(topic: Topic) -> Encode:
    return Event.avro


AVRO = ValueFormat("avro", "AVRO", serde.schema_text, _avro)
#: Each record type is a .proto of one message, so every value's message-index list is
#: [0], which Confluent's wire format writes as the single byte 0.
PROTOBUF = ValueFormat("protobuf", "PROTOBUF", proto.proto_text, proto_values.encoder, b"\x00", proto.decode)

#: Every value format by its ``kafka.value_format`` name.
VALUE_FORMATS: Mapping[str, ValueFormat] = {f.name: f for f in (AVRO, PROTOBUF)}
