"""Kafka sink: one ``confluent_kafka.Producer``, Confluent Schema Registry wire format.

Everything here runs on the I/O thread, which owns the producer. Start-up checks come
first and fail with one clear line before any event is produced: the cluster answers
(and accepts the credentials), the topics exist or are created, the schemas register.
Values are framed as magic byte 0, the 4-byte schema id, then the body in the
``kafka.value_format`` (:mod:`synthpay.formats.values`); the id is looked up once per topic
at start, never per message.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay.config.clocks import profile
from synthpay.config.errors import ConfigError
from synthpay.config.settings import KafkaSettings, RegistrySettings, Settings
from synthpay.formats.values import AVRO, VALUE_FORMATS, Encode, ValueFormat
from synthpay.model import serde
from synthpay.model.entities import ID_HEAD, Payment
from synthpay.model.events import ANOMALY, Event, Labels, Topic
from synthpay.model.span import EventSpan
from synthpay.sinks import topic_rules
from synthpay.sinks.base import SinkContext, SinkError, SinkRefused
from synthpay.sinks.kafka_client import (
    CONNECT_TIMEOUT_S,
    ClusterError,
    ErrorWatch,
    ForeignAnswer,
    RegistryUnreachable,
    call_registry,
    connection_config,
    describe_error,
    describe_registry_error,
    error_code,
    make_client,
    registry_client,
    wait_for_cluster,
)

#: Producer defaults; any of them can be overridden from [kafka.config].
PRODUCER_DEFAULTS: Mapping[str, str] = {
    "enable.idempotence": "true",  # acks=all, no duplicates, order kept per partition
    "compression.type": "lz4",
    "batch.num.messages": "10000",
    "batch.size": "1000000",
    "queue.buffering.max.messages": "500000",
    "queue.buffering.max.kbytes": "1048576",
    "message.timeout.ms": "300000",
}
_ANY_PARTITION = -1  # RD_KAFKA_PARTITION_UA: librdkafka's partitioner picks by key
_BUFFER_FULL_WAIT_S = 0.05
# How a message purged after an incomplete final flush is reported: its fate is unknown.
_PURGED = {KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT}
#: Topic creation errors that mean a setting is wrong, not that the cluster is in trouble.
_REFUSED_TOPIC = {
    KafkaError.INVALID_PARTITIONS,
    KafkaError.INVALID_REPLICATION_FACTOR,
    KafkaError.INVALID_REPLICA_ASSIGNMENT,
    KafkaError.TOPIC_EXCEPTION,
    KafkaError.INVALID_CONFIG,
    KafkaError.INVALID_REQUEST,
    KafkaError.POLICY_VIOLATION,
}
#: Delivery errors of records the broker refuses, here for their timestamps: the offending
#: record, then every other record of its batch.
_REFUSED_RECORD = {KafkaError.INVALID_TIMESTAMP, KafkaError.INVALID_RECORD, KafkaError._INVALID_DIFFERENT_RECORD}
#: The registry's answer to a schema its subject's compatibility rules refuse.
_INCOMPATIBLE = 409
#: After a refusal, how long the records already sent get to report their fate.
_REFUSED_FLUSH_S = 5.0


def producer_config(kafka: KafkaSettings, linger_ms: int) -> dict[str, str]:
    """The producer's librdkafka settings: the defaults, the connection, then [kafka.config] over them."""
    return {**PRODUCER_DEFAULTS, "linger.ms": str(linger_ms), **connection_config(kafka), **kafka.config}


def check_producer_config(settings: Settings, origins: Mapping[str, str]) -> None:
    """librdkafka's own check of the producer's settings, without touching the cluster.

    librdkafka checks every property and value when a client is made; with no
    ``bootstrap.servers`` it has no broker to connect to, so the producer is made (a few
    ms, no socket but its own wake-up pair) and dropped at once. A ConfigError names the
    setting refused and where it came from, before a run has started anything.
    """
    conf: dict[str, Any] = producer_config(settings.kafka, profile(settings.run.clock).linger_ms)
    del conf["bootstrap.servers"]
    # Its warnings (no bootstrap.servers, a consumer's property) go to a log nobody reads:
    # librdkafka hands a logger its lines only when the client is polled, and this one never is.
    unread = logging.Logger("synthpay.kafka.check")  # outside logging's tree: no handler of the program's
    unread.addHandler(logging.NullHandler())
    conf["logger"] = unread
    make_client(Producer, conf, settings.kafka, origins)


def _linger_ms(settings: Settings, span: EventSpan | None) -> int:
    """The clock's linger, or the real clock's for a backfill that goes on live.

    librdkafka takes linger.ms once, for the whole run. A backfill's batches fill up before
    a short linger is over, so the throughput it gives up is small; an endless live part
    would carry a long linger as delivery latency for as long as it runs.
    """
    live = span is not None and span.live_from_ms is not None and settings.run.mode == "continuous"
    return profile("real" if live else settings.run.clock).linger_ms


def _headers(labels: Labels, topic: Topic, phase: str | None = None) -> list[tuple[str, str | bytes | None]]:
    """The headers of every record on ``topic`` (in ``phase``), encoded once."""
    return [(name, value.encode()) for name, value in labels.of_topic(topic, phase)]


def _topic_config_blamed(code: int | None, text: str, topic_config: Mapping[str, str]) -> str | None:
    """The kafka.topic_config entry behind a refused topic: the one the broker names (the
    longest that matches), or the whole table for an invalid config it does not name; None
    when the refusal is not about it."""
    named = [key for key in topic_config if key in text]
    if named:
        return f"kafka.topic_config.{max(named, key=len)}"
    return "kafka.topic_config" if code == KafkaError.INVALID_CONFIG and topic_config else None


def _topic_setting(topic: Topic, code: int, replication: int) -> str:
    """The setting (and its value) behind a topic the broker refuses to create."""
    prefix = f"statuses.{topic.status}." if topic.status else "entities.banks_"
    if code in (KafkaError.INVALID_REPLICATION_FACTOR, KafkaError.INVALID_REPLICA_ASSIGNMENT):
        return f"kafka.replication_factor = {replication}"
    if topic.schema == "ground_truth":  # named after the prefix, as partitioned as the widest status topic
        return (
            f"kafka.topic_prefix (ground-truth topic {topic.name!r})"
            if code == KafkaError.TOPIC_EXCEPTION
            else f"statuses.*.partitions (ground-truth topic {topic.name!r}, {topic.partitions} partitions)"
        )
    if code == KafkaError.TOPIC_EXCEPTION:
        return f"{prefix}topic = {topic.name!r}"
    return f"{prefix}partitions = {topic.partitions}"


def _refusal(
    client: SchemaRegistryClient, registry: RegistrySettings, subject: str, fmt: ValueFormat, exc: SchemaRegistryError
) -> str | None:
    """The line for a schema ``subject`` will not take beside what it holds; None for any other refusal.

    A registry answers 409 for a schema the subject's compatibility rules refuse; asked for a
    schema of another type than the subject holds, Apicurio fails comparing the two (HTTP 500)
    instead. Either way, what the subject holds tells the user what to change.
    """
    try:
        latest = call_registry(registry, functools.partial(client.get_latest_version, subject))
    except (SchemaRegistryError, RegistryUnreachable, ConfigError):  # the registry's first answer is the news
        latest = None
    held_type = (latest.schema.schema_type or "AVRO") if latest is not None else None
    if exc.http_status_code != _INCOMPATIBLE and (held_type is None or held_type == fmt.registry_type):
        return None
    held = f"{held_type} schema version {latest.version}" if latest is not None else "a schema"
    return (
        f"schema registry at {registry.url}: subject {subject!r} holds {held}, and the registry will not add "
        f"the {fmt.registry_type} schema of kafka.value_format = {fmt.name!r} to it: write to other topics "
        "(another kafka.topic_prefix) or change the registry's compatibility setting for the subject"
    )


def _register(client: SchemaRegistryClient, subject: str, schema: Schema) -> int:
    schema_id = client.register_schema(subject, schema)
    if not isinstance(schema_id, int) or not 0 <= schema_id < 1 << 32:
        raise ForeignAnswer("no schema id")  # an answer that only looks like the registry's
    return schema_id


class _LibrdkafkaLog:
    """Routes librdkafka's own log lines into the structured log instead of raw stderr."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def log(self, level: int, fmt: str, *args: object) -> None:
        method = "error" if level >= 40 else "warning" if level >= 30 else "info" if level >= 20 else "debug"
        getattr(self._log, method)("librdkafka", message=fmt % args if args else fmt)


class KafkaSink:
    """Produces every event to its topic and keeps the ledger's delivery accounting.

    librdkafka reports only failures (``delivery.report.only.error``): a Python callback per
    delivered message is a large share of the I/O thread's cost per event, and serving a
    burst of them held the engine up in real time (docs/explanation/performance.md: no
    callback per delivered message, at the price of counting deliveries by subtraction).
    Every message is reported exactly once, so what was produced and is neither failed nor
    pending was delivered (``Ledger.settle``): the total never runs ahead of the truth, and
    every topic's count is exact whenever nothing is pending, as at the end of a run, where
    messages left after the final flush are purged and so reported per topic.
    """

    def __init__(self, ctx: SinkContext) -> None:
        self._ctx = ctx
        self._log = ctx.log
        kafka = ctx.settings.kafka
        self._where = kafka.bootstrap_servers
        conf = connection_config(kafka)
        self._errors = ErrorWatch(self._log)
        producer_conf: dict[str, Any] = producer_config(kafka, _linger_ms(ctx.settings, ctx.span))
        producer_conf["error_cb"] = self._errors
        producer_conf["on_delivery"] = self._on_delivery
        producer_conf["delivery.report.only.error"] = True  # the accounting depends on it
        producer_conf["logger"] = _LibrdkafkaLog(self._log)
        # Messages purged after an incomplete final flush, per topic: their fate is unknown.
        self._purged = dict.fromkeys((t.name for t in ctx.topics), 0)
        # Each topic's rules as read at start, the latest event time handed to the producer
        # (a delivery report carries no timestamp) and the first record the broker refused:
        # (topic, error), for the words of a refusal.
        self._rules: dict[str, topic_rules.TopicRules] = {}
        self._latest_ms = ctx.span.first_ms if ctx.span is not None else 0
        self._refused: tuple[str, KafkaError] | None = None
        # Made first: librdkafka checks every setting here, before the cluster is touched.
        self._producer = make_client(Producer, producer_conf, kafka)
        admin = make_client(AdminClient, {**conf, "error_cb": self._errors, "logger": _LibrdkafkaLog(self._log)}, kafka)
        try:
            wait_for_cluster(admin, self._errors, self._where)
            self._ensure_topics(admin, ctx.topics)
        except ClusterError as exc:
            raise SinkError(f"kafka: {exc}") from None
        self._format = VALUE_FORMATS[kafka.value_format]
        framing = self._register_schemas(ctx.topics, self._format)
        labels = ctx.labels
        # Per topic: what goes in front of a value (the framing, and on an Avro payment topic
        # the id's Avro length as well), the pre-encoded status (b"" on the banks topic), the
        # headers. An event's labels (Labels.of) are written as headers from these lists,
        # made once: the status is the topic's, the phase one of a few.
        avro = self._format is AVRO
        self._plans: dict[str, tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]] = {
            t.name: (
                framing[t.name] + (ID_HEAD if avro and t.schema == "payment" else b""),
                t.status_avro,
                _headers(labels, t),
            )
            for t in ctx.topics
        }
        # Every value the Avro loop does not encode itself (a bank's, and all of another format's).
        self._encoders: dict[str, Encode] = {t.name: self._format.encoder(t) for t in ctx.topics}
        # With [[phases]], a payment event's headers also name the phase it started in
        # ("" outside every phase): per topic, the headers for each phase.
        phases = ("", *(p.name for p in ctx.settings.phases)) if labels.phased else ()
        self._phase_headers: dict[str, dict[str, list[tuple[str, str | bytes | None]]]] = {
            t.name: {phase: _headers(labels, t, phase) for phase in phases}
            for t in ctx.topics
            if not t.compacted and phases
        }
        # With anomalies (for the run or in any phase), an injected record also carries the
        # anomaly header, and so does each record of the ground-truth topic.
        self._labelled = labels.anomalies
        self._framing = framing
        registry = ctx.settings.schema_registry.url if self._format.registry_type else None
        self._log.info(
            "kafka_sink_open",
            bootstrap=self._where,
            topics=len(ctx.topics),
            value_format=self._format.name,
            registry=registry,
        )

    # -- start-up checks

    def _topic_names(self, admin: AdminClient) -> set[str]:
        try:
            return set(admin.list_topics(timeout=CONNECT_TIMEOUT_S).topics)
        except KafkaException as exc:
            raise ClusterError(
                f"cannot use the cluster at {self._where}: {self._errors.fatal or describe_error(exc)}"
            ) from None

    def _ensure_topics(self, admin: AdminClient, topics: Sequence[Topic]) -> None:
        existing = self._topic_names(admin)
        replication = self._ctx.settings.kafka.replication_factor
        missing = {t.name: t for t in topics if t.name not in existing}
        configs = self._check_rules(admin, [t.name for t in topics if t.name in existing], missing)
        if not missing:
            return
        # One request per topic: the broker judges some limits per request (partitions
        # created at once), and a refusal must name the topic that caused it.
        futures = {}
        for t in missing.values():
            try:
                wanted = NewTopic(
                    t.name,
                    num_partitions=t.partitions,
                    replication_factor=replication,
                    config=configs[t.name],
                )
            except (KafkaException, TypeError, ValueError, OverflowError) as exc:
                raise ConfigError(
                    f"{_topic_setting(t, KafkaError.INVALID_PARTITIONS, replication)}: "
                    f"not a topic Kafka can create: {describe_error(exc)}"
                ) from None
            futures.update(admin.create_topics([wanted], request_timeout=CONNECT_TIMEOUT_S))
        denied = []
        for name, future in futures.items():
            try:
                future.result()
                self._log.info("topic_created", topic=name)
            except KafkaException as exc:
                code = error_code(exc)
                if code == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
                    denied.append(name)
                    continue
                blamed = _topic_config_blamed(code, describe_error(exc), self._ctx.settings.kafka.topic_config)
                if blamed is not None and code in _REFUSED_TOPIC:
                    raise ConfigError(
                        f"{blamed}: the broker refused it creating topic {name!r}: {describe_error(exc)}"
                    ) from None
                if code is not None and code in _REFUSED_TOPIC:
                    raise ConfigError(
                        f"{_topic_setting(missing[name], code, replication)}: the broker refused to "
                        f"create topic {name!r}: {describe_error(exc)}"
                    ) from None
                raise SinkError(f"kafka: cannot create topic {name!r}: {describe_error(exc)}") from None
        if denied:
            self._log.warning(
                "topic_create_denied", topics=denied, detail="no permission to create topics; carrying on if they exist"
            )
            present = self._topic_names(admin)
            absent = [n for n in denied if n not in present]
            if absent:
                raise SinkError(
                    f"kafka: no permission to create topics and they do not exist: {', '.join(absent)}; "
                    "create them or grant CREATE on the cluster"
                )

    def _check_rules(
        self, admin: AdminClient, present: Sequence[str], missing: Mapping[str, Topic]
    ) -> dict[str, dict[str, str]]:
        """Refuse a run whose records the topics would delete or refuse; the configs to create each missing topic with.

        Existing topics keep their rules. A topic synthpay creates gets [kafka.topic_config]
        over the broker's defaults, and, while its retention is left to the broker, one long
        enough to keep the run's oldest records as long after the run as the default would.
        """
        settings, span = self._ctx.settings, self._ctx.span
        overrides = settings.kafka.topic_config
        configs = {
            name: {**({topic_rules.CLEANUP: "compact"} if t.compacted else {}), **overrides}
            for name, t in missing.items()
        }
        try:
            self._rules = topic_rules.read_topics(admin, list(present), CONNECT_TIMEOUT_S)
            defaults = topic_rules.read_broker(admin, CONNECT_TIMEOUT_S) if missing else None
        except KafkaException as exc:
            self._log.warning(
                "topic_rules_unread", error=describe_error(exc), detail="not checking retention and timestamp limits"
            )
            return configs
        now = round(time.time() * 1000)
        chosen: int | None = None
        for name, config in configs.items():
            assert defaults is not None  # read whenever a topic is missing
            rules = topic_rules.with_overrides(defaults, config)
            if span is not None and topic_rules.RETENTION not in overrides:
                kept = topic_rules.keeping_retention(rules.retention_ms, span, now)
                if kept is not None:
                    config[topic_rules.RETENTION] = str(chosen := kept)
                    rules = dataclasses.replace(rules, retention_ms=kept)
            self._rules[name] = rules
        if chosen is not None and span is not None and defaults is not None:
            self._log.info(
                "topic_retention",
                retention_ms=chosen,
                detail=f"the run's oldest event is {topic_rules.human_ms(topic_rules.history_ms(span, now))} old, "
                f"beyond the broker's default retention.ms ({topic_rules.human_ms(defaults.retention_ms or 0)}): "
                "new topics keep it that long after the run; [kafka.topic_config] retention.ms overrides this",
            )
        stamped = sorted(name for name, rules in self._rules.items() if rules.append_time)
        if stamped:
            self._log.warning(
                "log_append_time",
                topics=stamped,
                detail="message.timestamp.type = LogAppendTime: record timestamps will be append times, "
                "not event times",
            )
        if span is not None:
            found = [(name, b) for name, rules in self._rules.items() for b in topic_rules.breaches(rules, span, now)]
            if found:
                name, breach = found[0]
                fix = topic_rules.fix(name, breach, name in missing, settings)
                more = len({n for n, _ in found}) - 1
                also = f" (and {more} more topics)" if more else ""
                raise SinkRefused(topic_rules.refusal(name, breach, span, now, fix) + also)
        return configs

    def _register_schemas(self, topics: Sequence[Topic], fmt: ValueFormat) -> dict[str, bytes]:
        """What goes in front of each topic's values: the wire format's framing, or nothing."""
        if fmt.registry_type is None:
            return {topic.name: b"" for topic in topics}
        registry = self._ctx.settings.schema_registry
        client = registry_client(registry)
        framing: dict[str, bytes] = {}
        for topic in topics:
            subject = f"{topic.name}-value"  # TopicNameStrategy
            # Read outside the try: a schema file missing from a broken install is not the registry's fault.
            schema = Schema(fmt.schema(topic.schema), fmt.registry_type)
            try:
                schema_id = call_registry(registry, functools.partial(_register, client, subject, schema))
            except SchemaRegistryError as exc:
                refused = _refusal(client, registry, subject, fmt, exc)
                if refused is not None:
                    raise SinkRefused(refused) from None
                raise SinkError(
                    f"schema registry at {registry.url} rejected {subject!r}: {describe_registry_error(exc)}"
                ) from None
            except RegistryUnreachable as exc:
                raise SinkError(str(exc)) from None
            framing[topic.name] = b"\x00" + schema_id.to_bytes(4, "big") + fmt.index
            self._log.info("schema_registered", subject=subject, schema_id=schema_id)
        return framing

    # -- callbacks (served inside poll/flush, on this thread)

    def _on_delivery(self, err: KafkaError, msg: Any) -> None:
        """Called for failures only (delivery.report.only.error)."""
        topic = msg.topic()
        if err.code() in _PURGED:
            self._purged[topic] += 1
            return
        self._ctx.ledger.failed[topic] += 1
        if err.code() in _REFUSED_RECORD:
            self._note_refused(topic, err)
            return
        text = describe_error(err)
        if text != self._errors.last:
            self._log.error("delivery_failed", topic=topic, error=text)
            self._errors.last = text

    def _note_refused(self, topic: str, err: KafkaError) -> None:
        """Keep the first refused record, preferring the one the broker named over the rest of its batch."""
        if self._refused is None or (
            self._refused[1].code() == KafkaError._INVALID_DIFFERENT_RECORD
            and err.code() != KafkaError._INVALID_DIFFERENT_RECORD
        ):
            self._refused = (topic, err)

    # -- Sink

    def write(self, batch: Sequence[Event]) -> None:
        # The hot loop of a Kafka run, shaped by measurement: everything per topic is looked
        # up once per event; a payment's value is framed and encoded in one join (cheaper
        # than framing the result of Event.avro()); and produce() is called with
        # positional arguments, in the order of its C signature (topic, value, key,
        # partition, callback, on_delivery, timestamp, headers), because parsing keywords
        # took a large part of its cost (docs/explanation/performance.md: positional
        # arguments in the C signature's order, at the price of depending on that order).
        # test_kafka checks the timestamps, headers and key partitioning a consumer sees,
        # so a client that changed this order would fail it.
        if batch:
            self._latest_ms = max(self._latest_ms, batch[-1][1])
        if self._format is not AVRO:
            self._write_encoded(batch)
            return
        produce, plans, encode = self._producer.produce, self._plans, serde.encode_payment_event
        produced, phase_headers, encoders = self._ctx.ledger.produced, self._phase_headers, self._encoders
        labelled = self._labelled
        for event in batch:
            topic, ts_ms, entity = event
            name = topic.name
            head, status, headers = plans[name]
            key = entity.kafka_key
            if isinstance(entity, Payment):
                # The labels are Event.phase and Event.anomaly, read where those properties
                # read them: a property call per record would cost more than isinstance.
                if phase_headers:
                    headers = phase_headers[name][topic.phase]
                if labelled and entity.anomaly:
                    # ts_ms is when it is emitted (the record timestamp); the value keeps the event's time.
                    value = self._framing[name] + entity.avro(topic, ts_ms)
                    headers = [*headers, (ANOMALY, entity.anomaly.encode())]
                else:
                    value = encode(head, key, entity.avro_tail, status, ts_ms)
            else:
                value = head + encoders[name](event)
            while True:
                try:
                    produce(name, value, key, _ANY_PARTITION, None, None, ts_ms, headers)
                    break
                except BufferError:
                    if not self._room_made():
                        return
            produced[name] += 1

    def _write_encoded(self, batch: Sequence[Event]) -> None:
        """The loop of every other value format: the value is the framing and the topic encoder's body."""
        produce, plans, encoders = self._producer.produce, self._plans, self._encoders
        produced, phase_headers, labelled = self._ctx.ledger.produced, self._phase_headers, self._labelled
        for event in batch:
            topic, ts_ms, entity = event
            name = topic.name
            head, _, headers = plans[name]
            if phase_headers and isinstance(entity, Payment):
                headers = phase_headers[name][topic.phase]
            if labelled and entity.anomaly:
                headers = [*headers, (ANOMALY, entity.anomaly.encode())]
            value = head + encoders[name](event)
            while True:
                try:
                    produce(name, value, entity.kafka_key, _ANY_PARTITION, None, None, ts_ms, headers)
                    break
                except BufferError:
                    if not self._room_made():
                        return
            produced[name] += 1

    def _room_made(self) -> bool:
        """The local queue is full: serve delivery reports until the same message may be retried.

        Waiting here is the backpressure that reaches the engine, unless a stopping run's time
        is up: then False, and the rest stays unproduced (and is reported as undelivered).
        """
        self._producer.poll(_BUFFER_FULL_WAIT_S)
        self._raise_if_fatal()
        self._ctx.heartbeat()
        if self._ctx.stop.passed():
            self._log.error(
                "produce_abandoned",
                detail="the stop deadline passed with the producer queue full",
                reason=self._errors.last,
            )
            return False
        return True

    def poll(self) -> None:
        self._producer.poll(0)
        self._settle()
        self._raise_if_fatal()

    def flush(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        remaining: int = len(self._producer)
        while remaining and time.monotonic() < deadline and not self._errors.fatal:
            remaining = self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
            self._ctx.heartbeat()
            if self._refused is not None:
                self._stop_refused(*self._refused)
        if remaining:
            # Report what is left per topic before the producer goes: a purged message
            # fails with a purge error, counted as undelivered (it may have reached the
            # broker, but nobody will hear of it).
            self._producer.purge()
            self._producer.poll(0)
            remaining = sum(self._purged.values()) + len(self._producer)
            self._log.error(
                "flush_incomplete",
                undelivered=remaining,
                timeout_s=timeout_s,
                reason=self._errors.fatal or self._errors.last,
            )
        self._settle()
        return remaining

    def _settle(self) -> None:
        self._ctx.ledger.settle(len(self._producer), self._purged)

    def close(self) -> None:
        pass

    def _raise_if_fatal(self) -> None:
        if self._errors.fatal:
            raise SinkError(f"kafka: {self._errors.fatal}")
        if self._refused is not None:
            self._stop_refused(*self._refused)

    def _stop_refused(self, topic: str, err: KafkaError) -> None:
        """The broker refuses records: stop at once, settle what was sent, and say which limit and what to change.

        What is still queued is purged (never sent: undelivered); what was sent gets a few
        seconds to report its fate, so the failed count is the broker's.
        """
        self._producer.purge(in_flight=False)
        self._producer.flush(_REFUSED_FLUSH_S)
        self._producer.poll(0)
        self._settle()
        raise SinkError(self._refused_line(topic, err))

    def _refused_line(self, topic: str, err: KafkaError) -> str:
        return topic_rules.refused_midway(
            topic,
            describe_error(err),
            self._rules.get(topic),
            self._ctx.span,
            self._latest_ms,
            round(time.time() * 1000),
            self._where,
        )
