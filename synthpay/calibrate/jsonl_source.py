"""JSON-lines files: one JSON object an event, its keys the columns (see :mod:`tabular`).

The file sink's ``.jsonl`` files are read the same way, with the default columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_errors import at
from synthpay.calibrate.source_options import SourceOptions
from synthpay.calibrate.tabular import check_columns, observations

#: What JSON calls the value a line holds, when it is no object.
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def first_keys(path: Path, name: str) -> list[str] | None:
    """The keys of the first object of ``path`` (None: no object); SourceError when it is no JSON object."""
    with _opened(path, name) as f:
        for line, text in enumerate(f, 1):
            if text.strip():
                return list(_object(name, line, text))
    return None


def check_jsonl(path: Path, name: str, options: SourceOptions) -> None:
    """SourceError now, not mid-read, when the file is empty or its first object lacks a column."""
    keys = first_keys(path, name)
    if keys is None:
        raise at(name, None, "no events (the file is empty)")
    check_columns(name, "line 1", keys, options)


def read_jsonl(path: Path, name: str, options: SourceOptions) -> Iterator[Observation]:
    """Every object of ``path`` as an event, in file order."""
    with _opened(path, name) as f:
        yield from observations(name, _rows(f, name, options), options)


def _rows(f: TextIO, name: str, options: SourceOptions) -> Iterator[tuple[int, Mapping[str, object]]]:
    for line, text in enumerate(f, 1):
        if text.strip():
            row = _object(name, line, text)
            check_columns(name, f"line {line}", row, options)
            yield line, row


def _object(name: str, line: int, text: str) -> dict[str, object]:
    try:
        row = json.loads(text)
    except ValueError as exc:
        raise at(name, f"line {line}", f"not JSON: {exc}") from None
    if not isinstance(row, dict):
        raise at(name, f"line {line}", f"a JSON {_JSON_TYPES.get(type(row), 'value')}, not an object")
    return row


def _opened(path: Path, name: str) -> TextIO:
    try:
        return path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise at(name, None, f"cannot read: {exc.strerror}") from None
