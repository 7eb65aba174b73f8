"""CSV files: a header row naming the columns, then one event a row (see :mod:`tabular`)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Protocol, TextIO

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_errors import at
from synthpay.calibrate.source_options import SourceOptions
from synthpay.calibrate.tabular import check_columns, observations


class _Reader(Protocol):
    """A csv.reader: rows, and the physical line the last one ended on."""

    @property
    def line_num(self) -> int: ...

    def __iter__(self) -> Iterator[list[str]]: ...

    def __next__(self) -> list[str]: ...


def check_csv(path: Path, name: str, options: SourceOptions) -> None:
    """SourceError now, not mid-read, when the file cannot be read or its header lacks a column."""
    with _opened(path, name) as f:
        header = next(csv.reader(f), None)
    if header is None:
        raise at(name, None, "no events (the file is empty)")
    check_columns(name, "line 1", [h.strip() for h in header], options)


def read_csv(path: Path, name: str, options: SourceOptions) -> Iterator[Observation]:
    """Every row of ``path`` as an event, in file order."""
    with _opened(path, name) as f:
        reader: _Reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader, [])]
            yield from observations(name, _rows(reader, header), options)
        except csv.Error as exc:
            raise at(name, f"line {reader.line_num}", f"not CSV: {exc}") from None


def _rows(reader: _Reader, header: list[str]) -> Iterator[tuple[int, Mapping[str, object]]]:
    for cells in reader:
        if cells:  # a blank line holds no row
            yield reader.line_num, dict(zip(header, cells, strict=False))


def _opened(path: Path, name: str) -> TextIO:
    try:
        # utf-8-sig: a spreadsheet's export starts with a byte-order mark, no part of the first column's name.
        return path.open(newline="", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise at(name, None, f"cannot read: {exc.strerror}") from None
