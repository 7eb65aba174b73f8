"""``file.format = "avro"``: one Avro object container file per topic, ``<stem>.avro``.

The container format is written directly (header, then blocks of pre-encoded records) so
the file sink reuses the same fast encoder as Kafka. Block boundaries depend only on each
topic's record count (plus the sink's once-a-second flush under the real clock), which
keeps ``--seed`` runs under the virtual clock byte-identical.

A run with phases, anomalies or zipf popularity also writes each file's labels beside it, in
``<stem>.labels`` (``avro/labels.avsc``): per run of consecutive records, the phase, the
anomaly and the emission delay the Kafka sink writes as headers and record timestamps. They
stay out of the records, which are the same with or without them, and each labels block is
written right after its records' block (or the records' block is cut off again), so both
files cover the same records.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from synthpay.model import serde
from synthpay.model.anomalies import Injected
from synthpay.model.events import Event
from synthpay.sinks.topic_writer import AppendFile, FileFormat, Target, TopicWriter, schema_text

MAGIC = b"Obj\x01"
BLOCK_RECORDS = 1000
FLUSH_EVERY_S = 1.0
SUFFIX = ".avro"
LABELS_SUFFIX = ".labels"


def labels_name(avro_name: str) -> str:
    """The labels file beside an ``.avro`` file: ``<topic>.avro`` -> ``<topic>.labels``."""
    return avro_name.removesuffix(SUFFIX) + LABELS_SUFFIX


def _avro_bytes(b: bytes) -> bytes:
    return serde.avro_long(len(b)) + b


def _header(schema_name: str, topic: str, sync: bytes, codec: str) -> bytes:
    """The container header of a file of ``topic``; SinkError when its schema cannot be read."""
    schema = schema_text(schema_name, topic)
    meta = {"avro.schema": schema.encode(), "avro.codec": codec.encode()}
    header = [MAGIC, serde.avro_long(len(meta))]
    for key, value in meta.items():
        header += [serde.avro_string(key), _avro_bytes(value)]
    header += [serde.avro_long(0), sync]
    return b"".join(header)


def _sync(target: Target) -> bytes:
    # A seeded run must be byte-identical, so its sync markers derive from the seed.
    seed = target.settings.run.seed
    if seed is None:
        return os.urandom(16)
    return hashlib.blake2b(f"{seed}:{target.topic.name}".encode(), digest_size=16).digest()


def prepare(target: Target) -> Callable[[], TopicWriter]:
    """Read the schemas (a SinkError if one cannot be), before the directory is touched."""
    sync, codec, name = _sync(target), target.settings.file.codec, target.topic.name
    header = _header(target.topic.schema, name, sync, codec)
    labels = _header("labels", name, sync, codec) if target.labelled else None
    path = target.directory / f"{target.stem}{SUFFIX}"
    return lambda: AvroWriter(path, header, sync, codec == "deflate", labels)


class AvroWriter:
    """One topic's ``.avro`` file, and its ``.labels`` file in a labelled run."""

    __slots__ = ("_deflate", "_file", "_labels", "_sync", "readable")

    def __init__(self, path: Path, header: bytes, sync: bytes, deflate: bool, labels: bytes | None) -> None:
        self._sync = sync
        self._deflate = deflate
        self.readable = 0
        self._file = AppendFile(path, header)
        self._labels: AppendFile | None = None
        if labels is not None:
            try:
                self._labels = AppendFile(path.with_name(labels_name(path.name)), labels)
            except OSError:
                self._file.close()
                raise

    @property
    def path(self) -> Path:
        return self._file.path

    def write(self, block: Sequence[Event], complete: bool) -> None:
        if not block:
            return
        before = self._file.size
        self._file.append(self._block([event.avro() for event in block]))
        if self._labels is not None:
            try:
                self._labels.append(self._block([run.avro() for run in _runs(block)]))
            except OSError as exc:
                self._file.cut(before)  # records without their labels would be read unlabelled
                exc.filename = str(self._labels.path)
                raise
        self.readable += len(block)

    def close(self) -> None:
        self._file.close()
        if self._labels is not None:
            self._labels.close()

    def abandon(self) -> None:
        """Nothing written is unreadable: every block is whole."""

    def _block(self, encoded: list[bytes]) -> bytes:
        """One container block of ``encoded`` records."""
        data = b"".join(encoded)
        if self._deflate:
            packer = zlib.compressobj(1, zlib.DEFLATED, -15)
            data = packer.compress(data) + packer.flush()
        return b"".join((serde.avro_long(len(encoded)), serde.avro_long(len(data)), data, self._sync))


AVRO = FileFormat("avro", prepare, lambda settings: BLOCK_RECORDS, lambda settings: FLUSH_EVERY_S)


class _Run:
    """Consecutive records with the same labels: one row of a ``.labels`` file."""

    __slots__ = ("anomaly", "delay_ms", "phase", "records")

    def __init__(self, phase: str, anomaly: str, delay_ms: int) -> None:
        self.records = 1
        self.phase = phase
        self.anomaly = anomaly
        self.delay_ms = delay_ms

    def avro(self) -> bytes:
        """The row in Avro binary (``avro/labels.avsc``)."""
        return (
            serde.avro_long(self.records)
            + serde.avro_string(self.phase)
            + serde.avro_string(self.anomaly)
            + serde.avro_long(self.delay_ms)
        )


def _runs(block: Sequence[Event]) -> list[_Run]:
    """The labels of ``block``: each event counted in the run of its labels, the last one or a new one."""
    runs: list[_Run] = []
    last: _Run | None = None
    for event in block:
        entity = event.entity
        # An injected event is emitted at ts_ms, but its record holds its own time.
        delay = event.ts_ms - entity.event_ts_ms if isinstance(entity, Injected) else 0
        phase, anomaly = event.phase, event.anomaly
        if last is not None and last.phase == phase and last.anomaly == anomaly and last.delay_ms == delay:
            last.records += 1
        else:
            last = _Run(phase, anomaly, delay)
            runs.append(last)
    return runs
