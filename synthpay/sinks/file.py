"""The embedded default sink: one Avro object container file per topic, ``<dir>/<topic>.avro``
(``<topic>.part<index>.avro`` per instance when a run is split, e.g. ``--processes``).

The container format is written directly (header, then blocks of pre-encoded records) so
the file sink reuses the same fast encoder as Kafka. Block boundaries depend only on each
topic's record count (plus a once-a-second flush under the real clock, so files can be
read while a long run goes on), which keeps ``--seed`` runs under the virtual clock
byte-identical. The run first claims its directory (see ``outdir``): ``file.dir`` with the
run id in place of ``{run_id}``, and then points ``latest`` beside it at it.

A run with phases, anomalies or zipf popularity also writes each file's labels beside it, in
``<file>.labels`` (``avro/labels.avsc``): per run of consecutive records, the phase, the
anomaly and the emission delay the Kafka sink writes as headers and record timestamps. They
stay out of the records, which are the same with or without them, and each labels block is
written right after its records' block, so both files cover the same records.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from synthpay.config import placeholders
from synthpay.config.clocks import profile
from synthpay.config.errors import quoted
from synthpay.model import serde
from synthpay.model.anomalies import Injected
from synthpay.model.events import Event, Topic
from synthpay.sinks import outdir
from synthpay.sinks.base import SinkContext, SinkError

MAGIC = b"Obj\x01"
BLOCK_RECORDS = 1000
FLUSH_EVERY_S = 1.0


def _avro_bytes(b: bytes) -> bytes:
    return serde.avro_long(len(b)) + b


def file_name(topic: str, index: int, count: int) -> str:
    """``<topic>.avro``; a run split across instances writes ``<topic>.part<index>.avro`` each."""
    return f"{topic}.avro" if count == 1 else f"{topic}.part{index}.avro"


def labels_name(avro_name: str) -> str:
    """The labels file beside an ``.avro`` file: ``<topic>.avro`` -> ``<topic>.labels``."""
    return avro_name.removesuffix(".avro") + ".labels"


class _TopicFile:
    """One topic's file. It only ever grows by a whole header or block: a write that fails
    (a full disk) is cut off again, so the file always ends on a complete block."""

    __slots__ = ("fd", "labels", "name", "path", "pending", "runs", "size", "sync")

    def __init__(self, path: Path, header: bytes, name: str, sync: bytes) -> None:
        self.name = name
        self.path = path
        self.sync = sync
        self.pending: list[bytes] = []
        self.labels: _TopicFile | None = None  # its .labels file, in a run with phases or anomalies
        self.runs: list[_Run] = []  # the labels of the pending records
        self.size = 0
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            self.append(header)
        except OSError:
            # Without a whole header the file is no Avro file at all: none beats a broken one.
            self.close()
            path.unlink(missing_ok=True)
            raise

    def append(self, data: bytes) -> None:
        """Write all of ``data`` at the end, or raise with the file as it was."""
        view, done = memoryview(data), 0
        try:
            while done < len(data):
                done += os.write(self.fd, view[done:])
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
                os.lseek(self.fd, self.size, os.SEEK_SET)
            except OSError:
                pass  # the write's error is the one to report
            raise
        self.size += done

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _header(schema_name: str, topic: str, sync: bytes, codec: str) -> bytes:
    """The container header of a file of ``topic``; SinkError when its schema cannot be read."""
    try:
        schema = serde.schema_text(schema_name)
    except OSError as exc:
        raise SinkError(f"file sink: cannot read the {schema_name!r} schema for {topic!r}: {_why(exc)}") from None
    meta = {"avro.schema": schema.encode(), "avro.codec": codec.encode()}
    header = [MAGIC, serde.avro_long(len(meta))]
    for key, value in meta.items():
        header += [serde.avro_string(key), _avro_bytes(value)]
    header += [serde.avro_long(0), sync]
    return b"".join(header)


def _why(exc: OSError) -> str:
    """What the system said; an OSError raised by Python code may carry a message and no errno."""
    return exc.strerror or str(exc) or type(exc).__name__


class FileSink:
    """Writes Avro container files; an event counts as delivered once its block is written.

    A block that cannot be written counts as failed, and the run stops; what every other
    topic still holds is written on close if it can be.
    """

    def __init__(self, ctx: SinkContext) -> None:
        settings = ctx.settings
        self._ledger = ctx.ledger
        self._deflate = settings.file.codec == "deflate"
        self._timed_flush = profile(settings.run.clock).timed_flush
        self._last_flush = time.monotonic()
        directory = Path(placeholders.expand(settings.file.dir, ctx.run_id))
        self._files: dict[str, _TopicFile] = {}
        self._claim = -1
        self._failure: SinkError | None = None  # the first block that could not be written
        syncs = {topic.name: self._sync(ctx, topic) for topic in ctx.topics}
        # Before the directory is touched: a schema that cannot be read is no fault of --out.
        headers = {t.name: _header(t.schema, t.name, syncs[t.name], settings.file.codec) for t in ctx.topics}
        # What verify reads besides the records: phases, anomaly labels, emission times.
        self._labelled = bool(settings.phases) or settings.injects_anomalies or settings.entities.popularity == "zipf"
        labels = {
            t.name: _header("labels", t.name, syncs[t.name], settings.file.codec)
            for t in (ctx.topics if self._labelled else ())
        }
        try:
            self._claim = outdir.claim(directory, ctx.run_id, settings.file.overwrite)
            for name, header in headers.items():
                avro_name = file_name(name, settings.run.instance_index, settings.run.instance_count)
                tf = self._files[name] = _TopicFile(directory / avro_name, header, name, syncs[name])
                if self._labelled:
                    tf.labels = _TopicFile(directory / labels_name(avro_name), labels[name], name, syncs[name])
        except OSError as exc:
            self.close()
            where = str(exc.filename or directory)  # the file that failed, where the system names it
            raise SinkError(f"file sink: cannot write to {quoted(where)}: {_why(exc)}") from None
        except SinkError:
            self.close()
            raise
        ctx.log.info("file_sink_open", dir=str(directory.resolve()), topics=len(self._files), codec=settings.file.codec)
        if placeholders.shared_parent(settings.file.dir) is not None:
            unlinked = outdir.link_latest(directory)
            if unlinked is not None:
                ctx.log.warning("latest_not_linked", reason=unlinked)

    @staticmethod
    def _sync(ctx: SinkContext, topic: Topic) -> bytes:
        # A seeded run must be byte-identical, so its sync markers derive from the seed.
        if ctx.settings.run.seed is None:
            return os.urandom(16)
        return hashlib.blake2b(f"{ctx.settings.run.seed}:{topic.name}".encode(), digest_size=16).digest()

    def write(self, batch: Sequence[Event]) -> None:
        files, produced, labelled = self._files, self._ledger.produced, self._labelled
        for event in batch:
            tf = files[event.topic.name]
            tf.pending.append(event.avro())
            produced[tf.name] += 1
            if labelled:
                _label(tf.runs, event)
            if len(tf.pending) >= BLOCK_RECORDS:
                self._write_block(tf)

    def poll(self) -> None:
        if self._timed_flush and time.monotonic() - self._last_flush >= FLUSH_EVERY_S:
            self.flush(0)

    def flush(self, timeout_s: float) -> int:
        for tf in self._files.values():
            if tf.pending:
                self._write_block(tf)
        self._last_flush = time.monotonic()
        return 0

    def close(self) -> None:
        """Write what is left of every topic that can still be written.

        Raises the first failure unless one was raised already: that one is the cause.
        """
        reported = self._failure is not None
        for tf in self._files.values():
            if tf.pending and tf.fd >= 0:
                with contextlib.suppress(SinkError):  # kept in self._failure
                    self._write_block(tf)
            tf.close()
            if tf.labels is not None:
                tf.labels.close()
        if self._claim >= 0:
            os.close(self._claim)
            self._claim = -1
        if self._failure is not None and not reported:
            raise self._failure

    def _write_block(self, tf: _TopicFile) -> None:
        count = len(tf.pending)
        block = self._block(tf.pending, tf.sync)
        tf.pending.clear()
        try:
            tf.append(block)
        except OSError as exc:
            self._ledger.failed[tf.name] += count
            tf.runs.clear()
            raise self._failed(tf, exc) from None
        self._ledger.delivered[tf.name] += count
        if tf.labels is not None:
            rows = [run.avro() for run in tf.runs]
            tf.runs.clear()
            try:
                tf.labels.append(self._block(rows, tf.labels.sync))
            except OSError as exc:
                raise self._failed(tf.labels, exc) from None

    def _block(self, encoded: list[bytes], sync: bytes) -> bytes:
        """One container block of ``encoded`` records."""
        data = b"".join(encoded)
        if self._deflate:
            packer = zlib.compressobj(1, zlib.DEFLATED, -15)
            data = packer.compress(data) + packer.flush()
        return b"".join((serde.avro_long(len(encoded)), serde.avro_long(len(data)), data, sync))

    def _failed(self, tf: _TopicFile, exc: OSError) -> SinkError:
        """The error of a block that could not be written, kept as the run's first failure if it is."""
        error = SinkError(
            f"file sink: cannot write {quoted(str(tf.path))}: {_why(exc)}; the file ends at its last complete block"
        )
        self._failure = self._failure or error
        return error


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


def _label(runs: list[_Run], event: Event) -> None:
    """Count ``event`` in the run of its labels: the last one, or a new one when they differ."""
    entity = event.entity
    # An injected event is emitted at ts_ms, but its record holds its own time.
    delay = event.ts_ms - entity.event_ts_ms if isinstance(entity, Injected) else 0
    phase, anomaly = event.phase, event.anomaly
    last = runs[-1] if runs else None
    if last is not None and last.phase == phase and last.anomaly == anomaly and last.delay_ms == delay:
        last.records += 1
    else:
        runs.append(_Run(phase, anomaly, delay))
