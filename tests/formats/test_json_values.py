from __future__ import annotations

import json
import random

from conftest import payment_of, payment_topic
from hypothesis import given
from hypothesis import strategies as st

from synthpay.formats import json_values
from synthpay.model import entities, serde
from synthpay.model.anomalies import Injected, Withheld
from synthpay.model.events import Event, Topic

TEXT = st.text(max_size=40)  # any Unicode: quotes, backslashes and control characters included
TS_MS = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999)


PAYMENTS = st.builds(
    payment_of, st.uuids().map(str), TEXT, TEXT, TEXT, st.floats(allow_nan=False, allow_infinity=False)
)


@given(PAYMENTS, TS_MS, TEXT)
def test_a_payment_event_is_the_compact_json_of_its_record(p: entities.Payment, ts_ms: int, status: str) -> None:
    event = Event(payment_topic(status), ts_ms, p)
    value = json_values.encoder(event.topic)(event)
    assert value == json.dumps(event.record(), separators=(",", ":"), ensure_ascii=False).encode()


@given(PAYMENTS, TS_MS, st.integers(min_value=-(10**6), max_value=10**6))
def test_an_injected_event_carries_its_own_time(p: entities.Payment, ts_ms: int, delay: int) -> None:
    event = Event(payment_topic("Validated"), ts_ms + delay, Injected(p, ts_ms, "late"))
    decoded = json.loads(json_values.encoder(event.topic)(event))
    assert (decoded["ts"], decoded["id"], decoded["status"]) == (ts_ms, p.id, "Validated")


@given(PAYMENTS, TS_MS, st.booleans())
def test_a_withheld_event_adds_why_in_the_ground_truth_schema(p: entities.Payment, ts_ms: int, cut: bool) -> None:
    topic = Topic("synthpay-ground-truth", "ground_truth", 1, "Accounted", serde.avro_string("Accounted"))
    event = Event(topic, ts_ms, Withheld(p, ts_ms, "missing", cut))
    assert json.loads(json_values.encoder(topic)(event)) == event.record()


def test_a_bank_is_its_record() -> None:
    bank = entities.new_bank(random.Random(7), 1_700_000_000_000)
    event = Event(Topic("banks", "bank", 1), 0, bank)
    assert json.loads(json_values.encoder(event.topic)(event)) == event.record()
