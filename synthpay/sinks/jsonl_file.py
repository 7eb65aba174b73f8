"""``file.format = "jsonl"``: one JSON lines file per topic, ``<stem>.jsonl``.

Each line is one record as compact JSON (:mod:`synthpay.formats.json_values`: the schema's
fields in its order), then the run's label fields (:mod:`synthpay.formats.label_fields`).
Lines are written a block at a time, and a block that cannot be written whole is cut off
again, so a reader of a growing file only ever sees complete lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from synthpay.formats import json_values, label_fields
from synthpay.model.events import Event
from synthpay.sinks.topic_writer import AppendFile, FileFormat, Target, TopicWriter, schema_text

BLOCK_LINES = 1000
FLUSH_EVERY_S = 1.0
SUFFIX = ".jsonl"


def prepare(target: Target) -> Callable[[], TopicWriter]:
    """Read the schema now (an install without it fails before the directory is touched)."""
    schema_text(target.topic.schema, target.topic.name)
    path = target.directory / f"{target.stem}{SUFFIX}"
    return lambda: JsonlWriter(path, target)


def _text(value: str | None) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


class JsonlWriter:
    """One topic's ``.jsonl`` file."""

    __slots__ = ("_anomalies", "_encode", "_file", "_heads", "_labels", "_phased", "readable")

    def __init__(self, path: Path, target: Target) -> None:
        self._encode = json_values.encoder(target.topic)
        self._labels = target.labels
        self._phased = target.labels.phased and not target.topic.compacted
        self._anomalies = target.labels.anomalies
        self._heads: dict[str, bytes] = {}  # per phase: the labels every record in it carries
        self.readable = 0
        self._file = AppendFile(path)

    @property
    def path(self) -> Path:
        return self._file.path

    def write(self, block: Sequence[Event], complete: bool) -> None:
        if not block:
            return
        encode, heads = self._encode, self._heads
        if self._anomalies:
            lines = [
                b'%b%b,"%b":%b,"%b":%d}\n'
                % (
                    encode(e)[:-1],
                    heads.get(e.topic.phase) or self._head(e.topic.phase),
                    label_fields.ANOMALY.encode(),
                    _text(e.anomaly or None),
                    label_fields.EMITTED.encode(),
                    e.ts_ms,
                )
                for e in block
            ]
        elif self._labels.phased:
            lines = [encode(e)[:-1] + (heads.get(e.topic.phase) or self._head(e.topic.phase)) + b"}\n" for e in block]
        else:  # one tail for every record: the bulk of runs
            tail = (heads.get("") or self._head("")) + b"}\n"
            lines = [encode(e)[:-1] + tail for e in block]
        self._file.append(b"".join(lines))
        self.readable += len(block)

    def _head(self, phase: str) -> bytes:
        """``,"_run_id":...`` (and ``,"_phase":...``) of the records of ``phase``, made once."""
        head = b',"%b":%b' % (label_fields.RUN_ID.encode(), _text(self._labels.run_id))
        if self._labels.phased:
            head += b',"%b":%b' % (label_fields.PHASE.encode(), _text(phase if self._phased else None))
        self._heads[phase] = head
        return head

    def close(self) -> None:
        self._file.close()

    def abandon(self) -> None:
        """Nothing written is unreadable: every block is whole."""


JSONL = FileFormat("jsonl", prepare, lambda settings: BLOCK_LINES, lambda settings: FLUSH_EVERY_S)
