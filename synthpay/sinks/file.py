"""The embedded default sink: one file per topic in ``file.format`` (Avro by default), in a directory of the run's own.

``<dir>/<stem>`` plus the format's suffix, the stem being the topic's name, or
``<topic>.part<index>`` per instance when a run is split (e.g. ``--processes``). The run
first claims its directory (see ``outdir``): ``file.dir`` with the run id in place of
``{run_id}``, and then points ``latest`` beside it at it.

This module keeps what every format shares: the directory, each topic's block of pending
events, the ledger, the periodic flush under the real clock (so a long run's files can be
read while it goes on), and what a failure means. Each format's writer
(:mod:`~synthpay.sinks.topic_writer`) turns a block of events into its files:
:mod:`~synthpay.sinks.avro_file`, :mod:`~synthpay.sinks.jsonl_file` and
:mod:`~synthpay.sinks.parquet_file` (imported only when chosen: it needs pyarrow).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from synthpay.config import placeholders
from synthpay.config.clocks import profile
from synthpay.config.errors import quoted
from synthpay.config.settings import Settings
from synthpay.model.events import Event
from synthpay.sinks import outdir
from synthpay.sinks.avro_file import AVRO
from synthpay.sinks.base import SinkContext, SinkError, SinkRefused
from synthpay.sinks.file_names import stem
from synthpay.sinks.jsonl_file import JSONL
from synthpay.sinks.topic_writer import FileFormat, Target, TopicWriter, why


def file_format(settings: Settings) -> FileFormat:
    """The writer of ``file.format``; SinkRefused, before anything is written, when it cannot be used."""
    name = settings.file.format
    if name != "parquet":
        return AVRO if name == "avro" else JSONL
    try:
        from synthpay.sinks.parquet_file import PARQUET
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "pyarrow":
            raise
        raise SinkRefused(
            "file.format / --file-format = 'parquet' needs pyarrow, which is not installed: "
            "pip install 'synthpay[parquet]', or choose avro or jsonl"
        ) from None
    return PARQUET


class FileSink:
    """Writes each topic's files; an event counts as delivered once a reader can see it.

    A block that cannot be written counts as failed (and so does what the topic's writer
    held that no reader could see yet), and the run stops; what every other topic still
    holds is written on close if it can be.
    """

    def __init__(self, ctx: SinkContext) -> None:
        settings = ctx.settings
        self._ledger = ctx.ledger
        fmt = file_format(settings)
        self._block_events = fmt.block_events(settings)
        self._flush_every_s = fmt.flush_every_s(settings)
        self._timed_flush = profile(settings.run.clock).timed_flush
        self._last_flush = time.monotonic()
        directory = Path(placeholders.expand(settings.file.dir, ctx.run_id))
        self._pending: dict[str, list[Event]] = {t.name: [] for t in ctx.topics}
        self._writers: dict[str, TopicWriter] = {}
        self._broken: set[str] = set()  # topics whose writer failed: nothing more goes to them
        self._claim = -1
        self._failure: SinkError | None = None  # the first block that could not be written
        labels = ctx.labels
        # What verify reads besides the records: phases, anomaly labels, emission times.
        labelled = bool(settings.phases) or settings.injects_anomalies or settings.entities.popularity == "zipf"
        run = settings.run
        # Before the directory is touched: a schema that cannot be read is no fault of --out.
        openers: dict[str, Callable[[], TopicWriter]] = {
            t.name: fmt.prepare(
                Target(directory, stem(t.name, run.instance_index, run.instance_count), t, settings, labels, labelled)
            )
            for t in ctx.topics
        }
        try:
            self._claim = outdir.claim(directory, ctx.run_id, settings.file.overwrite)
            for name, opener in openers.items():
                self._writers[name] = opener()
        except OSError as exc:
            self.close()
            where = str(exc.filename or directory)  # the file that failed, where the system names it
            raise SinkError(f"file sink: cannot write to {quoted(where)}: {why(exc)}") from None
        except SinkError:
            self.close()
            raise
        ctx.log.info(
            "file_sink_open",
            dir=str(directory.resolve()),
            topics=len(self._writers),
            format=fmt.name,
            codec=settings.file.codec,
        )
        if placeholders.shared_parent(settings.file.dir) is not None:
            unlinked = outdir.link_latest(directory)
            if unlinked is not None:
                ctx.log.warning("latest_not_linked", reason=unlinked)

    def write(self, batch: Sequence[Event]) -> None:
        pending, produced, block = self._pending, self._ledger.produced, self._block_events
        for event in batch:
            name = event.topic.name
            events = pending[name]
            events.append(event)
            produced[name] += 1
            if len(events) >= block:
                self._write_block(name, False)

    def poll(self) -> None:
        if self._timed_flush and time.monotonic() - self._last_flush >= self._flush_every_s:
            self.flush(0)

    def flush(self, timeout_s: float) -> int:
        for name in self._writers:
            if name not in self._broken:
                self._write_block(name, True)
        self._last_flush = time.monotonic()
        return 0

    def close(self) -> None:
        """Write what is left of every topic that can still be written.

        Raises the first failure unless one was raised already: that one is the cause.
        """
        reported = self._failure is not None
        for name, writer in self._writers.items():
            if name not in self._broken:
                with contextlib.suppress(SinkError):  # kept in self._failure
                    self._write_block(name, True)
            try:
                writer.close()
            except OSError as exc:
                self._failed(name, writer, exc)
                with contextlib.suppress(OSError):
                    writer.close()
        if self._claim >= 0:
            os.close(self._claim)
            self._claim = -1
        if self._failure is not None and not reported:
            raise self._failure

    def _write_block(self, name: str, complete: bool) -> None:
        block, writer = self._pending[name], self._writers[name]
        self._pending[name] = []
        before = writer.readable
        try:
            writer.write(block, complete)
        except OSError as exc:
            raise self._failed(name, writer, exc) from None
        self._ledger.delivered[name] += writer.readable - before

    def _failed(self, name: str, writer: TopicWriter, exc: OSError) -> SinkError:
        """Count what no reader will see as failed; the error, kept as the run's first failure if it is."""
        writer.abandon()
        ledger = self._ledger
        ledger.delivered[name] = writer.readable
        ledger.failed[name] = ledger.produced[name] - writer.readable - len(self._pending[name])
        self._broken.add(name)
        where = str(exc.filename or writer.path)
        error = SinkError(
            f"file sink: cannot write {quoted(where)}: {why(exc)}; the file ends at its last complete block"
        )
        self._failure = self._failure or error
        return error
