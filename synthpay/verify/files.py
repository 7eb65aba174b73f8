"""Reading a file-sink run: where its files are, each topic's files and their labels, fed to the tally.

The summary's ``file_format`` says which files: ``.avro`` (a summary without it), read
here, or ``.jsonl`` and ``.parquet``, whose records carry their labels as fields
(:mod:`~synthpay.verify.labelled_files`).

The counterpart of :mod:`~synthpay.verify.consume` for the file sink. A file holds what a
topic would, less what Kafka keeps beside a record: no key (the record's ``id`` is), no
schema id (the file's header has the schema itself), no headers and no record timestamp.
Those labels are in the ``.labels`` file beside it when the run has phases, anomalies or
zipf popularity (``avro/labels.avsc``, see :mod:`synthpay.sinks.file`): verify expands its
runs back to one (phase, anomaly, emission time) per record. The directory's run marker
(``.synthpay.run``) says whose files they are, as the ``run_id`` header does on Kafka.
"""

from __future__ import annotations

import glob
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro

from synthpay.model import serde
from synthpay.sinks.avro_file import labels_name
from synthpay.sinks.file_names import PARQUET_SEQ
from synthpay.verify import labelled_files
from synthpay.verify.checks import Check, Offenders
from synthpay.verify.errors import VerifyError
from synthpay.verify.manifest import Manifest
from synthpay.verify.tally import Reader

#: The file in which the file sink names the run writing to its directory (see synthpay.sinks.outdir).
RUN_MARKER = ".synthpay.run"

_Labels = tuple[str, str, int]  # phase, anomaly, emission delay


def topic_files(directory: Path, topic: str, fmt: str = "avro") -> list[Path]:
    """The files of ``topic`` in ``directory`` in ``fmt``, in order.

    ``<topic>.avro``, or one ``<topic>.part<i>.avro`` per instance (``.jsonl`` alike); for
    Parquet, ``<topic>.<seq>.parquet`` or ``<topic>.part<i>.<seq>.parquet``.
    """
    base = glob.escape(str(directory / topic))
    if fmt == "parquet":
        found = glob.glob(f"{base}.{PARQUET_SEQ}.parquet") or glob.glob(f"{base}.part*.{PARQUET_SEQ}.parquet")
        return sorted(Path(p) for p in found)
    whole = directory / f"{topic}.{fmt}"
    if whole.is_file():
        return [whole]
    return sorted(Path(p) for p in glob.glob(f"{base}.part*.{fmt}"))


def locate(manifest: Manifest, summary: Path, run_id: str) -> Path:
    """The directory holding the run's files: the summary's ``out``, else the summary's own.

    VerifyError when neither holds them, or when the one that does holds another run's.
    """
    candidates = [Path(manifest.out)] if manifest.out else []
    candidates.append(summary.resolve().parent)
    others = []
    for directory in dict.fromkeys(candidates):
        if not any(topic_files(directory, topic, manifest.file_format) for topic in manifest.delivered):
            continue
        holder = _holder(directory)
        if holder in ("", run_id):
            return directory
        others.append(f"{directory} holds the files of run {holder}")
    if others:
        raise VerifyError(f"verify: no files of run {run_id}: {'; '.join(others)}")
    where = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise VerifyError(f"verify: no .{manifest.file_format} files of run {run_id} in {where}")


def _holder(directory: Path) -> str:
    try:
        return (directory / RUN_MARKER).read_text(errors="replace").strip()
    except OSError:
        return ""  # copied without it: the files are taken to be the summary's


def read(directory: Path, reader: Reader, manifest: Manifest, run_id: str) -> tuple[int, Check]:
    """Read every topic's files into ``reader``; return the records read and the schemas' line of the report."""
    tally, fmt = reader.tally, manifest.file_format
    wrong = Offenders()
    files = read_count = 0
    for topic in manifest.delivered:
        paths = topic_files(directory, topic, fmt)
        if not paths:
            tally.unfinished.append(f"{topic} (missing)")
        record_type = manifest.record_type(topic)
        schema = _canonical(serde.schema_text(record_type)) if fmt == "avro" else ""
        expected = labelled_files.Expected.of(topic, record_type)
        for path in paths:
            files += 1
            if fmt == "avro":
                read_count += _read_file(path, topic, schema, reader, manifest, wrong)
            else:
                read_count += labelled_files.read_file(path, fmt, expected, reader, manifest, wrong, run_id)
    check = Check(
        "schemas",
        not wrong.count and files > 0,
        f"{files - wrong.count} of {files} files carry the schema synthpay writes for their topic",
        tuple(wrong.shown),
    )
    return read_count, check


def _canonical(text: str) -> str:
    """The schema's Parsing Canonical Form: the same for any two texts of one schema (docs and spacing aside)."""
    return str(fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(json.loads(text))))


def _read_file(path: Path, topic: str, schema: str, reader: Reader, manifest: Manifest, wrong: Offenders) -> int:
    """Tally one file's records; return how many were read."""
    tally, read_count = reader.tally, 0
    # The sink writes labels with phases, anomalies or zipf: drawn delays alone need none.
    phased = manifest.scenario is not None and len(manifest.scenario.phases) > 1
    labelled = manifest.labelled
    labels = _labels(path, reader) if phased or labelled else None
    try:
        with path.open("rb") as f:
            records = fastavro.reader(f)
            if _written_schema(records) != schema:
                wrong.add(f"{path.name}: not the schema synthpay writes for {topic}")
            for rec in records:
                read_count += 1
                tally.consumed[topic] += 1
                phase, anomaly, delay = None, None, None
                if labels is not None:
                    phase, anomaly, delay = next(labels, ("", "", None))
                    if delay is None:
                        tally.bad_records.add(f"{labels_name(path.name)}: labels fewer records than {path.name} holds")
                        labels = None
                if not isinstance(rec, dict):
                    tally.bad_records.add(f"{path.name}: record {read_count} is no record")
                    continue
                ts = rec.get("ts")
                reader.decoded(
                    topic,
                    rec,
                    phase if phased else None,
                    (anomaly or None) if labelled else None,
                    ts + delay if labelled and delay is not None and isinstance(ts, int) else None,
                    f"{path.name}: {rec.get('id')!r}",
                )
    except OSError as exc:
        tally.bad_records.add(f"{path.name}: cannot read: {exc.strerror}")
    except Exception as exc:  # fastavro raises many kinds on a garbled file
        tally.bad_records.add(f"{path.name}: undecodable after {read_count} records: {type(exc).__name__}")
    if labels is not None and (extra := sum(1 for _ in labels)):
        tally.bad_records.add(f"{labels_name(path.name)}: labels {extra} records more than {path.name} holds")
    return read_count


def _written_schema(records: Any) -> str:
    """The canonical form of the schema in the file's header ("" if it is none)."""
    try:
        return _canonical(records.metadata.get("avro.schema", ""))
    except Exception:  # json and fastavro raise many kinds on a schema that is not Avro
        return ""


def _labels(path: Path, reader: Reader) -> Iterator[_Labels] | None:
    """One (phase, anomaly, delay) per record of ``path``, from its ``.labels`` file.

    None, and a bad record, when it has none that can be read.
    """
    labels = path.with_name(labels_name(path.name))
    try:
        with labels.open("rb") as f:
            rows = list(fastavro.reader(f))
    except OSError:
        reader.tally.bad_records.add(
            f"{path.name}: no readable {labels.name} beside it: its records' labels are unknown"
        )
        return None
    except Exception as exc:  # fastavro raises many kinds on a garbled file
        reader.tally.bad_records.add(f"{labels.name}: undecodable: {type(exc).__name__}")
        return None
    return itertools.chain.from_iterable(
        itertools.repeat((row["phase"], row["anomaly"], row["delay_ms"]), row["records"])
        for row in rows
        if isinstance(row, dict)
    )
