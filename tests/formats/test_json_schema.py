from __future__ import annotations

import json
import random

import jsonschema
import pytest
from conftest import avro_schema, new_payment, payment_topic
from hypothesis import given
from hypothesis import strategies as st

from synthpay.formats import json_schema, json_values
from synthpay.model import entities, serde
from synthpay.model.anomalies import Injected, Withheld
from synthpay.model.events import Event, Topic

RECORD_TYPES = ("payment", "bank", "ground_truth")
JSON_TYPES = {"string": "string", "long": "integer", "int": "integer", "double": "number", "boolean": "boolean"}
SEEDS = st.integers(min_value=0, max_value=2**32)
TS_MS = st.integers(min_value=0, max_value=253_402_300_799_999)
STATUSES = st.sampled_from(("Initiated", "Validated", "Accounted", "Failed"))


def validator(record_type: str) -> jsonschema.Draft7Validator:
    schema = json.loads(json_schema.schema_text(record_type))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def drawn_payment(seed: int) -> entities.Payment:
    rng = random.Random(seed)
    banks = [entities.encoded(str(entities.new_bank(rng, 0).id)) for _ in range(4)]
    return new_payment(rng, banks[:2], banks[2:])


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_every_avro_field_is_a_required_property_in_order_of_its_type(record_type: str) -> None:
    avro = avro_schema(record_type)
    derived = json.loads(json_schema.schema_text(record_type))
    names = [f["name"] for f in avro["fields"]]
    assert names and list(derived["properties"]) == names == derived["required"]
    assert [p["type"] for p in derived["properties"].values()] == [JSON_TYPES[f["type"]] for f in avro["fields"]]
    assert derived["additionalProperties"] is False and derived["type"] == "object"


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_the_document_is_a_draft_07_schema_titled_as_the_avro_record(record_type: str) -> None:
    derived = json.loads(json_schema.schema_text(record_type))
    assert derived["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert derived["title"] == avro_schema(record_type)["name"]
    jsonschema.Draft7Validator.check_schema(derived)


def test_the_text_is_derived_anew_the_same() -> None:
    first = json_schema.schema_text("payment")
    json_schema.schema_text.cache_clear()
    assert json_schema.schema_text("payment") == first


@given(SEEDS, TS_MS, STATUSES)
def test_every_payment_value_validates(seed: int, ts_ms: int, status: str) -> None:
    event = Event(payment_topic(status), ts_ms, drawn_payment(seed))
    validator("payment").validate(json.loads(json_values.encoder(event.topic)(event)))


@given(SEEDS, TS_MS, st.sampled_from(("late", "duplicate", "out_of_order")))
def test_every_injected_value_validates(seed: int, ts_ms: int, anomaly: str) -> None:
    event = Event(payment_topic("Validated"), ts_ms + 5, Injected(drawn_payment(seed), ts_ms, anomaly))
    validator("payment").validate(json.loads(json_values.encoder(event.topic)(event)))


@given(SEEDS, TS_MS, st.booleans())
def test_every_withheld_value_validates(seed: int, ts_ms: int, cut: bool) -> None:
    topic = Topic("synthpay-ground-truth", "ground_truth", 1, "Accounted", serde.avro_string("Accounted"))
    event = Event(topic, ts_ms, Withheld(drawn_payment(seed), ts_ms, "missing", cut))
    validator("ground_truth").validate(json.loads(json_values.encoder(topic)(event)))


@given(SEEDS, TS_MS)
def test_every_bank_value_validates(seed: int, ts_ms: int) -> None:
    event = Event(Topic("banks", "bank", 1), ts_ms, entities.new_bank(random.Random(seed), ts_ms))
    validator("bank").validate(json.loads(json_values.encoder(event.topic)(event)))


@pytest.mark.parametrize("change", ["missing", "extra", "retyped"])
def test_a_record_off_the_schema_is_refused(change: str) -> None:
    event = Event(payment_topic("Initiated"), 1_700_000_000_000, drawn_payment(1))
    record = event.record()
    if change == "missing":
        del record["amount"]
    elif change == "extra":
        record["note"] = "x"
    else:
        record["ts"] = str(record["ts"])
    with pytest.raises(jsonschema.ValidationError):
        validator("payment").validate(record)
