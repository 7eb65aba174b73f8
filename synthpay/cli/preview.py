"""``synthpay preview``: a run's first payment events and their headers, printed; nothing is sent anywhere.

The run is the real one (the same settings, seed and start give the same events as ``run``),
into a sink of the preview's own that prints each event and ends the run once it has shown
enough: readable blocks at a terminal, otherwise the JSON lines ``--sink stdout`` writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.text import Text

from synthpay.cli import run
from synthpay.cli.exitcodes import ExitCode
from synthpay.config.clocks import profile
from synthpay.config.settings import Settings
from synthpay.engine.identity import resolve_identity
from synthpay.model import serde
from synthpay.model.events import ANOMALY, Event, Labels
from synthpay.services.logs import make_logger, terminal
from synthpay.sinks.base import ReaderGone, SinkContext, SynchronousSink
from synthpay.sinks.stdout import json_line

#: Payment events a preview shows without --count (and without --follow).
DEFAULT_COUNT = 10


@dataclass(frozen=True, slots=True)
class Options:
    """What the preview shows, and how."""

    count: int | None  # payment events to show before it stops; None: until the run ends or is stopped
    banks: bool  # bank records too (they do not count)
    pretty: bool  # readable blocks, else JSON lines


def options(parsed: argparse.Namespace, stream: TextIO) -> Options:
    """The preview's options from its command line; ``--format auto`` is pretty when ``stream`` is a terminal."""
    count = parsed.count if parsed.count is not None else (None if parsed.follow else DEFAULT_COUNT)
    pretty = parsed.format == "pretty" or (parsed.format == "auto" and stream.isatty())
    return Options(count, parsed.banks, pretty)


def flags(given: Mapping[str, object], *, follow: bool) -> dict[str, object]:
    """The command line's settings, with what a preview changes of a run.

    The virtual clock (the real one with --follow), logs at warning, unless the command line
    says otherwise; one process, whose events are the run's first; a stop (Ctrl-C) that cuts
    at once, without the grace a run gives payments in flight.
    """
    return {
        **given,
        "run.clock": given.get("run.clock") or ("real" if follow else "virtual"),
        "run.log_level": given.get("run.log_level") or "warning",
        "run.processes": "1",
        "run.shutdown_grace_s": "0",
    }


def command(settings: Settings, shown: Options, prepare: run.Prepare) -> ExitCode:
    """Run the engine into the preview's sink; OK once it has shown its events, or the run ended or was stopped."""
    log = make_logger(settings.run.log_level, console=terminal(settings.run.log_format))
    prepare(profile(settings.run.clock))
    stream = sys.stdout

    def sink(ctx: SinkContext) -> PreviewSink:
        return PreviewSink(ctx, shown, stream)

    ended = run.generate(settings, sink, resolve_identity(settings.run), (), log, None, companions=False)
    if not isinstance(ended, run.Ended):
        return run.stopped(ended, log)
    if ended.failure is not None and not isinstance(ended.failure, ReaderGone):
        run.report_failure(ended.failure, log)
        return ExitCode.FAILED
    return ExitCode.OK


class PreviewSink(SynchronousSink):
    """Prints each event it is shown, and ends the run (``ReaderGone``) after ``count`` payment events."""

    def __init__(self, ctx: SinkContext, shown: Options, stream: TextIO) -> None:
        self._ledger = ctx.ledger
        self._labels = ctx.labels
        self._shown = shown
        self._left = shown.count
        self._out = stream
        # rich reads TERM=dumb and whether the stream is a terminal itself; NO_COLOR (which
        # rich takes to allow bold and dim) means plain text here, the fields being the point.
        plain = os.environ.get("NO_COLOR", "") != ""
        self._console = (
            _Console(file=stream, highlight=False, soft_wrap=True, color_system=None if plain else "auto")
            if shown.pretty
            else None
        )

    def write(self, batch: Sequence[Event]) -> None:
        chosen = self._chosen(batch)
        try:
            if self._console is not None:
                for event in chosen:
                    self._console.print(block(event, self._labels))
            else:
                self._out.write("".join(json_line(event, self._labels) + "\n" for event in chosen))
            self._out.flush()
        except BrokenPipeError:
            raise ReaderGone("stdout was closed by the reader") from None
        self._ledger.written(batch)
        if self._left == 0:
            raise ReaderGone(f"the preview has shown its {self._shown.count} payment events")

    def _chosen(self, batch: Sequence[Event]) -> list[Event]:
        """The events of ``batch`` to show: its payment events up to the count, and banks if asked."""
        chosen = []
        for event in batch:
            if self._left == 0:
                break
            if event.topic.compacted:
                if self._shown.banks:
                    chosen.append(event)
                continue
            chosen.append(event)
            if self._left is not None:
                self._left -= 1
        return chosen


class _Console(Console):
    """A rich console that leaves a closed pipe to the sink: rich's own answer exits the process."""

    def on_broken_pipe(self) -> None:
        """Raise it again, for PreviewSink.write to end the run as the reader asked."""
        raise BrokenPipeError


def block(event: Event, labels: Labels) -> Text:
    """``event`` for a person: topic, key and record time, then its value's fields, then its headers."""
    value = event.record()
    if value.get("id") == event.key:
        del value["id"]  # the key says it
    headers = labels.of(event)
    return Text.assemble(
        (event.topic.name, "bold cyan"),
        "  ",
        (event.key, "bold"),
        "  ",
        serde.rfc3339_ms(event.ts_ms),
        "\n  value    ",
        _fields(value),
        "\n  headers  ",
        _fields(headers, marked=ANOMALY),
    )


def _fields(fields: Mapping[str, object], marked: str = "") -> Text:
    """``name=value`` pairs, the names dim, ``marked``'s value standing out."""
    text = Text()
    for name, value in fields.items():
        if text:
            text.append("  ")
        text.append(f"{name}=", "dim")
        text.append(str(value), "bold red" if name == marked else "")
    return text
