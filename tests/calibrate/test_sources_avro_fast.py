"""The fast decoder of synthpay's payment blocks gives what fastavro's reader gives."""

from __future__ import annotations

import io
import math
import tempfile
import uuid
from pathlib import Path
from typing import Any

import fastavro
from conftest import avro_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay.calibrate.avro_source import read_avro
from synthpay.calibrate.payment_blocks import Decoder, is_payment_schema, strided

SCHEMA = fastavro.parse_schema(avro_schema("payment"))
LONG = st.integers(-(2**63), 2**63 - 1)
#: Times as the sink writes them (epoch ms in 6 or 7 varint bytes), and any long.
TIMES = st.one_of(st.integers(0, 2**45), LONG)
UUIDS = st.uuids().map(str)
TEXT = st.text(max_size=70)


def _record(**fields: Any) -> dict[str, Any]:
    return {
        "id": fields.get("id", str(uuid.uuid4())),
        "ts": fields.get("ts", 1_769_850_000_000),
        "date_ts": fields.get("date_ts", "2026-01-31T09:00:00.000Z"),
        "destination": fields.get("destination", str(uuid.uuid4())),
        "source": fields.get("source", str(uuid.uuid4())),
        "currency": fields.get("currency", "EUR"),
        "amount": fields.get("amount", 12.5),
        "status": fields.get("status", "Validated"),
    }


#: Records shaped as synthpay writes them (the pattern's case), and records of any strings (fastavro's).
SHAPED = st.builds(
    _record,
    id=UUIDS,
    ts=TIMES,
    destination=UUIDS,
    source=UUIDS,
    currency=st.text(st.characters(min_codepoint=65, max_codepoint=90), min_size=3, max_size=3),
    amount=st.floats(allow_nan=False),
    status=st.text(min_size=1, max_size=15),  # at most 60 bytes in UTF-8: the pattern's statuses
)
ANY = st.builds(
    _record,
    id=TEXT.filter(bool),
    ts=LONG,
    date_ts=TEXT,
    destination=TEXT,
    source=TEXT,
    currency=TEXT,
    amount=st.floats(allow_nan=False),
    status=TEXT.filter(bool),
)


def _container(records: list[dict[str, Any]], block: int) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, SCHEMA, records, codec="deflate", sync_interval=block)
    return out.getvalue()


def _fields(r: dict[str, Any]) -> tuple[object, ...]:
    """A record as an Observation has it: an empty optional string is no value."""
    return (
        r["id"],
        r["status"],
        r["ts"],
        r["source"] or None,
        r["destination"] or None,
        r["amount"],
        r["currency"] or None,
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(SHAPED, SHAPED, ANY), max_size=60), st.sampled_from([1, 300, 4000, 100_000]))
def test_the_fast_path_reads_what_fastavro_reads(records: list[dict[str, Any]], block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "payment-x.avro"
        path.write_bytes(_container(records, block))
        read = list(read_avro(path, path.name))
    assert [(o.payment, o.status, o.ts_ms, o.source, o.destination, o.amount, o.currency) for o in read] == [
        _fields(r) for r in records
    ]
    running = [max(r["ts"] for r in records[: i + 1]) for i in range(len(records))]
    assert [o.arrival_ms for o in read] == running


def _blocks(data: bytes) -> list[tuple[bytes, int, list[dict[str, Any]]]]:
    blocks: Any = fastavro.block_reader(io.BytesIO(data))  # its Block's bytes_ is not in fastavro's stubs
    return [(b.bytes_.getvalue(), b.num_records, list(b)) for b in blocks]


@given(st.lists(SHAPED, min_size=1, max_size=40))
def test_a_block_as_synthpay_writes_it_is_decoded_by_the_pattern(records: list[dict[str, Any]]) -> None:
    (raw, count, expected), *_ = _blocks(_container(records, 10**6))
    decoded = Decoder().decode_block(raw, count)
    assert decoded is not None
    assert [(o.payment, o.status, o.ts_ms, o.source, o.destination, o.amount, o.currency) for o in decoded] == [
        _fields(r) for r in expected
    ]


#: A topic's records as the file sink writes them: one status, times of one varint length.
UNIFORM = st.tuples(st.text(min_size=1, max_size=15), st.integers(1, 6)).flatmap(
    lambda shape: st.lists(
        st.builds(
            _record,
            id=UUIDS,
            ts=st.integers(2 ** (7 * shape[1] - 2), 2 ** (7 * shape[1] - 1) - 1),  # zigzag: 7 x length bits
            destination=UUIDS,
            source=UUIDS,
            amount=st.floats(allow_nan=False),
            status=st.just(shape[0]),
        ),
        min_size=1,
        max_size=40,
    )
)


@given(UNIFORM)
def test_a_block_of_one_record_length_is_read_as_an_array(records: list[dict[str, Any]]) -> None:
    (raw, count, expected), *_ = _blocks(_container(records, 10**6))
    decoded = Decoder().decode_block(raw, count)
    assert strided(raw, count) is not None
    assert decoded is not None
    assert [(o.payment, o.status, o.ts_ms, o.source, o.destination, o.amount, o.currency) for o in decoded] == [
        _fields(r) for r in expected
    ]


@given(st.lists(ANY, min_size=1, max_size=20))
def test_a_block_the_pattern_cannot_tile_is_left_to_fastavro(records: list[dict[str, Any]]) -> None:
    (raw, count, expected), *_ = _blocks(_container(records, 10**6))
    decoded = Decoder().decode_block(raw, count)
    # None (fastavro's to decode), or, when it could tile the block, the block decoded right.
    assert decoded is None or [(o.payment, o.status, o.ts_ms) for o in decoded] == [
        (r["id"], r["status"], r["ts"]) for r in expected
    ]


def test_a_status_longer_than_the_pattern_knows_is_left_to_fastavro() -> None:
    (raw, count, _), *_ = _blocks(_container([_record(status="S" * 64)], 10**6))
    assert Decoder().decode_block(raw, count) is None


def test_an_id_that_is_no_uuid_is_left_to_fastavro() -> None:
    (raw, count, _), *_ = _blocks(_container([_record(id="p-1")], 10**6))
    assert Decoder().decode_block(raw, count) is None


def test_only_the_payment_schema_takes_the_fast_path() -> None:
    shipped = avro_schema("payment")
    assert is_payment_schema(shipped)
    other = {**shipped, "fields": [f for f in shipped["fields"] if f["name"] != "date_ts"]}
    assert not is_payment_schema(other)


def test_amounts_are_doubles_bit_for_bit() -> None:
    records = [_record(amount=a) for a in (0.1, -0.0, 1e308, 5e-324, math.pi)]
    (raw, count, _), *_ = _blocks(_container(records, 10**6))
    decoded = Decoder().decode_block(raw, count)
    assert decoded is not None
    assert [math.copysign(1, o.amount or 0.0) * abs(o.amount or 0.0) for o in decoded] == [
        0.1,
        -0.0,
        1e308,
        5e-324,
        math.pi,
    ]
