"""``kafka``: the status topics of the configuration given, read from the beginning.

Each partition of ``<topic_prefix><status topic>`` is read from its start up to the high
watermark seen when reading began (as ``verify`` does), so records written meanwhile are
not part of what is fitted. Values are decoded by ``kafka.value_format``: Confluent's wire
format through the schema registry (avro, json_schema, protobuf), or plain JSON.

An event arrives at its record timestamp. The consumer interleaves partitions, so the
events come roughly, not strictly, in arrival order: the profiler orders a payment's
events by ``arrival_ms`` itself.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import fastavro
from confluent_kafka import KafkaException, Message, TopicPartition
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay.calibrate.avro_source import record_observation
from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_errors import at
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings
from synthpay.formats.values import VALUE_FORMATS, ValueFormat
from synthpay.sinks.kafka_client import (
    ClusterError,
    ErrorWatch,
    RegistryUnreachable,
    call_registry,
    describe_error,
    describe_registry_error,
    registry_client,
    wait_for_cluster,
)
from synthpay.sinks.kafka_offsets import reading_consumer, watermarks

NAME = "kafka"
_BATCH = 10_000
#: Reading gives up when no record has come for this long while partitions are unfinished.
IDLE_TIMEOUT_S = 30.0


def status_topics(settings: Settings) -> list[str]:
    """The topics ``kafka`` reads: each status's (with ``kafka.topic_prefix``, as the loaded settings have it)."""
    return [status.topic for status in settings.statuses.values()]


def check_kafka(settings: Settings | None) -> Settings:
    """The settings to read with; SourceError when they name no cluster."""
    if settings is None or not settings.kafka.bootstrap_servers:
        raise at(
            NAME,
            None,
            "no bootstrap servers configured: set kafka.bootstrap_servers in the --config file "
            "(or KAFKA_BOOTSTRAP_SERVERS)",
        )
    return settings


def read_kafka(settings: Settings, idle_timeout_s: float = IDLE_TIMEOUT_S) -> Iterator[Observation]:
    """Every record of the status topics up to the ends seen at start, in the order consumed."""
    errors = ErrorWatch()
    where = settings.kafka.bootstrap_servers
    try:
        consumer = reading_consumer(settings.kafka, "synthpay-fit", errors)
    except ConfigError as exc:
        raise at(NAME, None, str(exc)) from None
    try:
        yield from _read(consumer, errors, settings, where, idle_timeout_s)
    finally:
        consumer.close()


def _read(
    consumer: Any, errors: ErrorWatch, settings: Settings, where: str, idle_timeout_s: float
) -> Iterator[Observation]:
    try:
        wait_for_cluster(consumer, errors, where)
        marks, missing = watermarks(consumer, status_topics(settings))
    except (ClusterError, ConfigError) as exc:
        raise at(NAME, None, str(exc)) from None
    except KafkaException as exc:
        raise at(NAME, None, f"cannot use the cluster at {where}: {errors.last or describe_error(exc)}") from None
    if not marks:
        raise at(NAME, None, f"none of the status topics exists at {where}: {', '.join(missing)}")
    ends = {tp: high for tp, (low, high) in marks.items() if high > low}
    consumer.assign([TopicPartition(topic, p, low) for (topic, p), (low, _) in marks.items()])
    values = _Values(settings)
    idle_until = time.monotonic() + idle_timeout_s
    while ends:
        if time.monotonic() >= idle_until:
            short = ", ".join(f"{t}[{p}]" for t, p in ends)
            raise at(NAME, None, f"no record for {idle_timeout_s:g} s before the end of {short}")
        batch = consumer.consume(num_messages=_BATCH, timeout=1.0)
        if batch:
            idle_until = time.monotonic() + idle_timeout_s
        for msg in batch:
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            if msg.error() is not None or topic is None or partition is None or offset is None:
                raise at(NAME, None, f"{topic}: {describe_error(msg.error())}")
            end = ends.get((topic, partition))
            if end is None or offset >= end:
                continue  # written after reading began
            yield values.observation(msg, topic, partition, offset)
            if offset + 1 >= end:
                del ends[(topic, partition)]
                consumer.pause([TopicPartition(topic, partition)])


class _Values:
    """Decodes record values of ``kafka.value_format``, the registry's schemas looked up once each."""

    def __init__(self, settings: Settings) -> None:
        self._format: ValueFormat = VALUE_FORMATS[settings.kafka.value_format]
        self._registry_settings = settings.schema_registry
        self._registry: Any = None
        self._schemas: dict[int, Any] = {}

    def observation(self, msg: Message, topic: str, partition: int, offset: int) -> Observation:
        where = f"{topic}[{partition}] offset {offset}"
        record = self._record(msg.value(), where)
        observation = record_observation(record, NAME, where)
        stamp = msg.timestamp()[1]
        return observation._replace(arrival_ms=stamp if stamp > 0 else observation.ts_ms)

    def _record(self, value: bytes | None, where: str) -> dict[str, Any]:
        fmt = self._format
        if not value:
            raise at(NAME, where, "no value")
        body = value
        schema: Any = None
        if fmt.registry_type is not None:
            if len(value) < 5 or value[0] != 0:
                raise at(NAME, where, f"not Confluent's wire format (kafka.value_format = {fmt.name!r})")
            schema = self._schema(int.from_bytes(value[1:5], "big"))
            body = value[5 + len(fmt.index) :]
        record: object
        try:
            if fmt.decode is not None:
                record = fmt.decode("payment", body)
            else:
                record = fastavro.schemaless_reader(io.BytesIO(body), schema, None)
        except Exception as exc:  # each format's decoder raises its own kinds on a garbled body
            raise at(NAME, where, f"not a {fmt.name} payment: {type(exc).__name__}: {exc}") from None
        if not isinstance(record, dict):
            raise at(NAME, where, f"not a {fmt.name} record")
        return record

    def _schema(self, schema_id: int) -> Any:
        if schema_id not in self._schemas:
            self._schemas[schema_id] = self._fetch(schema_id)
        return self._schemas[schema_id]

    def _fetch(self, schema_id: int) -> Any:
        registry = self._registry_settings
        try:
            if self._registry is None:
                self._registry = registry_client(registry)
            client = self._registry
            text = call_registry(registry, lambda: str(client.get_schema(schema_id).schema_str))
        except (ConfigError, RegistryUnreachable) as exc:
            raise at(NAME, None, str(exc)) from None
        except SchemaRegistryError as exc:
            raise at(NAME, None, f"schema {schema_id}: {describe_registry_error(exc)}") from None
        if self._format.decode is not None:
            return None  # the format decodes its own bodies: the id only had to be the registry's
        try:
            return fastavro.parse_schema(json.loads(text))
        except Exception as exc:
            raise at(NAME, None, f"schema {schema_id} is not Avro: {type(exc).__name__}") from None
