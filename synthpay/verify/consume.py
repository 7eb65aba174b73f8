"""Reading a run's topics: the consumer, the watermarks that bound the run, the records fed to the tally.

Every partition is read from the beginning up to the high watermark seen at start, so a
duplicate shows up as an extra record; reading gives up when no record has arrived for
``timeout_s``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import cast

from confluent_kafka import KafkaException, Message, TopicPartition

from synthpay.config.settings import Settings
from synthpay.sinks.kafka_client import CONNECT_TIMEOUT_S, ClusterError, ErrorWatch, describe_error, wait_for_cluster
from synthpay.sinks.kafka_offsets import reading_consumer, watermarks
from synthpay.summary.document import PartitionRange
from synthpay.verify.errors import VerifyError
from synthpay.verify.manifest import Manifest
from synthpay.verify.tally import Reader

_BATCH = 10_000


class Cluster:
    """The consumer and its errors; raises VerifyError with one line when the cluster is unusable."""

    def __init__(self, settings: Settings) -> None:
        self._where = settings.kafka.bootstrap_servers
        self._errors = ErrorWatch()
        self.consumer = reading_consumer(settings.kafka, "synthpay-verify", self._errors)

    def partitions(
        self, delivered: Mapping[str, int], ranges: Mapping[str, Sequence[PartitionRange]]
    ) -> tuple[list[TopicPartition], dict[tuple[str, int], int], list[str]]:
        """(assignment from the beginning, {(topic, partition): high watermark}, missing topics).

        ``delivered``: records per topic the run's summary says were acknowledged, ``ranges``
        the offsets they lie in, when the summary says (see falls_short). A broker
        just started can answer with watermarks that do not hold them yet; they are asked
        again until they do, or until the connect timeout, when the counts check reports
        what is short.
        """
        try:
            wait_for_cluster(self.consumer, self._errors, self._where)
        except ClusterError as exc:
            raise VerifyError(f"verify: {exc}") from None
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        try:
            marks, missing = watermarks(self.consumer, delivered)
            while falls_short(marks, delivered, ranges) and time.monotonic() < deadline:
                time.sleep(0.5)
                marks, missing = watermarks(self.consumer, delivered)
        except KafkaException as exc:
            raise VerifyError(
                f"verify: cannot use the cluster at {self._where}: {self._errors.last or describe_error(exc)}"
            ) from None
        assignment = [TopicPartition(topic, p, low) for (topic, p), (low, _) in marks.items()]
        ends = {where: high for where, (low, high) in marks.items() if high > low}
        return assignment, ends, missing


def falls_short(
    marks: Mapping[tuple[str, int], tuple[int, int]],
    delivered: Mapping[str, int],
    ranges: Mapping[str, Sequence[PartitionRange]],
) -> bool:
    """True when some topic's partitions do not reach the run's records yet.

    With the run's offset ranges, a partition's end must reach its range's: records the
    broker deleted since do not keep verify waiting. Without them, the partitions must hold
    as many records as the run delivered.
    """
    held: Counter[str] = Counter()
    for (topic, _), (low, high) in marks.items():
        held[topic] += max(0, high - low)
    return any(
        any(marks[topic, r.partition][1] < r.end for r in ranges[topic] if (topic, r.partition) in marks)
        if ranges.get(topic)
        else held[topic] < count
        for topic, count in delivered.items()
        if (topic, 0) in marks
    )


def _header(msg: Message, wanted: str) -> str | bytes | None:
    headers = cast("list[tuple[str, str | bytes | None]]", msg.headers() or [])  # the consumer gives pairs
    for name, value in headers:
        if name == wanted:
            return value
    return None


def consume(cluster: Cluster, reader: Reader, manifest: Manifest, timeout_s: float) -> int:
    """Read every partition up to its start-time high watermark into ``reader``; return the records read."""
    consumer, tally = cluster.consumer, reader.tally
    assignment, ends, missing = cluster.partitions(manifest.delivered, manifest.offsets)
    tally.unfinished.extend(f"{t} (missing)" for t in missing)
    tally.log_start.update(((tp.topic, tp.partition), tp.offset) for tp in assignment)
    consumer.assign(assignment)
    read = 0
    labelled, phased = manifest.labelled, manifest.scenario is not None
    idle_until = time.monotonic() + timeout_s
    while ends and time.monotonic() < idle_until:
        batch = consumer.consume(num_messages=_BATCH, timeout=min(1.0, timeout_s))
        if batch:
            idle_until = time.monotonic() + timeout_s
        for msg in batch:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if msg.error() is not None or topic is None or partition is None or offset is None:
                tally.consumer_errors.add(f"{topic}: {describe_error(msg.error())}")
                continue
            end = ends.get((topic, partition))
            if end is None or offset >= end:
                continue  # written after verify started: not part of the run as summarised
            read += 1
            reader.record(
                topic,
                msg.key(),
                msg.value(),
                _header(msg, "run_id"),
                _header(msg, "phase") if phased else None,
                _header(msg, "anomaly") if labelled else None,
                msg.timestamp()[1] if labelled else None,
            )
            if offset + 1 >= end:
                del ends[(topic, partition)]
                consumer.pause([TopicPartition(topic, partition)])
    tally.unfinished.extend(f"{t}[{p}]" for t, p in ends)
    return read
