"""Rows of a CSV or JSON-lines file to events, by the columns :class:`SourceOptions` names.

Both readers hand rows here as mappings from column name to value (text for CSV, any JSON
value for JSON lines); what a row lacks or holds wrongly is a :class:`SourceError` naming
the file, the line and the column.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Mapping

from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_errors import at
from synthpay.calibrate.source_options import NotATime, SourceOptions, parse_time


def required(options: SourceOptions) -> tuple[str, ...]:
    """The columns every row must have: id, status, time, and the arrival column when named."""
    return (options.id, options.status, options.time, *((options.arrival,) if options.arrival else ()))


def check_columns(name: str, row: str | None, columns: Collection[str], options: SourceOptions) -> None:
    """SourceError naming the first required column ``columns`` lacks, and the ones it has."""
    for column in required(options):
        if column not in columns:
            has = ", ".join(str(c) for c in columns) or "none"
            raise at(name, row, f'no column "{column}" (the columns are: {has})')


def observations(
    name: str, rows: Iterable[tuple[int, Mapping[str, object]]], options: SourceOptions
) -> Iterator[Observation]:
    """Each ``(line, row)`` as an event; arrival is the arrival column, else the running max of times.

    Rows are taken in file order: without an arrival column, the order they were written in
    is the order the events arrived in (export a table sorted by its time column).
    """
    arrival_ms = -(2**63)
    for line, row in rows:
        where = f"line {line}"
        ts_ms = _time(name, where, row, options.time, options)
        if options.arrival:
            arrival_ms = _time(name, where, row, options.arrival, options)
        elif ts_ms > arrival_ms:
            arrival_ms = ts_ms
        yield Observation(
            _text(name, where, row, options.id),
            _text(name, where, row, options.status),
            ts_ms,
            arrival_ms,
            _optional_text(row.get(options.source)),
            _optional_text(row.get(options.destination)),
            _amount(name, where, row, options.amount),
            _optional_text(row.get(options.currency)),
        )


def _text(name: str, where: str, row: Mapping[str, object], column: str) -> str:
    value = row.get(column)
    text = _optional_text(value)
    if text is None:
        raise at(name, where, f"{column} is {'missing' if column not in row else 'empty'}")
    return text


def _optional_text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None


def _time(name: str, where: str, row: Mapping[str, object], column: str, options: SourceOptions) -> int:
    if column not in row:
        raise at(name, where, f"{column} is missing")
    value = row[column]
    try:
        return parse_time(value, options.time_unit)
    except NotATime as exc:
        raise at(name, where, f"{column} {_shown(value)} is not a time ({exc})") from None


def _amount(name: str, where: str, row: Mapping[str, object], column: str) -> float | None:
    value = row.get(column)
    if value is None or value == "":
        return None
    try:
        amount = float(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else math.nan
    except ValueError:
        amount = math.nan
    if not math.isfinite(amount):
        raise at(name, where, f"{column} {_shown(value)} is not a number")
    return amount


def _shown(value: object) -> str:
    """A value as an error quotes it: text in double quotes, shortened; JSON values as JSON."""
    text = f'"{value}"' if isinstance(value, str) else ("null" if value is None else str(value))
    return text if len(text) <= 60 else text[:57] + "..."
