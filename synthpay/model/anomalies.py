"""Dirty data as the model knows it: the anomaly kinds, and an event emitted at another time than its own.

The engine's injector decides what befalls which event (:mod:`synthpay.engine.injector`);
verify checks the labels against the summary (:mod:`synthpay.verify.anomalies`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from synthpay.model import serde
from synthpay.model.entities import Payment

if TYPE_CHECKING:
    from synthpay.model.events import Topic

#: The kinds labelled on a record (the ``anomaly`` header), then the one that leaves no record.
LABELLED: Final = ("late", "duplicate", "out_of_order")
KINDS: Final = (*LABELLED, "missing")
#: The ground-truth topic's name after ``kafka.topic_prefix``: where a run with anomalies
#: writes the events it deliberately does not emit (see :class:`Withheld`).
GROUND_TRUTH: Final = "synthpay-ground-truth"


class Encoded(Protocol):
    """A payment's pre-encoded key and value tail: all an injected copy needs of it."""

    kafka_key: bytes
    avro_tail: bytes


class Injected(Payment):
    """A payment event emitted at a time other than its own, with the anomaly it carries.

    The :class:`Event` holding it has the emission time as ``ts_ms`` (the Kafka record
    timestamp); the value is encoded with ``event_ts_ms``, so every sink writes the event
    time into ``ts`` and a duplicate's value is the original's, byte for byte. Its
    ``anomaly`` slot overrides :attr:`Entity.anomaly <synthpay.model.entities.Entity.anomaly>`
    (``""``), so :attr:`Event.anomaly <synthpay.model.events.Event.anomaly>` is its label.
    """

    __slots__ = ("anomaly", "event_ts_ms")

    def __init__(self, payment: Encoded, event_ts_ms: int, anomaly: str) -> None:
        self.kafka_key = payment.kafka_key
        self.avro_tail = payment.avro_tail
        self.event_ts_ms = event_ts_ms
        self.anomaly = anomaly  # one of LABELLED: the record's header

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """The event's Avro binary, stamped with its own time whatever it is emitted at."""
        return super().avro(topic, self.event_ts_ms)

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """The event as a dict, stamped with its own time."""
        return super().record(topic, self.event_ts_ms)


class Withheld(Injected):
    """A payment event deliberately not emitted, as written to the ground-truth topic.

    ``anomaly`` says why: ``missing`` (dropped by the injector), or the kind of a held-back
    event a stop cut before it fell due (``cut``). Its value is the event as it would have
    been (``avro/ground_truth.avsc``: the payment's fields, then ``anomaly`` and ``cut``), so
    a reader of the ground truth can put it where it belongs without the summary listing it.
    """

    __slots__ = ("cut",)

    def __init__(self, payment: Encoded, event_ts_ms: int, anomaly: str, cut: bool) -> None:
        super().__init__(payment, event_ts_ms, anomaly)
        self.cut = cut

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """The event's Avro binary under the ground-truth schema."""
        return super().avro(topic, ts_ms) + serde.avro_string(self.anomaly) + (b"\x01" if self.cut else b"\x00")

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """The event as a dict, with why it was withheld."""
        return {**super().record(topic, ts_ms), "anomaly": self.anomaly, "cut": self.cut}
