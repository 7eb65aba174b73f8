"""``synthpay schema``: the schema of each record type in a registered value format, as a Kafka run registers it."""

from __future__ import annotations

import contextlib
import sys

from synthpay.cli.exitcodes import ExitCode
from synthpay.formats.values import RECORD_TYPES, REGISTERED


def command(format_name: str, record: str | None) -> ExitCode:
    """Print ``record``'s schema in ``format_name``, or every record type's, each under a heading line."""
    fmt = REGISTERED[format_name]
    shown = (
        fmt.schema(record)
        if record is not None
        else "\n".join(f"==> {name} <==\n{fmt.schema(name)}" for name in RECORD_TYPES)
    )
    with contextlib.suppress(BrokenPipeError):  # the reader (`| head`) took what it wanted
        sys.stdout.write(shown)
    return ExitCode.OK
