"""An event's labels: what every sink may write beside its record, and by which names."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from synthpay.model import entities, serde
from synthpay.model.anomalies import LABELLED, Injected, Withheld
from synthpay.model.events import ANOMALY, Event, Labels, Topic

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


# -- the labels a run writes beside its records (the Kafka headers)

GROUND_TRUTH = Topic("synthpay-ground-truth", "ground_truth", 3)


def test_a_payment_event_s_labels_are_its_status_and_the_run_id() -> None:
    labels = Labels("r1", phased=False, anomalies=False)
    assert labels.of(Event(PAYMENTS, 1_000, payment())) == {"status": "Validated", "run_id": "r1"}


def test_a_bank_event_is_labelled_with_the_run_id_alone_even_with_phases() -> None:
    labels = Labels("r1", phased=True, anomalies=True)
    assert labels.of(Event(BANKS, 1_000, entities.new_bank(random.Random(1), 1_000))) == {"run_id": "r1"}


def test_with_phases_every_payment_event_names_its_phase_even_outside_them() -> None:
    labels = Labels("r1", phased=True, anomalies=False)
    assert labels.of(Event(PAYMENTS, 1_000, payment()))["phase"] == "incident"
    assert labels.of_topic(PAYMENTS, "")[-1] == ("phase", "")


@pytest.mark.parametrize("kind", LABELLED)
def test_an_injected_event_is_labelled_with_its_anomaly_when_the_run_injects(kind: str) -> None:
    event = Event(PAYMENTS, 2_000, Injected(payment(), 1_000, kind))
    assert Labels("r1", phased=False, anomalies=True).of(event)[ANOMALY] == kind


def test_a_ground_truth_record_carries_no_status_label_its_value_has_it() -> None:
    withheld = replace(GROUND_TRUTH, status="Validated", status_avro=PAYMENTS.status_avro, phase="incident")
    event = Event(withheld, 1_000, Withheld(payment(), 1_000, "missing", cut=False))
    assert Labels("r1", phased=True, anomalies=True).of(event) == {
        "run_id": "r1",
        "phase": "incident",
        "anomaly": "missing",
    }
