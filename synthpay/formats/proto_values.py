"""Records as Protobuf messages of the derived ``.proto`` (:mod:`synthpay.formats.proto`), byte for byte the runtime's.

Hand-rolled, as the Avro encoding is: the runtime needs the record's plain values and a
message filled from them per event, which measured a third slower per payment event than
this (4.5 against 3.4 us, a backfill's mix of timestamps), enough to decide whether a
Kafka backfill keeps up with Avro's (bench/run.py's figure). The bytes are what
the protobuf runtime's ``SerializeToString`` gives: fields in number order, a field equal
to its proto3 default (0, "", false, +0.0) left out. A clean payment event, the bulk of
every run, is built from pieces: its id, its timestamps, its invariant fields encoded once
(kept for the payments seen lately, since each has several events close together) and its
topic's status, made once.
"""

from __future__ import annotations

import functools
import struct
from typing import TYPE_CHECKING, Final

from synthpay.formats import proto
from synthpay.model import serde
from synthpay.model.entities import Payment

if TYPE_CHECKING:
    from synthpay.formats.values import Encode
    from synthpay.model.events import Event, Topic

_VARINT, _FIXED64, _LENGTH = 0, 1, 2
_DOUBLE = struct.Struct("<d")
_ZERO_DOUBLE: Final = bytes(8)


def varint(n: int) -> bytes:
    """Base-128 varint; a negative number as its 64-bit two's complement (ten bytes), as int32 and int64 are."""
    return serde.varint(n & (1 << 64) - 1)


def _tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def string_field(number: int, value: str) -> bytes:
    """A string field (nothing for "")."""
    return length_field(number, value.encode())


def length_field(number: int, data: bytes) -> bytes:
    """A length-delimited field of UTF-8 ``data`` (nothing when empty)."""
    return _tag(number, _LENGTH) + varint(len(data)) + data if data else b""


def int_field(number: int, value: int) -> bytes:
    """An int32/int64 field (nothing for 0)."""
    return _tag(number, _VARINT) + varint(value) if value else b""


def double_field(number: int, value: float) -> bytes:
    """A double field (nothing for +0.0; -0.0 is not the default's bits and is written)."""
    data = _DOUBLE.pack(value)
    return _tag(number, _FIXED64) + data if data != _ZERO_DOUBLE else b""


def bool_field(number: int, value: bool) -> bytes:
    """A bool field (nothing for false)."""
    return _tag(number, _VARINT) + b"\x01" if value else b""


def _field(f: proto.ProtoField, value: object) -> bytes:
    match f.avro_type, value:
        case "string", str():
            return string_field(f.number, value)
        case "boolean", bool():
            return bool_field(f.number, value)
        case (("long" | "int"), int()):
            return int_field(f.number, value)
        case "double", float() | int():
            return double_field(f.number, float(value))
    raise TypeError(f"field {f.name!r}: {value!r} is not an Avro {f.avro_type}")


def encode_record(record_type: str, record: dict[str, object]) -> bytes:
    """``record`` (every field of the record type) as its derived message's bytes."""
    return b"".join(_field(f, record[f.name]) for f in proto.derived(record_type).fields)


#: The payment message's fields in number order, as :func:`proto.derived` numbers them (by
#: position in avro/payment.avsc; tests/formats/test_proto.py holds the two together). The
#: pieces of a clean payment event follow this order. Written out rather than looked up when
#: the module loads: importing synthpay must not read the schemas, so that a broken install
#: is reported in one line by the sink that needs them.
PAYMENT_FIELDS: Final = ("id", "ts", "date_ts", "destination", "source", "currency", "amount", "status")
_ID, _TS, _DATE_TS, _DESTINATION, _SOURCE, _CURRENCY, _AMOUNT, _STATUS = range(1, len(PAYMENT_FIELDS) + 1)
#: The id field's tag and length for a UUID (36 ASCII bytes), every payment's id.
_UUID_HEAD: Final = _tag(_ID, _LENGTH) + varint(36)


#: The varint of every number under 128: its one byte.
_SHORT: Final = tuple(bytes((n,)) for n in range(0x80))
#: The tags of the invariant fields, in number order: three strings, then the amount.
_STRING_TAGS: Final = tuple(_tag(n, _LENGTH) for n in (_DESTINATION, _SOURCE, _CURRENCY))
_AMOUNT_TAG: Final = _tag(_AMOUNT, _FIXED64)


@functools.lru_cache(maxsize=1 << 16)
def _invariants(avro_tail: bytes) -> bytes:
    """``destination``..``amount`` of a payment, from its Avro-encoded invariant fields.

    Moved over as bytes, never decoded: an Avro string is its length and UTF-8 bytes as a
    Protobuf one is, and an Avro double is the 8 little-endian bytes of a Protobuf double.
    """
    parts: list[bytes] = []
    pos = 0
    for tag in _STRING_TAGS:
        byte = avro_tail[pos]
        if byte < 0x80:  # a length under 64 (every id and currency): one byte, zig-zag, so twice the length
            size, pos = byte >> 1, pos + 1
        else:
            size, pos = serde.read_long(avro_tail, pos)
        if size:
            parts += (tag, _SHORT[size] if size < 0x80 else varint(size), avro_tail[pos : pos + size])
        pos += size
    amount = avro_tail[pos : pos + 8]
    if amount != _ZERO_DOUBLE:
        parts += (_AMOUNT_TAG, amount)
    return b"".join(parts)


_TS_TAG: Final = _tag(_TS, _VARINT)
_DATE_TAG: Final = _tag(_DATE_TS, _LENGTH)
#: RFC 3339 text is 24 bytes for years 0..9999 (see serde), so its tag and length are constant there.
_DATE_HEAD: Final = _DATE_TAG + varint(24)


@functools.lru_cache(maxsize=4096)
def _times(ts_ms: int) -> bytes:
    """``ts`` and ``date_ts``; cached as the Avro encoding of the timestamps is."""
    date = serde.rfc3339_ms(ts_ms).encode()
    head = _DATE_HEAD if len(date) == 24 else _DATE_TAG + varint(len(date))
    return b"".join((_TS_TAG + varint(ts_ms) if ts_ms else b"", head, date))


def encoder(topic: Topic) -> Encode:
    """The Protobuf encoder of ``topic``'s records."""
    record_type = topic.schema
    if record_type != "payment":
        return lambda event: encode_record(record_type, event.record())
    status = string_field(_STATUS, topic.status)
    times, invariants = _times, _invariants  # closure cells: cheaper per event than module globals

    def encode(event: Event) -> bytes:
        _, ts_ms, entity = event
        if entity.anomaly or not isinstance(entity, Payment):
            return encode_record("payment", event.record())  # an injected copy carries its own time
        key = entity.kafka_key
        head = _UUID_HEAD if len(key) == 36 else _tag(_ID, _LENGTH) + varint(len(key)) if key else b""
        return b"".join((head, key, times(ts_ms), invariants(entity.avro_tail), status))

    return encode
