"""``file.format = "parquet"``: per topic, a series of Parquet files ``<stem>.<seq>.parquet``.

A Parquet file can be read only once its footer is written, when it is closed, so a long
run rotates: a topic's file is completed once it holds ``file.rotate_rows`` rows, or under
the real clock every ``file.rotate_s`` seconds, and the next one begun (``seq`` counts from
000000). Each is written as ``.<name>.tmp`` and renamed when complete, so a reader (DuckDB's
``read_parquet('out/latest/payment-completed.*.parquet')``, Spark) only ever finds whole
files. Rows go in row groups of up to ``ROW_GROUP_ROWS``, compressed with zstd; the Arrow
schema is derived from the topic's ``.avsc`` (:mod:`synthpay.formats.arrow`).

Imports pyarrow: the sink imports this module only when the format is chosen.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow.parquet as pq

from synthpay.config.settings import Settings
from synthpay.formats.arrow import TopicTables
from synthpay.model.events import Event
from synthpay.sinks.file_names import parquet_name
from synthpay.sinks.topic_writer import FileFormat, Target, TopicWriter, schema_text

#: Rows per row group at most (fewer when files rotate sooner): a block of the sink's. Not
#: more: the events of a block are held until it is written, and every topic holding many
#: makes the garbage collector's full passes slower (65,536 ran 25% slower for 1 byte less
#: per event).
ROW_GROUP_ROWS = 1 << 13
COMPRESSION = "zstd"


def prepare(target: Target) -> Callable[[], TopicWriter]:
    """Derive the Arrow schema now (an install without the .avsc fails before the directory is touched)."""
    schema_text(target.topic.schema, target.topic.name)
    tables = TopicTables(target.topic, target.labels)
    return lambda: ParquetWriter(target.directory, target.stem, tables, target.settings.file.rotate_rows)


class ParquetWriter:
    """One topic's Parquet files: the one in progress under its temporary name, and the complete ones."""

    __slots__ = ("_directory", "_rotate_rows", "_rows", "_seq", "_stem", "_tables", "_writer", "readable")

    def __init__(self, directory: Path, stem: str, tables: TopicTables, rotate_rows: int) -> None:
        self._directory = directory
        self._stem = stem
        self._tables = tables
        self._rotate_rows = rotate_rows
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0  # in the file in progress
        self._seq = 0
        self.readable = 0

    @property
    def path(self) -> Path:
        return self._directory / parquet_name(self._stem, self._seq)

    @property
    def _temporary(self) -> Path:
        return self._directory / f".{parquet_name(self._stem, self._seq)}.tmp"

    def write(self, block: Sequence[Event], complete: bool) -> None:
        start = 0
        while start < len(block):
            part = block[start : start + self._rotate_rows - self._rows]
            self._append(part)
            start += len(part)
            if self._rows >= self._rotate_rows:
                self._complete()
        if complete and self._rows:
            self._complete()

    def _append(self, events: Sequence[Event]) -> None:
        """``events`` as one row group of the file in progress, begun if need be."""
        table = self._tables.table(events)
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self._temporary, self._tables.schema, compression=COMPRESSION, use_dictionary=self._tables.repeated
            )
        self._writer.write_table(table, row_group_size=len(events))
        self._rows += len(events)

    def _complete(self) -> None:
        """Write the footer, and give the file its name: now a reader finds it whole."""
        assert self._writer is not None
        writer, self._writer = self._writer, None
        writer.close()
        os.replace(self._temporary, self.path)
        self.readable += self._rows
        self._rows = 0
        self._seq += 1

    def close(self) -> None:
        if self._rows:
            self._complete()

    def abandon(self) -> None:
        """Drop the file in progress: without its footer it is no Parquet file."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()
        self._temporary.unlink(missing_ok=True)
        self._rows = 0


def _block_rows(settings: Settings) -> int:
    return min(ROW_GROUP_ROWS, settings.file.rotate_rows)


PARQUET = FileFormat("parquet", prepare, _block_rows, lambda settings: settings.file.rotate_s)
