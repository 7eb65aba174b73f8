"""Partition watermarks, and where a Kafka run's records lie: each partition's end before and after the run.

The producer reports only failed deliveries (see KafkaSink), so the offset of a delivered
record is never seen. Instead the sink is bracketed: once it is ready (the topics exist,
nothing is produced yet) and again after its final flush, the end offset (high
watermark) of every partition of the run's topics is read, and the ledger keeps the
ranges in between. ``synthpay verify`` compares them with the log start offset to count
the run's records the broker deleted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from synthpay.sinks.kafka_client import CONNECT_TIMEOUT_S, ErrorWatch, connection_config, describe_error, make_client

if TYPE_CHECKING:
    from synthpay.config.settings import KafkaSettings
    from synthpay.model.events import Event
    from synthpay.sinks.base import Sink, SinkContext
    from synthpay.sinks.registry import SinkFactory

#: How long reading the ends may hold up the start or the end of a run; past it the range is not recorded.
_BRACKET_TIMEOUT_S = 5.0


class Unlogged:
    """A consumer's librdkafka ``logger`` that drops every line: its errors are reported otherwise."""

    def log(self, level: int, fmt: str, *args: object) -> None:
        """Drop one librdkafka log line."""


def reading_consumer(kafka: KafkaSettings, group: str, errors: ErrorWatch) -> Consumer:
    """A consumer that reads partitions it is assigned, in a group of its own (``<group>-<uuid>``),
    committing nothing: what ``verify`` and ``fit`` read topics with. ``errors`` is its error_cb."""
    return make_client(
        Consumer,
        {
            **connection_config(kafka),
            "group.id": f"{group}-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            # librdkafka prefetches up to 100,000 records per partition by default: over the
            # dozens of partitions of a run that is most of the topics in memory at once.
            "queued.min.messages": 2000,
            "queued.max.messages.kbytes": 8192,
            "error_cb": errors,
            "logger": Unlogged(),
        },
        kafka,
    )


def watermarks(
    consumer: Consumer, topics: Iterable[str], timeout_s: float = CONNECT_TIMEOUT_S
) -> tuple[dict[tuple[str, int], tuple[int, int]], list[str]]:
    """({(topic, partition): (low, high)} of every partition of ``topics``, the topics that do not exist).

    Raises KafkaException when the cluster does not answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    meta = consumer.list_topics(timeout=timeout_s)
    marks: dict[tuple[str, int], tuple[int, int]] = {}
    missing = []
    for topic in topics:
        found = meta.topics.get(topic)
        if found is None or (found.error is not None and found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
            missing.append(topic)
            continue
        for p in found.partitions:
            marks[(topic, p)] = _watermark(consumer, TopicPartition(topic, p), deadline)
    return marks, missing


def _watermark(consumer: Consumer, partition: TopicPartition, deadline: float) -> tuple[int, int]:
    # A broker that has just restarted answers metadata before it leads its partitions
    # again (NOT_LEADER_FOR_PARTITION for a few seconds): retry until the deadline.
    while True:
        try:
            marks = consumer.get_watermark_offsets(partition, timeout=max(1.0, deadline - time.monotonic()))
            if marks is not None:
                return marks[0], marks[1]
        except KafkaException:
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"no watermarks for {partition.topic}"))
        time.sleep(0.2)


class OffsetBracket:
    """A Kafka sink whose ledger learns, at the end, the offset range the run wrote to in each partition.

    Reading the ends never fails the run: when the cluster does not answer in time the
    ranges are left out (and the summary has no ``offsets``).
    """

    def __init__(self, sink: Sink, ctx: SinkContext) -> None:
        self._sink, self._ctx = sink, ctx
        self._topics = [t.name for t in ctx.topics]
        self._consumer = make_client(
            Consumer,
            {
                **connection_config(ctx.settings.kafka),
                "group.id": f"synthpay-offsets-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "logger": Unlogged(),
            },
            ctx.settings.kafka,
        )
        self._before = self._ends(_BRACKET_TIMEOUT_S)

    def _ends(self, timeout_s: float) -> dict[tuple[str, int], int] | None:
        try:
            marks, _ = watermarks(self._consumer, self._topics, timeout_s)
        except KafkaException as exc:
            self._ctx.log.warning("offsets_unknown", reason=describe_error(exc))
            return None
        return {where: high for where, (_, high) in marks.items()}

    def write(self, batch: Sequence[Event]) -> None:
        self._sink.write(batch)

    def poll(self) -> None:
        self._sink.poll()

    def flush(self, timeout_s: float) -> int:
        remaining = self._sink.flush(timeout_s)
        # With records left undelivered the cluster is likely gone: not worth waiting for.
        if self._before is not None and not remaining:
            after = self._ends(min(_BRACKET_TIMEOUT_S, max(1.0, self._ctx.stop.remaining())))
            if after is not None:
                self._ctx.ledger.place(self._before, after)
        return remaining

    def close(self) -> None:
        try:
            self._sink.close()
        finally:
            self._consumer.close()


def bracketed(open_sink: SinkFactory) -> SinkFactory:
    """``open_sink``, its sink bracketed by the partitions' ends once it is ready."""

    def open_bracketed(ctx: SinkContext) -> Sink:
        sink = open_sink(ctx)
        try:
            return OffsetBracket(sink, ctx)
        except BaseException:
            sink.close()
            raise

    return open_bracketed
