"""Kafka record values: each ``kafka.value_format``, what it registers and how it encodes a record.

A format registered in the schema registry is framed as Confluent's wire format: magic byte
0, the 4-byte schema id, the format's own index bytes (Protobuf's message indexes), then the
body. Its schema is registered under ``<topic>-value`` with the registry's schema type. A
format with no registry type (plain JSON) is the body alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from synthpay.formats import json_schema, json_values, proto, proto_values
from synthpay.model import serde
from synthpay.model.events import Event, Topic

#: The record types a Kafka run writes, each a schema in ``avro/``: what every format encodes.
RECORD_TYPES = ("payment", "bank", "ground_truth")

#: Encodes one event's value body (no framing); made once per topic when a run starts.
Encode = Callable[[Event], bytes]


@dataclass(frozen=True, slots=True)
class ValueFormat:
    """One ``kafka.value_format``."""

    name: str
    #: The registry's schema type ("AVRO", "JSON", "PROTOBUF"); None: nothing registered, no framing.
    registry_type: str | None
    #: The schema text of a record type ("payment", "bank" or "ground_truth"): what is registered,
    #: or for plain JSON what its values follow without being registered.
    schema: Callable[[str], str]
    #: A topic's value encoder.
    encoder: Callable[[Topic], Encode]
    #: What follows the magic byte and schema id, before the body.
    index: bytes = b""
    #: A value's body (after the framing and index) back to its record, given its record type;
    #: None for Avro, whose body only the schema its id names in the registry can decode.
    decode: Callable[[str, bytes], dict[str, object]] | None = None


def _avro(topic: Topic) -> Encode:
    return Event.avro


def _json_record(record_type: str, body: bytes) -> dict[str, object]:
    """A JSON value's record; ValueError when the body is no JSON object."""
    record = json.loads(body)
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
    return record


AVRO = ValueFormat("avro", "AVRO", serde.schema_text, _avro)
JSON_SCHEMA = ValueFormat("json_schema", "JSON", json_schema.schema_text, json_values.encoder, decode=_json_record)
JSON = ValueFormat("json", None, json_schema.schema_text, json_values.encoder, decode=_json_record)
#: Each record type is a .proto of one message, so every value's message-index list is
#: [0], which Confluent's wire format writes as the single byte 0.
PROTOBUF = ValueFormat("protobuf", "PROTOBUF", proto.proto_text, proto_values.encoder, b"\x00", proto.decode)

#: Every value format by its ``kafka.value_format`` name.
VALUE_FORMATS: Mapping[str, ValueFormat] = {f.name: f for f in (AVRO, JSON_SCHEMA, PROTOBUF, JSON)}

#: The formats with a schema of their own, registered: what ``synthpay schema`` shows.
REGISTERED: Mapping[str, ValueFormat] = {name: f for name, f in VALUE_FORMATS.items() if f.registry_type}
