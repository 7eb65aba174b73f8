"""Avro container files: synthpay's own payment files fast (:mod:`payment_blocks`), any other
with ``id``, ``ts`` and ``status`` fields through fastavro.

An event arrives at the largest ts read so far from its file: a file is written in
emission order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import fastavro

from synthpay.calibrate.merge import batched
from synthpay.calibrate.observations import Observation
from synthpay.calibrate.payment_blocks import Decoder, is_payment_schema
from synthpay.calibrate.source_errors import SourceError, at

#: The fields every Avro input must have.
REQUIRED = ("id", "ts", "status")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def field_names(path: Path, name: str) -> list[str]:
    """The top-level field names of the file's writer schema; SourceError when it is no Avro file."""
    with _opened(path, name) as f:
        schema = _reader(f, name).writer_schema
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return [str(f.get("name")) for f in fields] if isinstance(fields, list) else []


def check_avro(path: Path, name: str) -> None:
    """SourceError now, not mid-read, when the file is no Avro file or lacks a field."""
    fields = field_names(path, name)
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        has = ", ".join(fields) or "none"
        raise at(name, None, f"no field {', '.join(missing)} in its schema (the fields are: {has})")


def read_avro(path: Path, name: str) -> Iterator[Observation]:
    """Every record of ``path`` as an event, in file order."""
    for batch in avro_batches(path, name):
        yield from batch


def avro_batches(path: Path, name: str) -> Iterator[list[Observation]]:
    """Every record of ``path`` as an event, in file order, a block at a time."""
    with _opened(path, name) as f:
        blocks = _block_reader(f, name)
        if is_payment_schema(blocks.writer_schema):
            yield from _payments(blocks, name)
            return
    with _opened(path, name) as f:
        yield from batched(_records(_reader(f, name), name))


def _payments(blocks: Any, name: str) -> Iterator[list[Observation]]:
    decoder = Decoder()
    index = 0
    try:
        for block in blocks:
            decoded = decoder.decode_block(block.bytes_.getvalue(), block.num_records)
            if decoded is None:  # not laid out as the pattern knows: fastavro decodes it
                decoded = [_arrived(decoder, r, name, index + i) for i, r in enumerate(block)]
            index += block.num_records
            yield decoded
    except (ValueError, EOFError, OSError) as exc:
        raise at(name, f"record {index + 1}", f"not readable as Avro: {exc}") from None


def _records(reader: Any, name: str) -> Iterator[Observation]:
    decoder = Decoder()  # only its arrival time
    index = 0
    try:
        for index, record in enumerate(reader):
            yield _arrived(decoder, record, name, index)
    except (ValueError, EOFError, OSError) as exc:
        raise at(name, f"record {index + 1}", f"not readable as Avro: {exc}") from None


def _arrived(decoder: Decoder, record: Mapping[str, Any], name: str, index: int) -> Observation:
    """The record's event, arriving at the largest ts of the file so far."""
    observation = record_observation(record, name, f"record {index + 1}")
    if observation.ts_ms > decoder.arrival_ms:
        decoder.arrival_ms = observation.ts_ms
    return observation._replace(arrival_ms=decoder.arrival_ms)


def record_observation(record: Mapping[str, Any], name: str, where: str) -> Observation:
    """A decoded payment record's event, arriving at its own ts; SourceError naming ``where`` when it is none."""
    ts_ms = _ms(record.get("ts"), name, where)
    payment, status = _text(record.get("id")), _text(record.get("status"))
    if payment is None or status is None:
        raise at(name, where, f"{'id' if payment is None else 'status'} is empty")
    amount = record.get("amount")
    return Observation(
        payment,
        status,
        ts_ms,
        ts_ms,
        _text(record.get("source")),
        _text(record.get("destination")),
        float(amount) if isinstance(amount, (int, float, Decimal)) and not isinstance(amount, bool) else None,
        _text(record.get("currency")),
    )


def _ms(value: object, name: str, where: str) -> int:
    """A ts field in epoch ms: a long, or a timestamp logical type fastavro made a datetime."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (moment - _EPOCH) // _MS
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise at(name, where, f"ts {value!r} is not a time (a long of epoch ms, or a timestamp)")


def _text(value: object) -> str | None:
    if isinstance(value, (str, uuid.UUID)):
        return str(value) or None
    if isinstance(value, bytes):
        return value.decode(errors="replace") or None
    return None


def _opened(path: Path, name: str) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise at(name, None, f"cannot read: {exc.strerror}") from None


def _reader(f: IO[bytes], name: str) -> Any:
    try:
        return fastavro.reader(f)
    except (ValueError, EOFError, OSError) as exc:
        raise _not_avro(name, exc) from None


def _block_reader(f: IO[bytes], name: str) -> Any:
    try:
        return fastavro.block_reader(f)
    except (ValueError, EOFError, OSError) as exc:
        raise _not_avro(name, exc) from None


def _not_avro(name: str, exc: Exception) -> SourceError:
    return at(name, None, f"not an Avro container file: {exc}")
