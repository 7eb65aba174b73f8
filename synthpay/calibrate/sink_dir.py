"""A file sink's output directory (``synthpay run --out DIR``): its payment topics' files.

The topics are the statuses' in ``summary.json`` when it is there; without it, every
``.avro``, ``.jsonl`` or ``.parquet`` file whose records have ``id``, ``ts`` and ``status``
fields, but the ground truth's (``synthpay-ground-truth``, events a run deliberately did not
emit). Banks files, ``.labels`` sidecars and the summary itself are no events. A run of
several instances writes ``<topic>.part<i>`` files, and Parquet a series
``<stem>.<seq>.parquet`` a stem: each stem is one stream, in emission order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from synthpay.calibrate.avro_source import REQUIRED, avro_batches, field_names
from synthpay.calibrate.jsonl_source import first_keys, read_jsonl
from synthpay.calibrate.merge import batched
from synthpay.calibrate.observations import Observation
from synthpay.calibrate.parquet_source import parquet_fields, read_parquet
from synthpay.calibrate.source_errors import at
from synthpay.calibrate.source_options import SourceOptions, TimeUnit
from synthpay.model.anomalies import GROUND_TRUTH
from synthpay.summary.document import SummaryError
from synthpay.summary.load import load_summary

SUMMARY = "summary.json"
#: The file sink writes ts in epoch ms, under the payment schema's own field names.
SINK_COLUMNS = SourceOptions(time_unit=TimeUnit.MS)
_PARQUET = re.compile(r"(?P<stem>.+)\.(?P<seq>[0-9]{6,})\.parquet")
_PART = re.compile(r"(?P<topic>.+)\.part[0-9]+")


@dataclass(frozen=True, slots=True)
class Stream:
    """One stem's files, read as one stream of events in emission order."""

    name: str
    read: Callable[[], Iterator[list[Observation]]]


def sink_streams(directory: Path, name: str) -> list[Stream]:
    """The payment topics' streams of a file sink directory; SourceError when it has none."""
    topics = _summary_topics(directory, name)
    stems: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        stem = _stem(path)
        if stem is not None and path.is_file():
            stems.setdefault(stem, []).append(path)
    streams = []
    for stem, paths in stems.items():
        topic = m["topic"] if (m := _PART.fullmatch(stem)) else stem
        if topic.endswith(GROUND_TRUTH) or (topics is not None and topic not in topics):
            continue
        paths.sort(key=_sequence)
        if topics is None and not _has_events(paths[0]):
            continue
        streams.append(_stream(paths, f"{name}/{stem}"))
    if not streams:
        raise at(
            name, None, "no payment topic files (.avro, .jsonl or .parquet with id, ts and status) in the directory"
        )
    return streams


def _summary_topics(directory: Path, name: str) -> frozenset[str] | None:
    path = directory / SUMMARY
    if not path.is_file():
        return None
    try:
        summary = load_summary(path)
    except SummaryError as exc:
        raise at(f"{name}/{SUMMARY}", None, str(exc)) from None
    return frozenset(status.topic for status in summary.plan.statuses.values())


def _stem(path: Path) -> str | None:
    if path.name.startswith("."):
        return None  # a lock, or a Parquet file still being written
    if path.suffix in (".avro", ".jsonl"):
        return path.stem
    match = _PARQUET.fullmatch(path.name)
    return match["stem"] if match else None


def _sequence(path: Path) -> int:
    match = _PARQUET.fullmatch(path.name)
    return int(match["seq"]) if match else 0


def _has_events(path: Path) -> bool:
    """True when the file's records are payment events: they have id, ts and status."""
    if path.suffix == ".avro":
        fields = field_names(path, path.name)
    elif path.suffix == ".jsonl":
        fields = first_keys(path, path.name) or []
    else:
        fields = parquet_fields(path, path.name)
    return all(f in fields for f in REQUIRED)


def _stream(paths: list[Path], name: str) -> Stream:
    first = paths[0]
    if first.suffix == ".avro":
        return Stream(name, partial(avro_batches, first, name))
    if first.suffix == ".jsonl":
        return Stream(name, lambda: batched(read_jsonl(first, name, SINK_COLUMNS)))
    return Stream(name, lambda: batched(read_parquet(paths, name)))
