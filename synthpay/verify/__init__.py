"""``synthpay verify``: read a run's topics back and check them against the run's summary.

The manifest is what ``synthpay run --summary-json`` wrote: the run id, what each topic
delivered and the run's plan (the topic of every status, every workflow's schedule with
exact offsets). Verify checks the run as it was configured, whatever the configuration
says today; only the connection settings come from the usual configuration layers.

It reads every partition from the beginning up to the high watermark it saw at start, so
a duplicate shows up as an extra record; it gives up when no record has arrived for
``timeout_s``. Records of other runs (the ``run_id`` header) are skipped. Memory is one
dict entry per payment: its 16-byte id and one int packing the ts of each status seen
(and, with phases or drawn delays, the payment's phase in one more slot).
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import fastavro
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay.config.settings import Settings
from synthpay.model.reports import AnomalyReport, HotBanks
from synthpay.model.timeline import Timeline
from synthpay.sinks.kafka_client import (
    CONNECT_TIMEOUT_S,
    ClusterError,
    ErrorWatch,
    RegistryUnreachable,
    call_registry,
    connection_config,
    describe_error,
    describe_registry_error,
    make_client,
    registry_client,
    wait_for_cluster,
)
from synthpay.summary.load import load_summary
from synthpay.verify import anomalies as anomaly_checks
from synthpay.verify import scenario as scenario_checks
from synthpay.verify.anomalies import AnomalyTally
from synthpay.verify.checks import SHOWN, Check, Offenders
from synthpay.verify.scenario import ScenarioPlan, ScenarioTally

#: Bits per status in a payment's packed timestamps (ts + 1; 0 means "not seen").
_SLOT_BITS = 64
_SLOT = (1 << _SLOT_BITS) - 1
_BATCH = 10_000


class VerifyError(Exception):
    """Verify cannot go on (an unreachable cluster or registry); one line for the user."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """One configured workflow: status indices in emission order and their offsets from the start."""

    label: str
    statuses: tuple[int, ...]
    offsets: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What verify needs from a run's summary."""

    run_id: str
    delivered: Mapping[str, int]  # per topic
    statuses: tuple[str, ...]  # a status's index is its slot in the packed timestamps
    status_of_topic: Mapping[str, int]
    banks_topic: str
    schedules: tuple[Schedule, ...]
    payments_started: int
    payments_cut: int
    scenario: ScenarioPlan | None = None  # phases or drawn delays: checked by scenario_checks
    anomalies: AnomalyReport | None = None  # [anomalies]: checked by anomaly_checks, with hot banks
    hot_banks: HotBanks | None = None
    first_status: int = 0  # the status whose records count each payment's source bank once
    anomaly_phases: Timeline | None = None  # phases with [anomalies]: their labelled records are counted per phase

    @property
    def labelled(self) -> bool:
        """Whether records are checked for anomaly labels and timestamps."""
        return self.anomalies is not None or self.hot_banks is not None


def load_manifest(path: str) -> Manifest:
    """The manifest of a ``--summary-json`` file; SummaryError names what is wrong with it."""
    summary = load_summary(path)
    plan = summary.plan
    statuses = tuple(plan.statuses)
    index = {name: i for i, name in enumerate(statuses)}
    return Manifest(
        run_id=summary.run_id,
        delivered={topic: counts["delivered"] for topic, counts in summary.topics.items()},
        statuses=statuses,
        status_of_topic={spec.topic: index[name] for name, spec in plan.statuses.items()},
        banks_topic=plan.banks_topic,
        schedules=tuple(
            Schedule(wf.label, tuple(index[s] for s, _ in wf.schedule), tuple(offset for _, offset in wf.schedule))
            for wf in plan.workflows
        ),
        payments_started=summary.payments_started,
        payments_cut=summary.payments_cut,
        scenario=scenario_checks.scenario_plan(summary, statuses),
        anomalies=summary.anomalies,
        hot_banks=plan.hot_banks,
        first_status=index[plan.workflows[0].steps[0]] if plan.workflows else 0,
        anomaly_phases=(
            Timeline(plan.phases, (), 1.0, 1, summary.first_event_ts_ms)
            if summary.anomalies and summary.anomalies.phases and summary.first_event_ts_ms is not None
            else None
        ),
    )


@dataclass(slots=True)
class _Tally:
    """Everything learnt while consuming; per payment only the packed timestamps."""

    consumed: Counter[str] = field(default_factory=Counter)
    other_runs: int = 0
    payments: dict[bytes, int] = field(default_factory=dict)
    duplicates: Offenders = field(default_factory=Offenders)
    bad_records: Offenders = field(default_factory=Offenders)
    banks: set[str] = field(default_factory=set)
    references: Counter[str] = field(default_factory=Counter)
    schemas: dict[int, Any] = field(default_factory=dict)  # id -> parsed schema, None if unresolved
    unresolved: dict[int, str] = field(default_factory=dict)  # id -> why
    consumer_errors: Offenders = field(default_factory=Offenders)
    unfinished: list[str] = field(default_factory=list)  # partitions not read to their end
    anomalies: AnomalyTally = field(default_factory=AnomalyTally)


def _payment_key(payment_id: str) -> bytes:
    """16 bytes for a UUID, the text otherwise: the compact dict key."""
    try:
        return bytes.fromhex(payment_id.replace("-", "")) if len(payment_id) == 36 else payment_id.encode()
    except ValueError:
        return payment_id.encode()


def _payment_id(key: bytes) -> str:
    return str(uuid.UUID(bytes=key)) if len(key) == 16 else key.decode(errors="replace")


class _Reader:
    """Decodes and tallies records; one instance per verification."""

    def __init__(self, manifest: Manifest, run_id: str, fetch_schema: Callable[[int], str]) -> None:
        self._manifest = manifest
        self._run_id = run_id.encode()
        self._fetch_schema = fetch_schema
        self.tally = _Tally()

    def record(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        run_id: str | bytes | None,
        phase: str | bytes | None = None,
        anomaly: str | bytes | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Tally one consumed record (skipped when its run_id header is another run's)."""
        if run_id != self._run_id:
            self.tally.other_runs += 1
            return
        tally = self.tally
        tally.consumed[topic] += 1
        decoded = self._decode(topic, value)
        if decoded is None:
            return
        where = f"{topic}: {key!r}"
        if key is None or key.decode(errors="replace") != decoded.get("id"):
            tally.bad_records.add(f"{where}: key is not the record's id")
            return
        if topic == self._manifest.banks_topic:
            tally.banks.add(decoded["id"])
        else:
            self._payment(topic, decoded, where, phase, anomaly, timestamp)

    def _decode(self, topic: str, value: bytes | None) -> dict[str, Any] | None:
        tally = self.tally
        if value is None or len(value) < 5 or value[0] != 0:
            tally.bad_records.add(f"{topic}: value not in the Confluent wire format")
            return None
        schema_id = int.from_bytes(value[1:5], "big")
        if schema_id not in tally.schemas:
            tally.schemas[schema_id] = self._resolve(schema_id)
        schema = tally.schemas[schema_id]
        if schema is None:
            tally.bad_records.add(f"{topic}: schema id {schema_id} does not resolve")
            return None
        try:
            decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)
        except Exception as exc:  # fastavro raises many kinds on a garbled body
            tally.bad_records.add(f"{topic}: undecodable with schema {schema_id}: {type(exc).__name__}")
            return None
        if not isinstance(decoded, dict):
            tally.bad_records.add(f"{topic}: schema {schema_id} is not a record schema")
            return None
        return decoded

    def _resolve(self, schema_id: int) -> Any:
        """The parsed schema, or None (and why) when the registry does not know the id; each id is tried once.

        A registry that does not answer, or refuses the credentials, ends the verification:
        every record would fail alike, and the report would blame the records.
        """
        try:
            text = self._fetch_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code in (401, 403):
                raise VerifyError(
                    f"verify: the schema registry refused the credentials: {describe_registry_error(exc)}"
                ) from None
            self.tally.unresolved[schema_id] = describe_registry_error(exc)
            return None
        try:
            return fastavro.parse_schema(json.loads(text))
        except Exception as exc:  # json and fastavro raise many kinds on a schema that is not Avro
            self.tally.unresolved[schema_id] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return None

    def _payment(
        self,
        topic: str,
        rec: dict[str, Any],
        where: str,
        phase: str | bytes | None,
        anomaly: str | bytes | None,
        timestamp: int | None,
    ) -> None:
        tally, manifest = self.tally, self._manifest
        status = manifest.status_of_topic.get(topic)
        if status is None or rec.get("status") != manifest.statuses[status]:
            tally.bad_records.add(f"{where}: status {rec.get('status')!r} does not belong on this topic")
            return
        ts = rec["ts"]
        if not 0 <= ts < _SLOT:
            tally.bad_records.add(f"{where}: ts {ts} out of range")
            return
        tally.references[rec["source"]] += 1
        tally.references[rec["destination"]] += 1
        key = _payment_key(rec["id"])
        if manifest.labelled:
            shown = f"{rec['id']} {manifest.statuses[status]}"
            kind = tally.anomalies.record(topic, anomaly, ts, timestamp, shown)
            if manifest.anomaly_phases is not None:
                tally.anomalies.record_phase(kind, phase, ts, manifest.anomaly_phases)
            if kind == "duplicate":
                tally.anomalies.copies.append((key, status, shown))
                return  # expected: not a second sighting of the event
            if status == manifest.first_status:
                tally.anomalies.sources[rec["source"]] += 1
        packed = tally.payments.get(key, 0)
        shift = status * _SLOT_BITS
        if (packed >> shift) & _SLOT:
            tally.duplicates.add(f"{rec['id']} {manifest.statuses[status]}")
            return
        packed |= (ts + 1) << shift
        if manifest.scenario is not None:
            # The phase header's index + 1 in the slot after the statuses': every event of a
            # payment must carry the same one.
            index = manifest.scenario.phase_index(phase)
            phase_shift = len(manifest.statuses) * _SLOT_BITS
            stored = (packed >> phase_shift) & _SLOT
            if index is None or (stored and stored != index + 1):
                tally.bad_records.add(f"{where}: phase header {phase!r} is no phase of the run, or not its payment's")
                return
            packed |= (index + 1) << phase_shift
        tally.payments[key] = packed


def _seen(packed: int, statuses: int) -> dict[int, int]:
    """Status index -> ts of each of the first ``statuses`` statuses a payment's packed int holds."""
    slots = ((i, (packed >> (i * _SLOT_BITS)) & _SLOT) for i in range(statuses))
    return {i: slot - 1 for i, slot in slots if slot}


def _classify(manifest: Manifest, packed: int) -> tuple[str, str]:
    """('complete', label) | ('cut', label) | ('timing', why) | ('workflow', why) for one payment."""
    seen = _seen(packed, len(manifest.statuses))
    mistimed = cut = ""
    for sched in manifest.schedules:
        prefix = len(seen)
        if set(sched.statuses[:prefix]) != set(seen):
            continue
        starts = {seen[s] - off for s, off in zip(sched.statuses[:prefix], sched.offsets)}
        if len(starts) != 1:
            mistimed = mistimed or f"timestamps do not follow {sched.label}"
        elif prefix == len(sched.statuses):
            return "complete", sched.label  # preferred over being the prefix of a longer workflow
        else:
            cut = cut or sched.label
    if cut:
        return "cut", cut
    if mistimed:
        return "timing", mistimed
    names = sorted(seen, key=lambda i: seen[i])
    return "workflow", "[" + " ".join(manifest.statuses[i] for i in names) + "] is no configured workflow"


def _scenario_checks(manifest: Manifest, plan: ScenarioPlan, tally: _Tally) -> list[Check]:
    """The workflow checks of a run with phases or drawn delays (offsets are not exact)."""
    scenario, kinds = ScenarioTally.empty(), Counter[str]()
    count = len(manifest.statuses)
    for key, packed in tally.payments.items():
        seen = _seen(packed, count)
        phase = max(0, ((packed >> (count * _SLOT_BITS)) & _SLOT) - 1)
        kinds[scenario_checks.classify(plan, scenario, _payment_id(key), phase, seen)] += 1
    payments = len(tally.payments)
    workflows_ok = (
        not kinds["broken"] and kinds["cut"] == manifest.payments_cut and payments == manifest.payments_started
    )
    return [
        Check(
            "workflows",
            workflows_ok,
            f"{payments} payments (manifest: {manifest.payments_started}): {kinds['complete']} whole, "
            f"{kinds['cut']} cut short (manifest: {manifest.payments_cut}), {kinds['broken']} no configured "
            "workflow in order",
            tuple(scenario.disorder.shown),
        ),
        *scenario_checks.run_checks(plan, scenario, manifest.statuses),
    ]


def _workflow_checks(manifest: Manifest, tally: _Tally) -> list[Check]:
    if manifest.scenario is not None:
        return _scenario_checks(manifest, manifest.scenario, tally)
    kinds: dict[str, Offenders] = {k: Offenders() for k in ("complete", "cut", "timing", "workflow")}
    for key, packed in tally.payments.items():
        kind, why = _classify(manifest, packed)
        kinds[kind].add(_payment_id(key) if kind in ("complete", "cut") else f"{_payment_id(key)} {why}")
    complete, cut, mistimed, broken = (kinds[k].count for k in ("complete", "cut", "timing", "workflow"))
    payments = len(tally.payments)
    workflows_ok = broken == 0 and cut == manifest.payments_cut and payments == manifest.payments_started
    cut_note = (
        f", {cut} cut short by the shutdown (manifest: {manifest.payments_cut})" if cut or manifest.payments_cut else ""
    )
    if cut != manifest.payments_cut:
        kinds["workflow"].shown.extend(kinds["cut"].shown)
    return [
        Check(
            "workflows",
            workflows_ok,
            f"{payments} payments (manifest: {manifest.payments_started}): {complete + mistimed} form a whole workflow"
            f"{cut_note}, {broken} not a configured workflow",
            tuple(kinds["workflow"].shown),
        ),
        Check(
            "order",
            mistimed == 0,
            f"{payments - broken - mistimed} payments with statuses in schedule order at their exact "
            f"offsets, {mistimed} out of order or mistimed",
            tuple(kinds["timing"].shown),
        ),
    ]


def _checks(manifest: Manifest, tally: _Tally) -> list[Check]:
    wrong = [
        f"{t} consumed {tally.consumed[t]}, delivered {n}"
        for t, n in manifest.delivered.items()
        if tally.consumed[t] != n
    ]
    total = sum(tally.consumed.values())
    unfinished = f"; gave up before the end of {', '.join(tally.unfinished[:SHOWN])}" if tally.unfinished else ""
    errors = tally.consumer_errors
    missing_banks = {ref: n for ref, n in tally.references.items() if ref not in tally.banks}
    resolved = [i for i, s in tally.schemas.items() if s is not None]
    missing_arrived = _fill_missing(manifest, tally) if manifest.anomalies else []
    labelled = (
        anomaly_checks.checks(
            manifest.anomalies,
            manifest.hot_banks,
            tally.anomalies,
            lambda key, status: bool((tally.payments.get(key, 0) >> (status * _SLOT_BITS)) & _SLOT),
            missing_arrived,
        )
        if manifest.labelled
        else []
    )
    return [
        Check(
            "counts",
            not wrong and not tally.unfinished and not errors.count,
            f"{total} records of this run on {len(manifest.delivered)} topics "
            f"({tally.other_runs} of other runs ignored){unfinished}"
            + (f"; {errors.count} consumer errors" if errors.count else ""),
            tuple(wrong + errors.shown),
        ),
        Check(
            "records",
            tally.bad_records.count == 0,
            f"{tally.bad_records.count} records undecodable or inconsistent (key, id, status, topic)",
            tuple(tally.bad_records.shown),
        ),
        *_workflow_checks(manifest, tally),
        Check(
            "duplicates",
            tally.duplicates.count == 0,
            f"{tally.duplicates.count} (id, status) pairs seen more than once",
            tuple(tally.duplicates.shown),
        ),
        Check(
            "banks",
            not missing_banks,
            f"{len(tally.banks)} banks; {sum(missing_banks.values())} references to banks not on "
            f"{manifest.banks_topic}",
            tuple(sorted(missing_banks)[:SHOWN]),
        ),
        Check(
            "schemas",
            not tally.unresolved and bool(resolved),
            f"{len(resolved)} of {len(tally.schemas)} schema ids resolve in the registry",
            tuple(f"{i}: {why}" for i, why in sorted(tally.unresolved.items())),
        ),
        *labelled,
    ]


def _fill_missing(manifest: Manifest, tally: _Tally) -> list[str]:
    """Put each event the summary lists as missing where it would have been; return those that arrived anyway.

    The workflow checks then judge the payment as if the event had come (they see holes
    only past MISSING_IDS_CAP missing events).
    """
    assert manifest.anomalies is not None
    index = {name: i for i, name in enumerate(manifest.statuses)}
    arrived = []
    for status, ids in manifest.anomalies.missing_ids.items():
        shift = index[status] * _SLOT_BITS
        for pid, ts in zip(ids, manifest.anomalies.missing_ts[status]):
            key = _payment_key(pid)
            packed = tally.payments.get(key, 0)
            if (packed >> shift) & _SLOT:
                arrived.append(f"{pid} {status} arrived, though the summary lists it missing")
            else:
                tally.payments[key] = packed | (ts + 1) << shift
    return arrived


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of a verification."""

    run_id: str
    checks: tuple[Check, ...]
    consumed: int
    elapsed_s: float

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    def render(self) -> str:
        """The readable report: one PASS/FAIL line per check, then the verdict."""
        failed = sum(not c.ok for c in self.checks)
        verdict = "OK: every check passed" if self.ok else f"FAILED: {failed} of {len(self.checks)} checks"
        lines = [f"synthpay verify: run {self.run_id}: read {self.consumed} records in {self.elapsed_s:.1f}s"]
        lines += [c.render() for c in self.checks]
        lines.append(verdict)
        return "\n".join(lines) + "\n"


class _Cluster:
    """The consumer and its errors; raises VerifyError with one line when the cluster is unusable."""

    def __init__(self, settings: Settings) -> None:
        self._where = settings.kafka.bootstrap_servers
        self._errors = ErrorWatch()
        quiet = logging.getLogger("synthpay.verify.librdkafka")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False  # librdkafka's retry chatter is summed up by error_cb
        self.consumer = make_client(
            Consumer,
            {
                **connection_config(settings.kafka),
                "group.id": f"synthpay-verify-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                # librdkafka prefetches up to 100,000 records per partition by default: over the
                # dozens of partitions of a run that is most of the topics in memory at once.
                "queued.min.messages": 2000,
                "queued.max.messages.kbytes": 8192,
                "error_cb": self._errors,
                "logger": quiet,
            },
            settings.kafka,
        )

    def partitions(
        self, delivered: Mapping[str, int]
    ) -> tuple[list[TopicPartition], dict[tuple[str, int], int], list[str]]:
        """(assignment from the beginning, {(topic, partition): high watermark}, missing topics).

        ``delivered``: records per topic the run's summary says were acknowledged. A broker
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
            while _short(marks, delivered) and time.monotonic() < deadline:
                time.sleep(0.5)
                marks, missing = watermarks(self.consumer, delivered)
        except KafkaException as exc:
            raise VerifyError(
                f"verify: cannot use the cluster at {self._where}: {self._errors.last or describe_error(exc)}"
            ) from None
        assignment = [TopicPartition(topic, p, low) for (topic, p), (low, _) in marks.items()]
        ends = {where: high for where, (low, high) in marks.items() if high > low}
        return assignment, ends, missing


def _short(marks: Mapping[tuple[str, int], tuple[int, int]], delivered: Mapping[str, int]) -> bool:
    """True when some topic's partitions hold fewer records than the run delivered to it."""
    held: Counter[str] = Counter()
    for (topic, _), (low, high) in marks.items():
        held[topic] += max(0, high - low)
    return any(held[topic] < count for topic, count in delivered.items() if (topic, 0) in marks)


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


def _header(msg: Message, wanted: str) -> str | bytes | None:
    headers = cast("list[tuple[str, str | bytes | None]]", msg.headers() or [])  # the consumer gives pairs
    for name, value in headers:
        if name == wanted:
            return value
    return None


def _consume(cluster: _Cluster, reader: _Reader, manifest: Manifest, timeout_s: float) -> int:
    """Read every partition up to its start-time high watermark; return the records read."""
    consumer, tally = cluster.consumer, reader.tally
    assignment, ends, missing = cluster.partitions(manifest.delivered)
    tally.unfinished.extend(f"{t} (missing)" for t in missing)
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


def verify(settings: Settings, manifest: Manifest, run_id: str, timeout_s: float) -> Report:
    """Consume the run's topics and check them against ``manifest``."""
    began = time.monotonic()
    registry = registry_client(settings.schema_registry)

    def fetch_schema(schema_id: int) -> str:
        return call_registry(settings.schema_registry, lambda: str(registry.get_schema(schema_id).schema_str))

    reader = _Reader(manifest, run_id, fetch_schema)
    cluster = _Cluster(settings)
    try:
        read = _consume(cluster, reader, manifest, timeout_s)
    except KafkaException as exc:
        raise VerifyError(
            f"verify: consuming from {settings.kafka.bootstrap_servers} failed: {describe_error(exc)}"
        ) from None
    except RegistryUnreachable as exc:
        raise VerifyError(f"verify: {exc}") from None
    finally:
        cluster.consumer.close()
    checks = _checks(manifest, reader.tally)
    return Report(run_id, tuple(checks), read, time.monotonic() - began)
