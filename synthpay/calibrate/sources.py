"""SOURCE arguments of ``fit`` and ``compare`` to one stream of events in arrival order.

A SOURCE is a file sink directory, a file (``.avro``, ``.csv``, ``.jsonl``, ``.parquet``) or
the word ``kafka``. Each file (each stem of a directory, each Kafka read) is a stream in
non-decreasing ``arrival_ms``; :meth:`Source.observations` merges them by it. A Kafka read
interleaves partitions, and CSV/JSON lines with an arrival column are in file order, so
those are only roughly in order: the profiler orders a payment's events by ``arrival_ms``.

What is wrong with a SOURCE is a :class:`SourceError`: at :func:`open_sources` for what can
be seen up front (no such file, an unknown kind, a missing column, no cluster configured),
else while reading (an unparsable time on line 7, a file with no events).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from synthpay.calibrate.avro_source import avro_batches, check_avro
from synthpay.calibrate.csv_source import check_csv, read_csv
from synthpay.calibrate.jsonl_source import check_jsonl, read_jsonl
from synthpay.calibrate.kafka_source import NAME as KAFKA
from synthpay.calibrate.kafka_source import check_kafka, read_kafka, status_topics
from synthpay.calibrate.merge import batched, merge
from synthpay.calibrate.observations import Observation
from synthpay.calibrate.parquet_source import parquet_fields, read_parquet
from synthpay.calibrate.sink_dir import SINK_COLUMNS, sink_streams
from synthpay.calibrate.source_errors import at
from synthpay.calibrate.source_options import SourceOptions
from synthpay.calibrate.tabular import check_columns
from synthpay.config.settings import Settings

#: What a SOURCE may be, in the words of an error.
KINDS = "a file sink directory, a .avro, .csv, .jsonl or .parquet file, or the word kafka"


@dataclass(frozen=True, slots=True)
class _Input:
    """One SOURCE argument: its name and its streams (a directory has one a stem)."""

    name: str
    streams: tuple[Callable[[], Iterator[list[Observation]]], ...]
    record_timestamps: bool


@dataclass(frozen=True, slots=True)
class Source:
    """The SOURCE arguments, opened: read them with :meth:`observations` (each call reads again)."""

    #: Each SOURCE as given, in order (``kafka`` as ``kafka (topic, ...)``).
    names: tuple[str, ...]
    #: True when every event's arrival is a record timestamp (Kafka, an arrival column), so
    #: lateness can be measured; False when arrival is the largest event time read so far.
    record_timestamps: bool
    _inputs: tuple[_Input, ...]

    def observations(self) -> Iterator[Observation]:
        """Every event of every SOURCE, merged by ``arrival_ms``; SourceError when a SOURCE has none."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Observation]]:
        """:meth:`observations` in lists, as read: the cheaper way to a profiler that takes them so."""
        counts = [0] * len(self._inputs)
        streams = [_counted(read(), counts, i) for i, one in enumerate(self._inputs) for read in one.streams]
        yield from merge(streams)
        for one, count in zip(self._inputs, counts, strict=True):
            if not count:
                raise at(one.name, None, "no events")


def _counted(batches: Iterator[list[Observation]], counts: list[int], index: int) -> Iterator[list[Observation]]:
    for batch in batches:
        counts[index] += len(batch)
        yield batch


def open_sources(specs: Sequence[str], options: SourceOptions, settings: Settings | None) -> Source:
    """The SOURCE arguments ``specs``, checked as far as can be without reading them.

    ``options`` names the columns of CSV and JSON-lines files; ``settings`` (the ``--config``
    given) names the cluster, the topics and the value format of ``kafka``.
    """
    if not specs:
        raise at("SOURCE", None, f"none given: expected {KINDS}")
    inputs = tuple(_open(spec, options, settings) for spec in specs)
    return Source(
        names=tuple(one.name for one in inputs),
        record_timestamps=all(one.record_timestamps for one in inputs),
        _inputs=inputs,
    )


def _open(spec: str, options: SourceOptions, settings: Settings | None) -> _Input:
    if spec == KAFKA:
        checked = check_kafka(settings)
        name = f"{KAFKA} ({', '.join(status_topics(checked))})"
        return _Input(name, (lambda: batched(read_kafka(checked)),), record_timestamps=True)
    path = Path(spec)
    if path.is_dir():
        return _Input(spec, tuple(s.read for s in sink_streams(path, spec)), record_timestamps=False)
    if not path.exists():
        raise at(spec, None, "no such file or directory")
    suffix = path.suffix.lower()
    if suffix == ".avro":
        check_avro(path, spec)
        return _Input(spec, (partial(avro_batches, path, spec),), record_timestamps=False)
    if suffix == ".csv":
        check_csv(path, spec, options)
        return _Input(spec, (lambda: batched(read_csv(path, spec, options)),), bool(options.arrival))
    if suffix in (".jsonl", ".ndjson"):
        check_jsonl(path, spec, options)
        return _Input(spec, (lambda: batched(read_jsonl(path, spec, options)),), bool(options.arrival))
    if suffix == ".parquet":
        check_columns(spec, None, parquet_fields(path, spec), SINK_COLUMNS)
        return _Input(spec, (lambda: batched(read_parquet([path], spec)),), record_timestamps=False)
    raise at(spec, None, f"not a kind of input fit reads: expected {KINDS}")
