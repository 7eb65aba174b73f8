"""Records as Arrow tables: the schema derived from ``avro/*.avsc``, and a topic's events as columns.

Imported only by what writes or reads Parquet: it needs pyarrow (``pip install
'synthpay[parquet]'``).

Types follow the Avro schema field for field: string, long, int, double and boolean become
string, int64, int32, float64 and bool, all non-null. The one exception is ``ts``, the
event time in epoch milliseconds, which becomes ``timestamp[ms, UTC]``: the schemas carry no
logical type to say so (and cannot gain one: their text is what the registry and the Avro
files hold), so it goes by name. ``date_ts`` and the banks' ``created_ts``/``updated_ts``
are strings in the schema and stay strings: they are the text the original wrote. The label
fields (:mod:`synthpay.formats.label_fields`) follow the record's; ``_emitted_ts`` is a
timestamp like ``ts``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import pyarrow as pa

from synthpay.formats import label_fields
from synthpay.model import serde
from synthpay.model.anomalies import Injected
from synthpay.model.entities import Payment

if TYPE_CHECKING:
    from synthpay.model.events import Event, Labels, Topic

TIMESTAMP = pa.timestamp("ms", tz="UTC")
#: Epoch-millisecond ``long`` fields written as timestamps (see the module's doc for why by name).
TIMESTAMP_FIELDS = frozenset({"ts"})
_UNIQUE = frozenset({"id", "date_ts", "email", "website", "bankCode", "bic", "created_ts", "updated_ts"})
_TYPES = {"string": pa.string(), "long": pa.int64(), "int": pa.int32(), "double": pa.float64(), "boolean": pa.bool_()}
_LABEL_TYPES = {
    label_fields.RUN_ID: pa.field(label_fields.RUN_ID, pa.string(), nullable=False),
    label_fields.PHASE: pa.field(label_fields.PHASE, pa.string()),
    label_fields.ANOMALY: pa.field(label_fields.ANOMALY, pa.string()),
    label_fields.EMITTED: pa.field(label_fields.EMITTED, TIMESTAMP, nullable=False),
}


def record_schema(record_type: str) -> pa.Schema:
    """The Arrow schema of a record type ("payment", "bank", "ground_truth"), from its ``.avsc``."""
    avsc = json.loads(serde.schema_text(record_type))
    return pa.schema([pa.field(f["name"], _type(f["name"], f["type"]), nullable=False) for f in avsc["fields"]])


def _type(name: str, avro_type: object) -> pa.DataType:
    if not isinstance(avro_type, str) or avro_type not in _TYPES:
        raise ValueError(f"field {name!r}: Avro type {avro_type!r} has no Arrow type here")
    return TIMESTAMP if name in TIMESTAMP_FIELDS and avro_type == "long" else _TYPES[avro_type]


def schema(record_type: str, labels: Labels) -> pa.Schema:
    """The record's schema, then the run's label fields."""
    record = record_schema(record_type)
    return pa.schema([*record, *(_LABEL_TYPES[name] for name in label_fields.names(labels))])


def label_schema_ok(field: pa.Field) -> bool:
    """Whether ``field`` is a label field of the documented type."""
    expected = _LABEL_TYPES.get(field.name)
    return expected is not None and expected.type == field.type


@functools.lru_cache(maxsize=1 << 16)
def _invariants(avro_tail: bytes) -> tuple[str, str, str, float]:
    """destination, source, currency, amount of a payment (kept for the payments seen lately)."""
    destination, pos = serde.read_string(avro_tail, 0)
    source, pos = serde.read_string(avro_tail, pos)
    currency, pos = serde.read_string(avro_tail, pos)
    return destination, source, currency, serde.read_double(avro_tail, pos)


#: Events come out in time order and many share a millisecond, as serde caches them for Avro.
_date_text = functools.lru_cache(maxsize=4096)(serde.rfc3339_ms)


class TopicTables:
    """Turns blocks of one topic's events into tables of :func:`schema`."""

    def __init__(self, topic: Topic, labels: Labels) -> None:
        self.schema = schema(topic.schema, labels)
        self._record = record_schema(topic.schema)
        self._payments = topic.schema == "payment"
        self._status = topic.status
        self._labels = labels
        self._phased = labels.phased and not topic.compacted
        #: The columns whose values repeat (banks, currencies, labels), worth a dictionary; ids
        #: and times are unique, and trying one for them only costs time.
        self.repeated = [f.name for f in self.schema if f.type == pa.string() and f.name not in _UNIQUE]

    def table(self, events: Sequence[Event]) -> pa.Table:
        """``events`` as one table, in order."""
        columns = self._payment_columns(events) if self._payments else self._record_columns(events)
        return pa.Table.from_arrays([*columns, *self._label_columns(events)], schema=self.schema)

    def _payment_columns(self, events: Sequence[Event]) -> list[pa.Array]:
        """A payment topic's columns, from each payment's pre-encoded pieces (no record dicts)."""
        payments = cast("list[Payment]", [e.entity for e in events])
        ts = [p.event_ts_ms if isinstance(p, Injected) else e.ts_ms for p, e in zip(payments, events)]
        destination, source, currency, amount = zip(*map(_invariants, [p.avro_tail for p in payments]))
        return [
            # The ids are ASCII (UUIDs): taken as bytes and viewed as text, with no check per id.
            pa.array([p.kafka_key for p in payments], pa.binary()).view(pa.string()),
            pa.array(ts, TIMESTAMP),
            pa.array(list(map(_date_text, ts)), pa.string()),
            pa.array(destination, pa.string()),
            pa.array(source, pa.string()),
            pa.array(currency, pa.string()),
            pa.array(amount, pa.float64()),
            pa.array([self._status] * len(events), pa.string()),
        ]

    def _record_columns(self, events: Sequence[Event]) -> list[pa.Array]:
        """Any topic's columns, from each event's record (banks and the ground truth: few events)."""
        records = [e.record() for e in events]
        return [pa.array([r[f.name] for r in records], f.type) for f in self._record]

    def _label_columns(self, events: Sequence[Event]) -> list[pa.Array]:
        labels, n = self._labels, len(events)
        columns = [pa.array([labels.run_id] * n, pa.string())]
        if labels.phased:
            columns.append(pa.array([e.topic.phase for e in events] if self._phased else [None] * n, pa.string()))
        if labels.anomalies:
            columns.append(pa.array([e.anomaly or None for e in events], pa.string()))
            columns.append(pa.array([e.ts_ms for e in events], TIMESTAMP))
        return columns
