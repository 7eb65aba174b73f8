"""What verify counts of each record it reads: the tally the checks judge.

Memory is one dict entry per payment: its 16-byte id and one int packing the ts of each
status seen (and, with phases or drawn delays, the payment's phase in one more slot).
"""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastavro
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay.formats.values import VALUE_FORMATS
from synthpay.sinks.kafka_client import describe_registry_error
from synthpay.verify.anomalies import AnomalyTally
from synthpay.verify.checks import Offenders
from synthpay.verify.errors import VerifyError
from synthpay.verify.manifest import Manifest

#: Bits per status in a payment's packed timestamps (ts + 1; 0 means "not seen").
_SLOT_BITS = 64
_SLOT = (1 << _SLOT_BITS) - 1


@dataclass(slots=True)
class Tally:
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
    log_start: dict[tuple[str, int], int] = field(default_factory=dict)  # per partition, when reading began
    anomalies: AnomalyTally = field(default_factory=AnomalyTally)
    # The ground truth's events a payment lacks (missing, and late or swapped ones a stop
    # cut): (payment key, status index, ts, phase index or -1), put in place by fill_missing.
    withheld: list[tuple[bytes, int, int, int]] = field(default_factory=list)


def payment_key(payment_id: str) -> bytes:
    """16 bytes for a UUID, the text otherwise: the compact dict key."""
    try:
        return bytes.fromhex(payment_id.replace("-", "")) if len(payment_id) == 36 else payment_id.encode()
    except ValueError:
        return payment_id.encode()


def payment_id(key: bytes) -> str:
    """The payment id a dict key stands for."""
    return str(uuid.UUID(bytes=key)) if len(key) == 16 else key.decode(errors="replace")


def seen_statuses(packed: int, statuses: int) -> dict[int, int]:
    """Status index -> ts of each of the first ``statuses`` statuses a payment's packed int holds."""
    slots = ((i, (packed >> (i * _SLOT_BITS)) & _SLOT) for i in range(statuses))
    return {i: slot - 1 for i, slot in slots if slot}


def holds(packed: int, status: int) -> bool:
    """Whether a payment's packed int holds a ts for ``status``."""
    return bool((packed >> (status * _SLOT_BITS)) & _SLOT)


def phase_of(packed: int, statuses: int) -> int:
    """The phase index a payment's packed int holds after its ``statuses`` slots (0 when none)."""
    return max(0, ((packed >> (statuses * _SLOT_BITS)) & _SLOT) - 1)


class Reader:
    """Decodes and tallies records; one instance per verification.

    ``record`` takes a record as Kafka holds it (key, wire-format value, headers), its
    schema ids looked up with ``fetch_schema``; ``decoded`` one already decoded, with its
    labels, as the file sink keeps it.
    """

    def __init__(self, manifest: Manifest, run_id: str, fetch_schema: Callable[[int], str] | None = None) -> None:
        self._manifest = manifest
        self._run_id = run_id.encode()
        self._fetch_schema = fetch_schema
        self._format = VALUE_FORMATS[manifest.value_format]
        self.tally = Tally()

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
        self.decoded(topic, decoded, phase, anomaly, timestamp, where)

    def decoded(
        self,
        topic: str,
        rec: dict[str, Any],
        phase: str | bytes | None,
        anomaly: str | bytes | None,
        timestamp: int | None,
        where: str = "",
    ) -> None:
        """Tally one decoded record of the run, with its labels (None: the run has none to give)."""
        if not isinstance(rec.get("id"), str):
            self.tally.bad_records.add(f"{topic}: a record without an id")
            return
        where = where or f"{topic}: {rec['id']!r}"
        if topic == self._manifest.banks_topic:
            self.tally.banks.add(rec["id"])
        elif topic == self._manifest.ground_truth:
            self._withheld(rec, where, phase)
        else:
            self._payment(topic, rec, where, phase, anomaly, timestamp)

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
        if self._format.decode is not None:
            return self._decode_body(topic, value[5:], self._format.decode)
        try:
            decoded = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)
        except Exception as exc:  # fastavro raises many kinds on a garbled body
            tally.bad_records.add(f"{topic}: undecodable with schema {schema_id}: {type(exc).__name__}")
            return None
        if not isinstance(decoded, dict):
            tally.bad_records.add(f"{topic}: schema {schema_id} is not a record schema")
            return None
        return decoded

    def _decode_body(
        self, topic: str, framed: bytes, decode: Callable[[str, bytes], dict[str, object]]
    ) -> dict[str, Any] | None:
        """A value in a format that decodes itself: the record type is the topic's, the schema the derived one."""
        index = self._format.index
        if not framed.startswith(index):
            self.tally.bad_records.add(f"{topic}: message index is not the one {self._format.name} writes")
            return None
        manifest = self._manifest
        record_type = (
            "bank" if topic == manifest.banks_topic else "ground_truth" if topic == manifest.ground_truth else "payment"
        )
        try:
            return decode(record_type, framed[len(index) :])
        except Exception as exc:  # each format's decoder raises its own kinds on a garbled body
            self.tally.bad_records.add(
                f"{topic}: undecodable as {self._format.name} {record_type}: {type(exc).__name__}"
            )
            return None

    def _resolve(self, schema_id: int) -> Any:
        """The parsed schema, or None (and why) when the registry does not know the id; each id is tried once.

        A registry that does not answer, or refuses the credentials, ends the verification:
        every record would fail alike, and the report would blame the records.
        """
        if self._fetch_schema is None:  # reading files: a record in the wire format is not the sink's
            self.tally.unresolved[schema_id] = "no schema registry to ask"
            return None
        try:
            text = self._fetch_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code in (401, 403):
                raise VerifyError(
                    f"verify: the schema registry refused the credentials: {describe_registry_error(exc)}"
                ) from None
            self.tally.unresolved[schema_id] = describe_registry_error(exc)
            return None
        if self._format.decode is not None:
            return text  # decoded as the derived schema: the registry need only know the id
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
        key = payment_key(rec["id"])
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

    def _withheld(self, rec: dict[str, Any], where: str, phase: str | bytes | None) -> None:
        """Tally one ground-truth record: an event the run did not emit, and why."""
        tally, manifest = self.tally, self._manifest
        status = manifest.statuses.index(rec["status"]) if rec.get("status") in manifest.statuses else -1
        kind, ts = rec.get("anomaly"), rec.get("ts")
        if status < 0 or not isinstance(kind, str) or not isinstance(ts, int) or not 0 <= ts < _SLOT:
            tally.bad_records.add(f"{where}: not an event of this run's statuses withheld for an anomaly")
            return
        if not tally.anomalies.withhold(kind, rec.get("cut") is True, rec["status"]):
            tally.bad_records.add(f"{where}: anomaly {kind!r} is no kind withheld")
            return
        if rec.get("cut") is True and manifest.anomaly_phases is not None:
            tally.anomalies.record_phase(kind, phase, ts, manifest.anomaly_phases)
        if kind != "duplicate":  # a cut copy: the original arrived, nothing is lacking
            index = manifest.scenario.phase_index(phase) if manifest.scenario is not None else None
            tally.withheld.append((payment_key(rec["id"]), status, ts, -1 if index is None else index))


def fill_missing(manifest: Manifest, tally: Tally) -> list[str]:
    """Put each event the run withheld where it would have been; return those that arrived anyway.

    The workflow checks then judge the payment as if the event had come. The events are
    the ground truth's (every one, however long the run); a summary from before it had
    one lists the first MISSING_IDS_CAP missing events instead.
    """
    assert manifest.anomalies is not None
    if manifest.ground_truth:
        return _fill_withheld(manifest, tally)
    index = {name: i for i, name in enumerate(manifest.statuses)}
    arrived = []
    for status, ids in manifest.anomalies.missing_ids.items():
        shift = index[status] * _SLOT_BITS
        for pid, ts in zip(ids, manifest.anomalies.missing_ts[status]):
            key = payment_key(pid)
            packed = tally.payments.get(key, 0)
            if (packed >> shift) & _SLOT:
                arrived.append(f"{pid} {status} arrived, though the summary lists it missing")
            else:
                tally.payments[key] = packed | (ts + 1) << shift
    return arrived


def _fill_withheld(manifest: Manifest, tally: Tally) -> list[str]:
    arrived = []
    phase_shift = len(manifest.statuses) * _SLOT_BITS
    for key, status, ts, phase in tally.withheld:
        packed = tally.payments.get(key, 0)
        if holds(packed, status):
            arrived.append(
                f"{payment_id(key)} {manifest.statuses[status]} arrived, though the ground truth withheld it"
            )
            continue
        packed |= (ts + 1) << (status * _SLOT_BITS)
        if phase >= 0 and manifest.scenario is not None and not (packed >> phase_shift) & _SLOT:
            packed |= (phase + 1) << phase_shift  # a payment every event of which was withheld
        tally.payments[key] = packed
    return arrived
