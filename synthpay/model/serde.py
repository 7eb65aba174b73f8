"""Avro encoding of the two fixed record types, and their plain-dict form.

The schemas are the original generator's (``avro/payment.avsc``, ``avro/bank.avsc``).
Encoding is hand-rolled for those fixed schemas because it runs once per event: a
payment's invariant fields are encoded once when it is created (see ``entities``), so an
event only encodes ``ts``, ``date_ts`` and a pre-encoded status. Tests check every byte
against fastavro's schemaless writer.
"""

from __future__ import annotations

import functools
import struct
import time
from pathlib import Path
from typing import Final

_DOUBLE = struct.Struct("<d")


def varint(n: int) -> bytes:
    """Base-128 varint of ``n`` >= 0, low 7 bits first (Avro's after zig-zag, Protobuf's as is)."""
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def avro_long(n: int) -> bytes:
    """Avro ``long``/``int``: zig-zag, then base-128 varint."""
    return varint((n << 1) ^ (n >> 63))


def avro_string(s: str) -> bytes:
    """Avro ``string``: length as a long, then UTF-8 bytes."""
    b = s.encode()
    return avro_long(len(b)) + b


#: Avro ``double``: 8 bytes little-endian IEEE 754 (the bound ``pack``: one call per payment).
avro_double: Final = _DOUBLE.pack


def read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode an Avro ``long`` at ``pos``; return it and the position after it."""
    shift = n = 0
    while True:
        byte = buf[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (n >> 1) ^ -(n & 1), pos
        shift += 7


def read_string(buf: bytes, pos: int) -> tuple[str, int]:
    """Decode an Avro ``string`` at ``pos``; return it and the position after it."""
    size, pos = read_long(buf, pos)
    return buf[pos : pos + size].decode(), pos + size


def read_double(buf: bytes, pos: int) -> float:
    """Decode an Avro ``double`` at ``pos``."""
    value: float = _DOUBLE.unpack_from(buf, pos)[0]
    return value


@functools.lru_cache(maxsize=4096)
def _second_text(second: int) -> str:
    # Not strftime("%Y"): glibc does not zero-pad years before 1000 ("999-..."), which is
    # not RFC 3339 and would break the constant length prefix below.
    t = time.gmtime(second)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def rfc3339_ms(ts_ms: int) -> str:
    """``2026-01-31T09:00:00.123Z``: RFC 3339 in UTC with milliseconds."""
    second, ms = divmod(ts_ms, 1000)
    return f"{_second_text(second)}.{ms:03d}Z"


# RFC 3339 text above is 24 ASCII bytes for years 0..9999, so its Avro length prefix is
# constant there; other years (5+ digits or negative) get their own prefix.
_DATE_PREFIX = avro_long(24)


@functools.lru_cache(maxsize=4096)
def encode_timestamps(ts_ms: int) -> bytes:
    """``ts`` and ``date_ts`` encoded together.

    Cached: events come out in time order and many share a millisecond, so most events
    of a batch find theirs here instead of paying for a varint and a date.
    """
    date = rfc3339_ms(ts_ms).encode()
    prefix = _DATE_PREFIX if len(date) == 24 else avro_long(len(date))
    return avro_long(ts_ms) + prefix + date


def encode_payment_event(head: bytes, pid: bytes, tail: bytes, status: bytes, ts_ms: int) -> bytes:
    """A Payment record: ``pid`` the id's bytes, ``tail`` destination..amount, ``status`` encoded.

    ``head`` is whatever goes before the id: its Avro length, after the wire format's magic
    byte and schema id when the Kafka sink frames the value, so a framed value costs one
    join, not a second copy.
    """
    return b"".join((head, pid, encode_timestamps(ts_ms), tail, status))


def schema_dir() -> Path:
    """Where the .avsc files are: inside the installed wheel, or the checkout's ``avro/``."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "avro", package.parent / "avro"):
        if (candidate / "payment.avsc").is_file():
            return candidate
    raise FileNotFoundError("avro/payment.avsc not found beside the synthpay package")


@functools.cache
def schema_text(name: str) -> str:
    """The schema's JSON text exactly as shipped (what gets registered)."""
    return (schema_dir() / f"{name}.avsc").read_text()
