"""A fast decoder of the blocks of Avro files whose records are synthpay's own payments.

fastavro's reader makes a dict a record, about 300,000 a second: more than a fit's whole
budget. The file sink's blocks are decoded here instead, a block at a time, in C as far as
possible, then converted column by column (``struct`` for the amounts, 64-bit lanes of one
big int for the times, a table for the repeated strings). Two ways find the fields
(``avro/payment.avsc``: id, ts, date_ts, destination, source, currency, amount, status):

- a block whose records are all of one length (a topic's file: one status, times of one
  varint length) is an array of them: one ``struct`` call reads it, once slices a record
  apart have checked every record's length bytes and varint bytes (:func:`strided`);
- else one compiled pattern over the block finds every record. It knows the layout of
  synthpay's records: 36-character ids, a 24-character date_ts, a 3-letter currency, a
  status of at most 63 bytes. It decodes a block only when its matches tile the block: as
  many as the block holds records, their lengths adding up to the block's. Matches never
  overlap, so tiling means they start at byte 0 and each begins where the one before
  ended; each is a valid encoding of one record, so the tiling is the block's decoding
  (Avro's is unique), whatever bytes the ids hold.

A block neither way decodes is decoded by fastavro: :meth:`Decoder.decode_block` returns None.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial
from itertools import accumulate, repeat
from typing import Any, NamedTuple

from synthpay.calibrate.observations import Observation

#: The payment schema's fields, by name and type: a file whose writer schema has these decodes here.
PAYMENT_FIELDS = (
    ("id", "string"),
    ("ts", "long"),
    ("date_ts", "string"),
    ("destination", "string"),
    ("source", "string"),
    ("currency", "string"),
    ("amount", "double"),
    ("status", "string"),
)
_UUID = rb"\x48(.{36})"  # a 36-byte string: its length 36, zigzag varint 72
#: A status of 1 to 63 bytes: its length byte (zigzag, 2n) and the n bytes, captured together.
_STATUS = b"|".join(re.escape(bytes([2 * n])) + b".{%d}" % n for n in range(1, 64))
_RECORD = re.compile(
    _UUID
    + rb"([\x80-\xff]{0,9}[\x00-\x7f])"  # ts: a varint of 1 to 10 bytes
    + rb"\x30.{24}"  # date_ts, skipped: ts says it
    + _UUID  # destination
    + _UUID  # source
    + rb"\x06(.{3})"  # currency
    + rb"(.{8})"  # amount, little-endian double
    + rb"((?:"
    + _STATUS
    + rb"))",
    re.DOTALL,
)
#: The bytes a match holds besides the ts varint and the status: 1+36, 1+24, 2 x (1+36), 1+3, 8.
_FIXED_BYTES = 37 + 25 + 74 + 4 + 8
_observation = partial(tuple.__new__, Observation)


def is_payment_schema(schema: Mapping[str, Any]) -> bool:
    """True when a writer schema (as fastavro parses it) is synthpay's payment record."""
    fields = schema.get("fields") if schema.get("type") == "record" else None
    return isinstance(fields, list) and tuple((f.get("name"), f.get("type")) for f in fields) == PAYMENT_FIELDS


class _Columns(NamedTuple):
    """A block's records field by field, as found in its bytes."""

    ids: Sequence[bytes]
    times: list[int]
    destinations: Sequence[bytes]
    sources: Sequence[bytes]
    currencies: Sequence[bytes]
    amounts: Sequence[float]
    statuses: Sequence[bytes]  # each with its length byte (the pattern's) or without (the stride's)


class Decoder:
    """Decodes one file's blocks in order; holds the file's arrival time and its repeated strings."""

    __slots__ = ("_statuses", "_texts", "arrival_ms")

    def __init__(self) -> None:
        #: The largest ts read so far: each event's arrival (the file was written in emission order).
        self.arrival_ms = -(2**63)
        # Statuses, currencies and bank ids repeat: decoded once each.
        self._texts: dict[bytes, str] = {}
        self._statuses: dict[bytes, str] = {}  # as the pattern finds them, with their length byte

    def decode_block(self, raw: bytes, count: int) -> list[Observation] | None:
        """The ``count`` records of a decompressed block, or None when neither way here decodes it exactly."""
        if not count:
            return [] if not raw else None
        columns = strided(raw, count)
        statuses = self._texts
        if columns is None:
            columns = _patterned(raw, count)
            statuses = self._statuses
            if columns is None:
                return None
        ts = columns.times
        arrivals = list(accumulate(ts, max, initial=self.arrival_ms))
        del arrivals[0]
        self.arrival_ms = arrivals[-1]
        texts = self._texts
        if len(texts) > 100_000:  # bank ids are few; a file of unique ones must not grow this without end
            texts.clear()
        for raw_text in {*columns.destinations, *columns.sources, *columns.currencies}.difference(texts):
            texts[raw_text] = raw_text.decode(errors="replace")
        for raw_status in set(columns.statuses).difference(statuses):
            statuses[raw_status] = (raw_status if statuses is texts else raw_status[1:]).decode(errors="replace")
        look = texts.__getitem__
        return list(
            map(
                _observation,
                zip(
                    _decoded(columns.ids),
                    map(statuses.__getitem__, columns.statuses),
                    ts,
                    arrivals,
                    map(look, columns.sources),
                    map(look, columns.destinations),
                    columns.amounts,
                    map(look, columns.currencies),
                    strict=True,
                ),
            )
        )


def strided(raw: bytes, count: int) -> _Columns | None:
    """The columns of a block whose records are all of one length, by one ``struct`` call; else None.

    A topic's file holds one status, and its times take as many varint bytes each (6, from
    1970 to 2109): its records are the same length, so the block is an array of them. The
    first record gives the lengths; each record's length bytes and varint bytes are then
    checked at once, by slices a record length apart, so the array is the block's decoding.
    """
    ts_bytes = next((i - 36 for i in range(37, min(47, len(raw))) if raw[i] < 0x80), 0)
    status_at = 148 + ts_bytes
    if not 0 < ts_bytes <= 8 or len(raw) <= status_at or not 2 <= raw[status_at] <= 126 or raw[status_at] % 2:
        return None
    size = status_at + 1 + raw[status_at] // 2
    if len(raw) != size * count:
        return None
    for at, expected in _length_bytes(ts_bytes, raw[status_at]):
        if raw[at::size] != expected * count:
            return None
    if any(min(raw[37 + i :: size]) < 0x80 for i in range(ts_bytes - 1)) or max(raw[36 + ts_bytes :: size]) >= 0x80:
        return None
    flat = _layout(ts_bytes, raw[status_at] // 2, count).unpack(raw)
    times = _packed_longs(flat[1::7], ts_bytes)
    if times is None:
        return None
    return _Columns(flat[0::7], times, flat[2::7], flat[3::7], flat[4::7], flat[5::7], flat[6::7])


def _length_bytes(ts_bytes: int, status_length: int) -> tuple[tuple[int, bytes], ...]:
    """Where each string's length byte is in a record, and what it must be."""
    return (
        (0, b"\x48"),  # id, 36 bytes
        (37 + ts_bytes, b"\x30"),  # date_ts, 24
        (62 + ts_bytes, b"\x48"),  # destination
        (99 + ts_bytes, b"\x48"),  # source
        (136 + ts_bytes, b"\x06"),  # currency, 3
        (148 + ts_bytes, bytes([status_length])),
    )


@lru_cache(maxsize=32)
def _layout(ts_bytes: int, status_bytes: int, count: int) -> struct.Struct:
    """``count`` records of these lengths: id, ts, (date_ts skipped), destination, source, currency, amount, status.

    ts is read as the 8 bytes from its first, the varint and what follows it (date_ts's
    first bytes, skipped anyway): :func:`_packed_longs` keeps the varint's bytes only.
    """
    record = f"x36sQ{25 - (8 - ts_bytes)}xx36sx36sx3sdx{status_bytes}s"
    return struct.Struct("<" + record * count)


def _patterned(raw: bytes, count: int) -> _Columns | None:
    """The columns of a block the pattern tiles exactly (see the module's docstring); else None."""
    rows = _RECORD.findall(raw)
    if len(rows) != count:
        return None
    ids, times, destinations, sources, currencies, amounts, statuses = zip(*rows, strict=True)
    if _FIXED_BYTES * count + sum(map(len, times)) + sum(map(len, statuses)) != len(raw):
        return None
    return _Columns(
        ids, _longs(times), destinations, sources, currencies, struct.unpack(f"<{count}d", b"".join(amounts)), statuses
    )


def _decoded(ids: Sequence[bytes]) -> list[str]:
    """Payment ids as text: UTF-8, undecodable bytes replaced (the strict codec is the quicker one to call)."""
    try:
        return list(map(bytes.decode, ids))
    except UnicodeDecodeError:
        return [i.decode(errors="replace") for i in ids]


def _longs(varints: Sequence[bytes]) -> list[int]:
    """Avro longs (zigzag varints of any length) to ints."""
    if max(map(len, varints)) > 8:
        return [_long(v) for v in varints]
    count = len(varints)
    lanes = b"".join(map(bytes.ljust, varints, repeat(8, count), repeat(b"\0", count)))
    longs = _swar(lanes, count, 8)
    return [_long(v) for v in varints] if longs is None else longs


def _packed_longs(lanes: Sequence[int], varint_bytes: int) -> list[int] | None:
    """Avro longs from 64-bit words each starting with a varint of ``varint_bytes`` (the rest is ignored).

    None when one is negative (never a time in epoch ms): the caller decodes otherwise.
    """
    count = len(lanes)
    return _swar(struct.pack(f"<{count}Q", *lanes), count, varint_bytes)


def _swar(lanes: bytes, count: int, varint_bytes: int) -> list[int] | None:
    """Decode ``count`` varints of up to 8 bytes, one a 64-bit lane, all at once; None when one is negative.

    The lanes are one big int whose 7-bit groups are packed together by shifts and masks over
    every lane at once (SWAR), in C; the bytes past ``varint_bytes`` in a lane are cleared.
    """
    whole = int.from_bytes(lanes, "little")
    groups, steps, low_bits = _masks(count, varint_bytes)
    whole &= groups  # the continuation bits, and what follows the varint
    for keep, move, shift in steps:
        whole = (whole & keep) | ((whole & move) >> shift)
    if whole & low_bits:  # a negative long: zigzag's low bit set
        return None
    return list(struct.unpack(f"<{count}Q", (whole >> 1).to_bytes(8 * count, "little")))


@lru_cache(maxsize=16)
def _masks(count: int, varint_bytes: int) -> tuple[int, tuple[tuple[int, int, int], ...], int]:
    """For ``count`` 64-bit lanes: the mask of the varint's 7-bit groups, the three packing steps, the low bits."""

    def lanes(mask: int) -> int:
        return int.from_bytes(mask.to_bytes(8, "little") * count, "little")

    steps = (
        (lanes(0x007F007F007F007F), lanes(0x7F007F007F007F00), 1),  # pairs of 7 bits: 14 in 16
        (lanes(0x00003FFF00003FFF), lanes(0x3FFF00003FFF0000), 2),  # 28 in 32
        (lanes(0x000000000FFFFFFF), lanes(0x0FFFFFFF00000000), 4),  # 56 in 64
    )
    return lanes(int.from_bytes(b"\x7f" * varint_bytes, "little")), steps, lanes(1)


def _long(varint: bytes) -> int:
    n = 0
    for shift, byte in enumerate(varint):
        n |= (byte & 0x7F) << (7 * shift)
    return (n >> 1) ^ -(n & 1)
