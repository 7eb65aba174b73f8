"""Reading the records of a ``jsonl`` or ``parquet`` file-sink run: each record with its labels as fields.

Where an Avro run keeps its labels beside the records (``.labels``), these formats carry
them in each record (:mod:`synthpay.formats.label_fields`): ``_run_id`` (a record of
another run is counted as such and skipped, as on Kafka), ``_phase``, ``_anomaly`` and
``_emitted_ts`` (the record timestamp). A file "carries the schema" when its fields are the
``.avsc``'s, in its order and of its types (Parquet: of the derived Arrow schema), then label
fields only; a record that does not is a bad record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthpay.formats import label_fields
from synthpay.model import serde
from synthpay.verify.checks import Offenders
from synthpay.verify.errors import VerifyError
from synthpay.verify.manifest import Manifest
from synthpay.verify.tally import Reader

_PYTHON_TYPES: dict[str, type] = {"string": str, "long": int, "int": int, "double": float, "boolean": bool}


@dataclass(frozen=True, slots=True)
class Expected:
    """What a file of one topic holds: its record type and the schema's fields with their Python types."""

    topic: str
    record_type: str
    fields: tuple[tuple[str, type], ...]

    @classmethod
    def of(cls, topic: str, record_type: str) -> Expected:
        avsc = json.loads(serde.schema_text(record_type))
        return cls(topic, record_type, tuple((f["name"], _PYTHON_TYPES[f["type"]]) for f in avsc["fields"]))

    def fits(self, rec: object) -> bool:
        """Whether ``rec`` is a record of the schema: its fields, in order, of their types, then label fields."""
        if not isinstance(rec, dict) or len(rec) < len(self.fields):
            return False
        values = iter(rec.items())
        for (name, kind), (key, value) in zip(self.fields, values):
            if key != name or type(value) is not kind:
                return False
        return all(key in label_fields.ALL for key, _ in values)


@dataclass(frozen=True, slots=True)
class Labelled:
    """What verify takes from a run's labels (the rest it cannot check)."""

    run_id: str
    phased: bool  # the run has phases: each payment record's _phase is checked
    labelled: bool  # anomalies or zipf: _anomaly and _emitted_ts are checked


def read_file(
    path: Path, fmt: str, expected: Expected, reader: Reader, manifest: Manifest, wrong: Offenders, run_id: str
) -> int:
    """Tally one ``jsonl`` or ``parquet`` file's records of the run; return how many records it holds."""
    labelled = Labelled(run_id, manifest.scenario is not None and len(manifest.scenario.phases) > 1, manifest.labelled)
    records = _jsonl(path, expected, reader, wrong) if fmt == "jsonl" else _parquet(path, expected, reader, wrong)
    count = 0
    try:
        for count, rec in enumerate(records, 1):
            _tally(rec, count, path, expected, reader, labelled)
    except VerifyError:
        raise
    except OSError as exc:
        reader.tally.bad_records.add(f"{path.name}: cannot read: {exc.strerror or exc}")
    except Exception as exc:  # pyarrow raises many kinds on a garbled file
        reader.tally.bad_records.add(f"{path.name}: undecodable after {count} records: {type(exc).__name__}")
    return count


def _tally(rec: Any, line: int, path: Path, expected: Expected, reader: Reader, labelled: Labelled) -> None:
    tally = reader.tally
    if not expected.fits(rec):
        tally.consumed[expected.topic] += 1
        tally.bad_records.add(f"{path.name}: record {line} is not a record of the {expected.record_type} schema")
        return
    if rec.get(label_fields.RUN_ID) != labelled.run_id:
        tally.other_runs += 1
        return
    tally.consumed[expected.topic] += 1
    emitted = rec.get(label_fields.EMITTED)
    reader.decoded(
        expected.topic,
        rec,
        rec.get(label_fields.PHASE) if labelled.phased else None,
        rec.get(label_fields.ANOMALY) if labelled.labelled else None,
        emitted if labelled.labelled and isinstance(emitted, int) else None,
        f"{path.name}: {rec.get('id')!r}",
    )


def _jsonl(path: Path, expected: Expected, reader: Reader, wrong: Offenders) -> Iterator[Any]:
    """Each line's JSON; a line that is none is a bad record (``None``)."""
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except ValueError:
                reader.tally.bad_records.add(f"{path.name}: line {number} is no JSON")
                rec = None
            if number == 1 and not expected.fits(rec):
                wrong.add(f"{path.name}: not the schema synthpay writes for {expected.topic}")
            yield rec


def _parquet(path: Path, expected: Expected, reader: Reader, wrong: Offenders) -> Iterator[Any]:
    """Each row as a dict, timestamps as epoch milliseconds; nothing from a file of another schema."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from synthpay.formats import arrow
    except ImportError:
        raise VerifyError(
            "verify: this run's files are Parquet, and reading them needs pyarrow: pip install 'synthpay[parquet]'"
        ) from None
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowInvalid as exc:
        reader.tally.bad_records.add(f"{path.name}: no Parquet file: {str(exc).splitlines()[0]}")
        return
    schema, record = parquet.schema_arrow, arrow.record_schema(expected.record_type)
    names = schema.names
    fits = names[: len(record)] == record.names and all(
        schema.field(i).equals(record.field(i)) for i in range(len(record))
    )
    if not fits or not all(arrow.label_schema_ok(schema.field(i)) for i in range(len(record), len(names))):
        wrong.add(f"{path.name}: not the schema synthpay writes for {expected.topic}")
        reader.tally.bad_records.add(f"{path.name}: {parquet.metadata.num_rows} records of another schema")
        return
    for batch in parquet.iter_batches():
        columns = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in batch.columns]
        yield from pa.RecordBatch.from_arrays(columns, names=names).to_pylist()
