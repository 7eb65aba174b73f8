"""A fast decoder of the blocks of Avro files whose records are synthpay's own payments.

fastavro's reader makes a dict a record, about 300,000 a second: more than a fit's whole
budget. The file sink's blocks are decoded here instead, a block at a time, in C as far as
possible: one compiled pattern over the decompressed block finds every record's fields
(``avro/payment.avsc``: id, ts, date_ts, destination, source, currency, amount, status),
and columns are converted whole (``struct`` for the amounts, a per-block table for the
times and the repeated strings).

The pattern knows the layout of synthpay's records: 36-character ids, a 24-character
date_ts, a 3-letter currency, a status of at most 63 bytes. A block it does not decode
exactly is decoded by fastavro instead: :func:`decode_block` returns None. Exactly means
the matches tile the block: as many as the block holds records and their lengths adding
up to the block's. Matches never overlap, so tiling means they start at byte 0 and each
begins where the one before ended; each match is a valid encoding of one record, so the
tiling is the block's decoding (Avro's is unique), whatever bytes the ids hold.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache, partial
from itertools import accumulate, repeat
from typing import Any

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


class Decoder:
    """Decodes one file's blocks in order; holds the file's arrival time and its repeated strings."""

    __slots__ = ("_texts", "arrival_ms")

    def __init__(self) -> None:
        #: The largest ts read so far: each event's arrival (the file was written in emission order).
        self.arrival_ms = -(2**63)
        # Statuses, currencies and bank ids repeat: decoded once each.
        self._texts: dict[bytes, str] = {}

    def decode_block(self, raw: bytes, count: int) -> list[Observation] | None:
        """The ``count`` records of a decompressed block, or None when the pattern does not decode it exactly."""
        rows = _RECORD.findall(raw)
        if len(rows) != count:
            return None
        if not rows:
            return [] if not raw else None
        ids, times, destinations, sources, currencies, amounts, statuses = zip(*rows, strict=True)
        if _FIXED_BYTES * count + sum(map(len, times)) + sum(map(len, statuses)) != len(raw):
            return None
        ts = _longs(times)
        arrivals = list(accumulate(ts, max, initial=self.arrival_ms))
        del arrivals[0]
        self.arrival_ms = arrivals[-1]
        texts = self._texts
        if len(texts) > 100_000:  # bank ids are few; a file of unique ones must not grow this without end
            texts.clear()
        for raw_text in {*destinations, *sources, *currencies}.difference(texts):
            texts[raw_text] = raw_text.decode(errors="replace")
        for raw_status in set(statuses).difference(texts):
            texts[raw_status] = raw_status[1:].decode(errors="replace")
        look = texts.__getitem__
        return list(
            map(
                _observation,
                zip(
                    _decoded(ids),
                    map(look, statuses),
                    ts,
                    arrivals,
                    map(look, sources),
                    map(look, destinations),
                    struct.unpack(f"<{count}d", b"".join(amounts)),
                    map(look, currencies),
                    strict=True,
                ),
            )
        )


def _decoded(ids: Sequence[bytes]) -> list[str]:
    """Payment ids as text: UTF-8, undecodable bytes replaced (the strict codec is the quicker one to call)."""
    try:
        return list(map(bytes.decode, ids))
    except UnicodeDecodeError:
        return [i.decode(errors="replace") for i in ids]


def _longs(varints: Sequence[bytes]) -> list[int]:
    """Avro longs (zigzag varints) to ints, all of a block's at once when they can be.

    Times in epoch ms are varints of 6 or 7 bytes, never negative. Each is padded to a
    64-bit lane of one big int, whose 7-bit groups are packed together by shifts and masks
    over every lane at once (SWAR), in C; a column with a longer varint or a negative long
    is decoded one by one.
    """
    count = len(varints)
    if max(map(len, varints)) > 8:
        return [_long(v) for v in varints]
    lanes = int.from_bytes(b"".join(map(bytes.ljust, varints, repeat(8, count), repeat(b"\0", count))), "little")
    masks = _masks(count)
    lanes &= masks[0]  # the continuation bits
    for keep, move, shift in masks[1]:
        lanes = (lanes & keep) | ((lanes & move) >> shift)
    if lanes & masks[2]:  # a negative long: zigzag's low bit set
        return [_long(v) for v in varints]
    return list(struct.unpack(f"<{count}Q", (lanes >> 1).to_bytes(8 * count, "little")))


@lru_cache(maxsize=8)
def _masks(count: int) -> tuple[int, tuple[tuple[int, int, int], ...], int]:
    """For ``count`` 64-bit lanes: the mask of the 7-bit groups, the three packing steps, the low bits."""

    def lanes(mask: int) -> int:
        return int.from_bytes(mask.to_bytes(8, "little") * count, "little")

    steps = (
        (lanes(0x007F007F007F007F), lanes(0x7F007F007F007F00), 1),  # pairs of 7 bits: 14 in 16
        (lanes(0x00003FFF00003FFF), lanes(0x3FFF00003FFF0000), 2),  # 28 in 32
        (lanes(0x000000000FFFFFFF), lanes(0x0FFFFFFF00000000), 4),  # 56 in 64
    )
    return lanes(0x7F7F7F7F7F7F7F7F), steps, lanes(1)


def _long(varint: bytes) -> int:
    n = 0
    for shift, byte in enumerate(varint):
        n |= (byte & 0x7F) << (7 * shift)
    return (n >> 1) ^ -(n & 1)
