"""Kafka sink: one ``confluent_kafka.Producer``, Confluent Schema Registry wire format.

Everything here runs on the I/O thread, which owns the producer. Start-up checks come
first and fail with one clear line before any event is produced: the cluster answers
(and accepts the credentials), the topics exist or are created, the schemas register.
Values are framed as magic byte 0, the 4-byte schema id, then the Avro body; the id is
looked up once per topic at start, never per message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay import serde
from synthpay.config import KafkaSettings, RegistrySettings
from synthpay.entities import ID_HEAD, Payment
from synthpay.events import Event, Topic
from synthpay.sinks.base import SinkContext, SinkError

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
#: linger.ms by clock. A backfill wants big batches: at 50 ms the broker (sharing the machine
#: in tests) spent 2.5 times the CPU per event it spends at 500 (the original used 1000;
#: flush() does not wait for it). In real time, 500 ms is that much delivery latency and
#: half a second of events buffered: with 100,000 payments in flight, 50 ms took peak RSS
#: from about 155 to 117-140 MiB.
LINGER_MS = {"virtual": "500", "real": "50"}
_CONNECT_TIMEOUT_S = 15.0
_ANY_PARTITION = -1  # RD_KAFKA_PARTITION_UA: librdkafka's partitioner picks by key
_BUFFER_FULL_WAIT_S = 0.05
# How a message purged after an incomplete final flush is reported: its fate is unknown.
_PURGED = {KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT}
# Errors that mean this run cannot succeed, though librdkafka would keep retrying them.
_HOPELESS = {
    KafkaError._AUTHENTICATION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError._INVALID_ARG,
}


def connection_config(kafka: KafkaSettings) -> dict[str, str]:
    """Client settings shared by the producer and the admin client.

    The original generator defaulted to SASL_SSL + PLAIN; synthpay does so when a username
    is given and otherwise speaks PLAINTEXT, which is what a local broker expects.
    """
    conf = {"bootstrap.servers": kafka.bootstrap_servers, "client.id": kafka.client_id}
    protocol = kafka.security_protocol or ("SASL_SSL" if kafka.sasl_username else "PLAINTEXT")
    conf["security.protocol"] = protocol
    if protocol.startswith("SASL"):
        conf["sasl.mechanisms"] = kafka.sasl_mechanisms
        conf["sasl.username"] = kafka.sasl_username
        conf["sasl.password"] = kafka.sasl_password.value
    if kafka.ssl_ca_location:
        conf["ssl.ca.location"] = kafka.ssl_ca_location
    # Connection-level overrides (e.g. ssl.* or sasl.oauthbearer.*) apply to the admin client too.
    conf.update({k: v for k, v in kafka.config.items() if k.startswith(("ssl.", "sasl.", "socket."))})
    return conf


def registry_client(registry: RegistrySettings) -> SchemaRegistryClient:
    """A schema registry client with basic auth when an API key is set."""
    # A timeout: the client waits forever by default, and a stuck registry must not hang start-up.
    conf: dict[str, Any] = {"url": registry.url, "timeout": 10}
    if registry.api_key:
        conf["basic.auth.user.info"] = f"{registry.api_key}:{registry.api_secret.value}"
    return SchemaRegistryClient(conf)


class _LibrdkafkaLog:
    """Routes librdkafka's own log lines into the structured log instead of raw stderr."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def log(self, level: int, fmt: str, *args: object) -> None:
        method = "error" if level >= 40 else "warning" if level >= 30 else "info" if level >= 20 else "debug"
        getattr(self._log, method)("librdkafka", message=fmt % args if args else fmt)


def describe_error(err: Any) -> str:
    """One line for a KafkaError or KafkaException: librdkafka's text and the error's name."""
    if isinstance(err, KafkaException) and err.args and isinstance(err.args[0], KafkaError):
        err = err.args[0]
    if isinstance(err, KafkaError):
        return f"{err.str()} ({err.name()})"
    return str(err)


class KafkaSink:
    """Produces every event to its topic and keeps the ledger's delivery accounting.

    librdkafka reports only failures (``delivery.report.only.error``): a Python callback per
    delivered message cost 0.5 µs of the I/O thread's 4, and serving a burst of them
    held the engine up for tens of milliseconds in real time. Every message is reported
    exactly once, so what was produced and is neither failed nor pending was delivered
    (``Ledger.settle``): the total never runs ahead of the truth, and every topic's count
    is exact whenever nothing is pending, as at the end of a run, where messages left
    after the final flush are purged and so reported per topic.
    """

    def __init__(self, ctx: SinkContext) -> None:
        self._ctx = ctx
        self._log = ctx.log
        kafka = ctx.settings.kafka
        self._where = kafka.bootstrap_servers
        conf = connection_config(kafka)
        self._fatal: str | None = None
        self._last_error = ""
        self._check_cluster(conf)
        self._ensure_topics(conf, ctx.topics)
        framing = self._register_schemas(ctx.topics)
        run_id = ctx.run_id.encode()
        # Per topic: what goes in front of a value (the framing, and on payment topics the
        # id's Avro length as well), the pre-encoded status, the headers.
        self._plans: dict[str, tuple[bytes, bytes, list[tuple[str, str | bytes | None]]]] = {
            t.name: (framing[t.name] + (ID_HEAD if t.schema == "payment" else b""), t.status_avro,
                     [("status", t.status.encode()), ("run_id", run_id)] if t.status else [("run_id", run_id)])
            for t in ctx.topics
        }
        # With [[phases]], a payment event's headers also name the phase it started in
        # ("" outside every phase): per topic, the headers for each phase.
        phases = ("", *(p.name for p in ctx.settings.phases)) if ctx.settings.phases else ()
        self._phase_headers: dict[str, dict[str, list[tuple[str, str | bytes | None]]]] = {
            t.name: {phase: [*self._plans[t.name][2], ("phase", phase.encode())] for phase in phases}
            for t in ctx.topics if t.status and phases
        }
        producer_conf: dict[str, Any] = {
            **PRODUCER_DEFAULTS, "linger.ms": LINGER_MS[ctx.settings.run.clock], **conf, **kafka.config
        }
        producer_conf["error_cb"] = self._on_error
        producer_conf["on_delivery"] = self._on_delivery
        producer_conf["delivery.report.only.error"] = True  # the accounting depends on it
        producer_conf["logger"] = _LibrdkafkaLog(self._log)
        # Messages purged after an incomplete final flush, per topic: their fate is unknown.
        self._purged = dict.fromkeys((t.name for t in ctx.topics), 0)
        try:
            self._producer = Producer(producer_conf)
        except (KafkaException, TypeError, ValueError) as exc:
            # Settings the Python client handles itself raise TypeError/ValueError, not KafkaException.
            raise SinkError(f"kafka: invalid producer setting: {describe_error(exc)}") from None
        self._log.info("kafka_sink_open", bootstrap=self._where, topics=len(ctx.topics),
                       registry=ctx.settings.schema_registry.url)

    # -- start-up checks

    def _check_cluster(self, conf: dict[str, str]) -> None:
        """Fail fast on bad credentials; give an unreachable cluster the connect timeout."""
        admin_conf: dict[str, Any] = {**conf, "error_cb": self._on_error, "logger": _LibrdkafkaLog(self._log)}
        admin = AdminClient(admin_conf)
        deadline = time.monotonic() + _CONNECT_TIMEOUT_S
        while True:
            try:
                admin.list_topics(timeout=1.0)
                break
            except KafkaException as exc:
                admin.poll(0)  # serves error_cb, which is where authentication failures show up
                if self._fatal or time.monotonic() >= deadline:
                    reason = self._fatal or self._last_error or describe_error(exc)
                    raise SinkError(f"kafka: cannot use the cluster at {self._where}: {reason}") from None
        admin.poll(0)
        if self._fatal:
            raise SinkError(f"kafka: cannot use the cluster at {self._where}: {self._fatal}")

    def _ensure_topics(self, conf: dict[str, str], topics: Sequence[Topic]) -> None:
        admin_conf: dict[str, Any] = {**conf, "logger": _LibrdkafkaLog(self._log)}
        admin = AdminClient(admin_conf)
        existing = set(admin.list_topics(timeout=_CONNECT_TIMEOUT_S).topics)
        replication = self._ctx.settings.kafka.replication_factor
        wanted = [
            NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication,
                     config={"cleanup.policy": "compact"} if t.compacted else {})
            for t in topics if t.name not in existing
        ]
        if not wanted:
            return
        denied = []
        for name, future in admin.create_topics(wanted, request_timeout=_CONNECT_TIMEOUT_S).items():
            try:
                future.result()
                self._log.info("topic_created", topic=name)
            except KafkaException as exc:
                code = exc.args[0].code() if exc.args and isinstance(exc.args[0], KafkaError) else None
                if code == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
                    denied.append(name)
                    continue
                raise SinkError(f"kafka: cannot create topic {name!r}: {describe_error(exc)}") from None
        if denied:
            self._log.warning("topic_create_denied", topics=denied,
                              detail="no permission to create topics; carrying on if they exist")
            present = set(admin.list_topics(timeout=_CONNECT_TIMEOUT_S).topics)
            missing = [n for n in denied if n not in present]
            if missing:
                raise SinkError(
                    f"kafka: no permission to create topics and they do not exist: {', '.join(missing)}; "
                    "create them or grant CREATE on the cluster"
                )

    def _register_schemas(self, topics: Sequence[Topic]) -> dict[str, bytes]:
        registry = self._ctx.settings.schema_registry
        client = registry_client(registry)
        framing: dict[str, bytes] = {}
        for topic in topics:
            subject = f"{topic.name}-value"  # TopicNameStrategy
            # Read outside the try: a schema file missing from a broken install is not the registry's fault.
            schema = Schema(serde.schema_text(topic.schema), "AVRO")
            try:
                schema_id = client.register_schema(subject, schema)
            except SchemaRegistryError as exc:
                raise SinkError(
                    f"schema registry at {registry.url} rejected {subject!r}: "
                    f"{exc.error_message} (HTTP {exc.http_status_code}, code {exc.error_code})"
                ) from None
            except Exception as exc:  # requests/httpx raise many kinds; the user needs one line
                raise SinkError(f"schema registry at {registry.url} unreachable: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
            framing[topic.name] = b"\x00" + schema_id.to_bytes(4, "big")
            self._log.info("schema_registered", subject=subject, schema_id=schema_id)
        return framing

    # -- callbacks (served inside poll/flush, on this thread)

    def _on_error(self, err: KafkaError) -> None:
        text = describe_error(err)
        if err.fatal() or err.code() in _HOPELESS:
            self._fatal = self._fatal or text
        if text != self._last_error:  # librdkafka repeats itself while a broker is down
            self._log.warning("kafka_error", error=text, fatal=err.fatal())
        self._last_error = text

    def _on_delivery(self, err: KafkaError, msg: Any) -> None:
        """Called for failures only (delivery.report.only.error)."""
        topic = msg.topic()
        if err.code() in _PURGED:
            self._purged[topic] += 1
            return
        self._ctx.ledger.failed[topic] += 1
        text = describe_error(err)
        if text != self._last_error:
            self._log.error("delivery_failed", topic=topic, error=text)
            self._last_error = text

    # -- Sink

    def write(self, batch: Sequence[Event]) -> None:
        # The hot loop of a Kafka run, shaped by measurement: everything per topic is looked
        # up once per event; a payment's value is framed and encoded in one join (a third
        # less time than framing the result of Event.avro()); and produce() is called with
        # positional arguments, in the order of its C signature (topic, value, key,
        # partition, callback, on_delivery, timestamp, headers), because parsing keywords
        # took 0.4 of its 1.4 µs. test_kafka checks the timestamps, headers and key
        # partitioning a consumer sees, so a client that changed this order would fail it.
        produce, plans, encode = self._producer.produce, self._plans, serde.encode_payment_event
        produced, phase_headers = self._ctx.ledger.produced, self._phase_headers
        for topic, ts_ms, entity in batch:
            name = topic.name
            head, status, headers = plans[name]
            if isinstance(entity, Payment):
                key = entity.kafka_key
                value = encode(head, key, entity.avro_tail, status, ts_ms)
                if phase_headers:
                    headers = phase_headers[name][topic.phase]
            else:
                value = head + entity.avro(topic, ts_ms)
                key = entity.kafka_key
            while True:
                try:
                    produce(name, value, key, _ANY_PARTITION, None, None, ts_ms, headers)
                    break
                except BufferError:
                    # The local queue is full: serve delivery reports and retry the same
                    # message. Waiting here is the backpressure that reaches the engine,
                    # unless a stopping run's time is up: then the rest stays unproduced
                    # (and is reported as undelivered).
                    self._producer.poll(_BUFFER_FULL_WAIT_S)
                    self._raise_if_fatal()
                    self._ctx.heartbeat()
                    if self._ctx.stop.passed():
                        self._log.error("produce_abandoned", detail="the stop deadline passed with the "
                                        "producer queue full", reason=self._last_error)
                        return
            produced[name] += 1

    def poll(self) -> None:
        self._producer.poll(0)
        self._settle()
        self._raise_if_fatal()

    def flush(self, timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        remaining: int = len(self._producer)
        while remaining and time.monotonic() < deadline and not self._fatal:
            remaining = self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
            self._ctx.heartbeat()
        if remaining:
            # Report what is left per topic before the producer goes: a purged message
            # fails with a purge error, counted as undelivered (it may have reached the
            # broker, but nobody will hear of it).
            self._producer.purge()
            self._producer.poll(0)
            remaining = sum(self._purged.values()) + len(self._producer)
            self._log.error("flush_incomplete", undelivered=remaining, timeout_s=timeout_s,
                            reason=self._fatal or self._last_error)
        self._settle()
        return remaining

    def _settle(self) -> None:
        self._ctx.ledger.settle(len(self._producer), self._purged)

    def close(self) -> None:
        pass

    def _raise_if_fatal(self) -> None:
        if self._fatal:
            raise SinkError(f"kafka: {self._fatal}")
