"""Records as JSON: one compact object per record, the Avro schema's fields in its order.

The text of a value is what ``json.dumps`` of :meth:`Event.record` would give, compact. A
clean payment event, the bulk of every run, is built from pieces instead: its id, its
timestamps, the JSON of its invariant fields (kept for the payments seen lately, since each
has several events close together) and its topic's status, made once.
"""

from __future__ import annotations

import functools
import json
import math
import re
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

from synthpay.model import serde
from synthpay.model.entities import Payment

if TYPE_CHECKING:
    from synthpay.formats.values import Encode
    from synthpay.model.events import Event, Topic

#: Compact separators: a value's bytes are paid for on the wire and on disk.
_COMPACT = (",", ":")


def dumps(record: dict[str, object]) -> bytes:
    """``record`` as compact JSON (UTF-8)."""
    return json.dumps(record, separators=_COMPACT, ensure_ascii=False).encode()


def _text(value: str) -> bytes:
    """``value`` as a JSON string: what ``json.dumps(value, ensure_ascii=False)`` gives, without its set-up."""
    return encode_basestring(value).encode()


#: What JSON escapes in a string (json's own set); any other UTF-8 text is its own JSON, quoted.
_ESCAPED = re.compile(rb'[\x00-\x1f"\\]')


@functools.lru_cache(maxsize=1 << 12)
def _utf8_text(raw: bytes) -> bytes:
    """UTF-8 ``raw`` as a JSON string: quoted as it is, unless something in it must be escaped.

    Cached: the strings of a payment's invariants are bank ids and currencies, a few hundred
    in a run, each the invariants of many payments.
    """
    return _text(raw.decode()) if _ESCAPED.search(raw) else b'"%b"' % raw


def _utf8_at(buf: bytes, pos: int) -> tuple[bytes, int]:
    """The UTF-8 bytes of the Avro ``string`` at ``pos``, undecoded; and the position after it."""
    head = buf[pos]
    if head < 0x80:  # a length under 64, the usual: one byte, zig-zag encoded
        end = pos + 1 + (head >> 1)
        return buf[pos + 1 : end], end
    size, pos = serde.read_long(buf, pos)
    return buf[pos : pos + size], pos + size


def _number(value: float) -> bytes:
    """``value`` as ``json.dumps`` writes it: its repr when finite."""
    return repr(value).encode() if math.isfinite(value) else json.dumps(value).encode()


@functools.lru_cache(maxsize=1 << 16)
def _invariants(avro_tail: bytes) -> bytes:
    """``,"destination":...,"amount":...`` of a payment, from its Avro-encoded invariant fields.

    Made once per payment, at its first event: the strings are copied from the Avro bytes,
    not decoded and encoded again (a bank id or currency has nothing to escape).
    """
    destination, pos = _utf8_at(avro_tail, 0)
    source, pos = _utf8_at(avro_tail, pos)
    currency, pos = _utf8_at(avro_tail, pos)
    return b',"destination":%b,"source":%b,"currency":%b,"amount":%b' % (
        _utf8_text(destination),
        _utf8_text(source),
        _utf8_text(currency),
        _number(serde.read_double(avro_tail, pos)),
    )


@functools.lru_cache(maxsize=4096)
def _times(ts_ms: int) -> bytes:
    """``,"ts":...,"date_ts":"..."``; cached as the Avro encoding of the timestamps is."""
    return b',"ts":%d,"date_ts":"%b"' % (ts_ms, serde.rfc3339_ms(ts_ms).encode())


def encoder(topic: Topic) -> Encode:
    """The JSON encoder of ``topic``'s records."""
    if topic.schema != "payment":
        return _record
    status = b',"status":%b}' % _text(topic.status)

    def encode(event: Event) -> bytes:
        entity = event.entity
        if entity.anomaly or not isinstance(entity, Payment):
            return _record(event)  # an injected copy carries its own time
        return b"".join(
            (b'{"id":"', entity.kafka_key, b'"', _times(event.ts_ms), _invariants(entity.avro_tail), status)
        )

    return encode


def _record(event: Event) -> bytes:
    return dumps(event.record())
