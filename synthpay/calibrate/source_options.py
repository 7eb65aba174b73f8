"""How CSV and JSON-lines rows map to events: the columns, and how a time is written.

The defaults fit an export of a status-history table (``id,status,ts``); other names are
given by flags, e.g. ``payment_id,status,changed_at`` with ``--id-column payment_id
--time-column changed_at``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: An integer time above this is in milliseconds, at or below it in seconds: 1e11 s is the
#: year 5138, 1e11 ms March 1973; no payment data lies on the wrong side of either.
MS_ABOVE = 10**11
#: What ``--time-unit`` accepts, in the words of an error.
TIME_WORDS = "epoch ms, epoch s or ISO 8601"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class TimeUnit(enum.StrEnum):
    """How the time column is written."""

    AUTO = "auto"  # integers above 1e11 are ms, others s; text is ISO 8601
    MS = "ms"
    S = "s"
    ISO = "iso"


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """The column names of CSV and JSON-lines inputs, and how their times are written.

    ``arrival`` names a record (ingest) timestamp column: with it the input has record
    timestamps, without it an event arrives at the largest event time read so far. The
    optional columns (``source`` and on) are used when the header has them.
    """

    id: str = "id"
    status: str = "status"
    time: str = "ts"
    time_unit: TimeUnit = TimeUnit.AUTO
    arrival: str | None = None
    source: str = "source"
    destination: str = "destination"
    amount: str = "amount"
    currency: str = "currency"


class NotATime(ValueError):
    """A value that is no time in the unit asked for; its text says what was expected."""


def parse_time(value: object, unit: TimeUnit) -> int:
    """Epoch milliseconds of a time as read from a CSV cell (text) or a JSON value.

    Raises NotATime (its text what was expected) when ``value`` is none.
    """
    if isinstance(value, bool) or value is None:
        raise NotATime(_expected(unit))
    if isinstance(value, str):
        text = value.strip()
        number = _number(text)
        if number is None:
            if unit in (TimeUnit.AUTO, TimeUnit.ISO):
                return _iso(text)
            raise NotATime(_expected(unit))
        value = number
    if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise NotATime(_expected(unit))
    if unit is TimeUnit.ISO:
        raise NotATime(_expected(unit))
    if unit is TimeUnit.MS or (unit is TimeUnit.AUTO and value > MS_ABOVE):
        return round(value)
    return round(value * 1000)


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _iso(text: str) -> int:
    """An ISO 8601 time with a UTC offset (or Z) in epoch ms; a time without one is ambiguous."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise NotATime(TIME_WORDS) from None
    if moment.tzinfo is None:
        raise NotATime("ISO 8601 with a UTC offset (Z or +hh:mm)")
    return (moment - _EPOCH) // _MS


def _expected(unit: TimeUnit) -> str:
    return {
        TimeUnit.AUTO: TIME_WORDS,
        TimeUnit.MS: "epoch ms",
        TimeUnit.S: "epoch s",
        TimeUnit.ISO: "ISO 8601",
    }[unit]
