"""The flags ``fit`` and ``compare`` share for their SOURCE arguments: the columns of CSV and JSON lines."""

from __future__ import annotations

import argparse

from synthpay.calibrate.source_options import SourceOptions, TimeUnit

_DEFAULTS = SourceOptions()
#: Each column flag: its option, its SourceOptions field, what the column holds.
_COLUMNS = (
    ("--id-column", "id", "the payment id"),
    ("--status-column", "status", "the status"),
    ("--time-column", "time", "the event time"),
    ("--source-column", "source", "the paying bank, used when present"),
    ("--destination-column", "destination", "the receiving bank, used when present"),
    ("--amount-column", "amount", "the amount, used when present"),
    ("--currency-column", "currency", "the currency, used when present"),
)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The column flags, in a group of their own; read them back with :func:`source_options`."""
    group = parser.add_argument_group(
        "CSV and JSON-lines columns",
        "how the rows of a .csv or .jsonl SOURCE name their columns (defaults: an export of a "
        "status-history table); e.g. payment_id,status,changed_at: --id-column payment_id --time-column changed_at",
    )
    for flag, field, what in _COLUMNS:
        group.add_argument(
            flag,
            dest=f"{field}_column",
            metavar="NAME",
            default=getattr(_DEFAULTS, field),
            help=f"column of {what} (default: {getattr(_DEFAULTS, field)})",
        )
    group.add_argument(
        "--time-unit",
        choices=[u.value for u in TimeUnit],
        default=_DEFAULTS.time_unit.value,
        help="how times are written: auto (integers above 1e11 are epoch ms, others epoch s; text is ISO 8601 "
        "with Z or an offset), ms, s or iso (default: auto)",
    )
    group.add_argument(
        "--arrival-column",
        metavar="NAME",
        default=None,
        help="column of each row's record (ingest) time, in the time unit: then late events can be measured "
        "(default: none; an event arrives at the latest event time read so far, so rows must be in the order "
        "they were written)",
    )


def source_options(namespace: argparse.Namespace) -> SourceOptions:
    """The SourceOptions the flags of :func:`add_source_arguments` give."""
    return SourceOptions(
        id=namespace.id_column,
        status=namespace.status_column,
        time=namespace.time_column,
        time_unit=TimeUnit(namespace.time_unit),
        arrival=namespace.arrival_column or None,
        source=namespace.source_column,
        destination=namespace.destination_column,
        amount=namespace.amount_column,
        currency=namespace.currency_column,
    )
