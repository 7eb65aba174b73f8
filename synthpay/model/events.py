"""What crosses from the engine to the sink: topics and events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from synthpay.model.entities import Bank, Payment


@dataclass(frozen=True, slots=True)
class Topic:
    """A destination topic and how its records are encoded."""

    name: str
    schema: str  # "payment" or "bank"
    partitions: int
    status: str = ""  # the payment status carried by every record, "" for banks
    status_avro: bytes = b""  # ``status`` pre-encoded
    phase: str = ""  # the timeline phase the payments on it started in (a topic object per phase)

    @property
    def compacted(self) -> bool:
        """Reference data keyed by id (banks) keeps the latest version per key."""
        return self.schema == "bank"


class Event(NamedTuple):
    """One record for one topic, and its labels.

    A NamedTuple rather than a dataclass because one is made per event on the hot path;
    the value is encoded only by the sink that needs it.

    ``status``, ``phase`` and ``anomaly`` are THE labels of an event: what every sink may
    write beside the record (the Kafka sink writes them as headers), each ``""`` when it has
    none. With the run id (``SinkContext.run_id``) they are all the ground truth a consumer
    gets; a sink needs nothing else from the engine to write them.
    """

    topic: Topic
    ts_ms: int
    entity: Payment | Bank

    @property
    def status(self) -> str:
        """The payment status this event records, "" for a bank."""
        return self.topic.status

    @property
    def phase(self) -> str:
        """The timeline phase its payment started in, "" outside every phase (or without phases) and for a bank."""
        return self.topic.phase

    @property
    def anomaly(self) -> str:
        """The anomaly it carries (``late``, ``duplicate``, ``out_of_order``), "" for a clean event."""
        return self.entity.anomaly

    @property
    def key(self) -> str:
        """Kafka key: the payment id, or the bank id."""
        return self.entity.id

    def avro(self) -> bytes:
        """The record encoded as Avro binary (no framing)."""
        return self.entity.avro(self.topic, self.ts_ms)

    def record(self) -> dict[str, object]:
        """The record as a plain dict, field for field as in the schema."""
        return self.entity.record(self.topic, self.ts_ms)


#: The label an injected record carries beside the per-topic ones (:meth:`Labels.of_topic`).
ANOMALY: Final = "anomaly"


@dataclass(frozen=True, slots=True)
class Labels:
    """Which labels a run writes beside its records, by name, in the order of the Kafka headers.

    The one definition of the headers (docs/reference/record-headers.md): the Kafka sink
    builds its per-topic header lists from :meth:`of_topic`, the stdout sink and the preview
    write :meth:`of` per event. ``status`` is on payment topics only (a ground-truth record
    carries its status in its value), ``run_id`` on every record, ``phase`` on every record
    but a bank's when the run has phases, ``anomaly`` on an injected record of a run that
    can inject one.
    """

    run_id: str
    phased: bool  # the run has [[phases]]
    anomalies: bool  # the run can inject anomalies (for the run or in a phase)

    def of_topic(self, topic: Topic, phase: str | None = None) -> list[tuple[str, str]]:
        """The labels every record on ``topic`` carries (its phase's, or ``phase``'s); no anomaly."""
        if phase is not None:
            topic = replace(topic, phase=phase)
        labels = [("status", topic.status)] if topic.schema == "payment" else []
        labels.append(("run_id", self.run_id))
        if self.phased and not topic.compacted:
            labels.append(("phase", topic.phase))
        return labels

    def of(self, event: Event) -> dict[str, str]:
        """``event``'s labels, name to value, as the Kafka sink writes them in its headers."""
        labels = dict(self.of_topic(event.topic))
        if self.anomalies and event.anomaly:
            labels[ANOMALY] = event.anomaly
        return labels
