"""An event's labels: what every sink may write beside its record."""

from __future__ import annotations

import random

import pytest

from synthpay.model import entities, serde
from synthpay.model.anomalies import LABELLED, Injected
from synthpay.model.events import Event, Topic

PAYMENTS = Topic("payment-validated", "payment", 3, "Validated", serde.avro_string("Validated"), phase="incident")
BANKS = Topic("banks", "bank", 1)


def payment() -> entities.Payment:
    banks = [entities.encoded("a"), entities.encoded("b")]
    return entities.Payment(*entities.new_payment_fields(random.Random(1), banks, banks))


def test_a_payment_event_is_labelled_with_its_topic_s_status_and_phase() -> None:
    event = Event(PAYMENTS, 1_000, payment())
    assert (event.status, event.phase, event.anomaly) == ("Validated", "incident", "")


def test_a_bank_event_has_no_label() -> None:
    event = Event(BANKS, 1_000, entities.new_bank(random.Random(1), 1_000))
    assert (event.status, event.phase, event.anomaly) == ("", "", "")


@pytest.mark.parametrize("kind", LABELLED)
def test_an_injected_event_carries_its_anomaly(kind: str) -> None:
    assert Event(PAYMENTS, 2_000, Injected(payment(), 1_000, kind)).anomaly == kind


def test_a_clean_payment_cannot_be_given_an_anomaly() -> None:
    with pytest.raises(AttributeError):
        payment().anomaly = "late"  # type: ignore[misc]
