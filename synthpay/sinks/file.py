"""The embedded default sink: one Avro object container file per topic, ``<dir>/<topic>.avro``
(``<topic>.part<index>.avro`` per instance when a run is split, e.g. ``--processes``).

The container format is written directly (header, then blocks of pre-encoded records) so
the file sink reuses the same fast encoder as Kafka. Block boundaries depend only on each
topic's record count (plus a once-a-second flush under the real clock, so files can be
read while a long run goes on), which keeps ``--seed`` runs under the virtual clock
byte-identical. The run first claims its directory (see ``outdir``): ``file.dir`` with the
run id in place of ``{run_id}``, and then points ``latest`` beside it at it.
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


class _TopicFile:
    """One topic's file. It only ever grows by a whole header or block: a write that fails
    (a full disk) is cut off again, so the file always ends on a complete block."""

    __slots__ = ("fd", "name", "path", "pending", "size", "sync")

    def __init__(self, path: Path, header: bytes, name: str, sync: bytes) -> None:
        self.name = name
        self.path = path
        self.sync = sync
        self.pending: list[bytes] = []
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


def _header(topic: Topic, sync: bytes, codec: str) -> bytes:
    """The container header of ``topic``'s file; SinkError when its schema cannot be read."""
    try:
        schema = serde.schema_text(topic.schema)
    except OSError as exc:
        raise SinkError(f"file sink: cannot read the {topic.schema!r} schema for {topic.name!r}: {_why(exc)}") from None
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
        headers = {topic.name: _header(topic, syncs[topic.name], settings.file.codec) for topic in ctx.topics}
        try:
            self._claim = outdir.claim(directory, ctx.run_id, settings.file.overwrite)
            for name, header in headers.items():
                self._files[name] = _TopicFile(
                    directory / file_name(name, settings.run.instance_index, settings.run.instance_count),
                    header,
                    name,
                    syncs[name],
                )
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
        files, produced = self._files, self._ledger.produced
        for event in batch:
            tf = files[event.topic.name]
            tf.pending.append(event.avro())
            produced[tf.name] += 1
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
        if self._claim >= 0:
            os.close(self._claim)
            self._claim = -1
        if self._failure is not None and not reported:
            raise self._failure

    def _write_block(self, tf: _TopicFile) -> None:
        data = b"".join(tf.pending)
        if self._deflate:
            packer = zlib.compressobj(1, zlib.DEFLATED, -15)
            data = packer.compress(data) + packer.flush()
        count = len(tf.pending)
        tf.pending.clear()
        try:
            tf.append(b"".join((serde.avro_long(count), serde.avro_long(len(data)), data, tf.sync)))
        except OSError as exc:
            self._ledger.failed[tf.name] += count
            error = SinkError(
                f"file sink: cannot write {quoted(str(tf.path))}: {_why(exc)}; the file ends at its last complete block"
            )
            self._failure = self._failure or error
            raise error from None
        self._ledger.delivered[tf.name] += count
