"""The hand-rolled Avro encoding against fastavro, byte for byte; RFC 3339 text against datetime."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import fastavro
import pytest
from conftest import EPOCH, avro_schema, new_payment, payment_topic, read_avro, rfc3339, run_engine
from hypothesis import example, given, settings
from hypothesis import strategies as st

from synthpay.model import entities, serde
from synthpay.model.events import Event, Topic

PAYMENT = fastavro.parse_schema(avro_schema("payment"))
BANK = fastavro.parse_schema(avro_schema("bank"))
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Years 1..9999 (what datetime and RFC 3339 cover), negative (before 1970) included.
TS_MS = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999)
TEXT = st.text(max_size=40)  # any Unicode, non-ASCII included


def fastavro_bytes(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, record)
    return buf.getvalue()


BANKS_TOPIC = Topic("banks", "bank", 1)


@given(INT64)
@example(0)
@example(-1)
@example(2**63 - 1)
@example(-(2**63))
def test_avro_long_matches_fastavro(n: int) -> None:
    assert serde.avro_long(n) == fastavro_bytes("long", n)  # type: ignore[arg-type]


@given(TEXT)
def test_avro_string_matches_fastavro(s: str) -> None:
    assert serde.avro_string(s) == fastavro_bytes("string", s)  # type: ignore[arg-type]


@given(st.floats(allow_nan=False))
def test_avro_double_matches_fastavro(x: float) -> None:
    assert serde.avro_double(x) == fastavro_bytes("double", x)  # type: ignore[arg-type]


@given(TS_MS)
@example(0)
@example(-1)
@example(-62_135_596_800_000)  # 0001-01-01T00:00:00.000Z
@example(-50_000_000_000_000)  # year 385: needs a zero-padded year
@example(253_402_300_799_999)  # 9999-12-31T23:59:59.999Z
def test_rfc3339_ms_matches_datetime(ts_ms: int) -> None:
    text = serde.rfc3339_ms(ts_ms)
    assert text == rfc3339(ts_ms)
    assert len(text) == 24
    assert EPOCH.fromisoformat(text) == EPOCH.fromisoformat(rfc3339(ts_ms))


@settings(max_examples=300)
@given(
    seed=st.integers(min_value=0, max_value=2**64),
    ts_ms=TS_MS | st.integers(min_value=253_402_300_800_000, max_value=2**53),  # years past 9999 too
    status=st.sampled_from(["Initiated", "Validated", "Completed", "Ünterwegs", "已完成"]),
    n_banks=st.integers(min_value=1, max_value=5),
)
def test_payment_event_encoding_matches_fastavro(seed: int, ts_ms: int, status: str, n_banks: int) -> None:
    rng = random.Random(seed)
    ids = [entities.encoded(f"bank-{i}-{rng.random()}") for i in range(n_banks)]
    payment = new_payment(rng, ids, ids[::-1])
    event = Event(payment_topic(status), ts_ms, payment)
    record = event.record()
    assert list(record) == [f["name"] for f in avro_schema("payment")["fields"]]
    assert record["ts"] == ts_ms and record["status"] == status and record["id"] == payment.id
    assert event.avro() == fastavro_bytes(PAYMENT, record)
    assert fastavro.schemaless_reader(io.BytesIO(event.avro()), PAYMENT, None) == record


@given(
    seed=st.integers(min_value=0, max_value=2**64),
    amount=st.floats(min_value=0.1, max_value=99999, exclude_max=True),
    pid=st.uuids().map(str),  # a payment id is always a UUID
    ids=st.lists(TEXT, min_size=3, max_size=3),
    ts_ms=TS_MS,
)
def test_payment_with_arbitrary_fields_matches_fastavro(
    seed: int, amount: float, pid: str, ids: list[str], ts_ms: int
) -> None:
    source, destination, currency = ids
    tail = b"".join(
        (
            serde.avro_string(destination),
            serde.avro_string(source),
            serde.avro_string(currency),
            serde.avro_double(amount),
        )
    )
    payment = entities.Payment(pid.encode(), tail)
    assert (payment.id, payment.source, payment.destination, payment.currency, payment.amount) == (
        pid,
        source,
        destination,
        currency,
        amount,
    )
    event = Event(payment_topic("Initiated"), ts_ms, payment)
    assert event.avro() == fastavro_bytes(PAYMENT, event.record())


bank_fields = dict.fromkeys(
    ("id", "name", "country", "email", "website", "bankCode", "bic", "branch", "created_ts", "updated_ts"), TEXT
)


@given(st.fixed_dictionaries(bank_fields), st.integers(min_value=-(2**31), max_value=2**31 - 1), TS_MS)
@example(dict.fromkeys(bank_fields, "Überweisung-银行-🏦"), 1, 0)
def test_bank_encoding_matches_fastavro(fields: dict[str, str], version: int, ts_ms: int) -> None:
    bank = entities.Bank(**fields, version=version)
    event = Event(BANKS_TOPIC, ts_ms, bank)
    record = event.record()
    assert list(record) == [f["name"] for f in avro_schema("bank")["fields"]]
    assert event.avro() == fastavro_bytes(BANK, record)
    assert fastavro.schemaless_reader(io.BytesIO(event.avro()), BANK, None) == record


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    ts_ms=st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_998),
)
def test_generated_banks_and_updates_match_fastavro(seed: int, ts_ms: int) -> None:
    rng = random.Random(seed)
    bank = entities.new_bank(rng, ts_ms)
    newer = entities.updated(bank, ts_ms + 1)
    assert (newer.version, newer.created_ts, newer.updated_ts) == (2, rfc3339(ts_ms), rfc3339(ts_ms + 1))
    for b in (bank, newer):
        assert Event(BANKS_TOPIC, ts_ms, b).avro() == fastavro_bytes(BANK, Event(BANKS_TOPIC, ts_ms, b).record())


def test_generated_payment_values() -> None:
    rng = random.Random(7)
    amounts = []
    for _ in range(20_000):
        p = new_payment(rng, [entities.encoded("s1"), entities.encoded("s2")], [entities.encoded("d1")])
        assert p.source in ("s1", "s2") and p.destination == "d1"
        assert p.currency in entities.CURRENCIES and len(p.currency) == 3
        amounts.append(p.amount)
    assert all(0.1 <= a < 99999 for a in amounts)
    assert min(amounts) < 100 and max(amounts) > 99000  # uniform over the whole range


@pytest.mark.parametrize("codec", ["deflate", "null"])
def test_container_files_read_back_with_the_shipped_schema(tmp_path: Path, codec: str) -> None:
    summary, out_dir, _ = run_engine(tmp_path, {"run.payments": 2500, "file.codec": codec})
    records = read_avro(out_dir)
    assert sum(len(r) for r in records.values()) == summary.events_total
    for topic, recs in records.items():
        with (out_dir / f"{topic}.avro").open("rb") as fh:
            reader = fastavro.reader(fh)
            name = "bank" if topic == "banks" else "payment"
            assert reader.metadata["avro.schema"] == serde.schema_text(name)
            assert reader.codec == codec
        # Multi-block files: the 1000-record blocks and the tail block all read back.
        assert recs
        assert all(set(r) == {f["name"] for f in avro_schema(name)["fields"]} for r in recs)
    assert len(records["payment-initiated"]) == 2500
