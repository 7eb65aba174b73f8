"""What crosses from the engine to the sink: topics and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

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
