"""The live progress display for a person at a terminal (``log_format`` console).

A batch run gets a bar (payments completed of the total, with what is started, in flight,
events/s, delivered against produced, elapsed and ETA); a continuous run gets a status
line (rate achieved against target, scheduling lag). Both name the phase in force (with
``[[phases]]``) and say "draining" once a stop was requested, while the payments in flight
finish. The engine redraws it from a wall-time
task a couple of times a second, from one snapshot each time, never per event. Log lines
go through the same rich console, which prints them above the display, so the two never
interleave; the display clears itself when generation ends, before the closing tables.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.segment import Segment
from rich.text import Text

from synthpay.config.settings import Settings
from synthpay.engine.snapshot import Snapshot

#: Seconds of wall time between redraws.
PERIOD_S = 0.5
#: Redraws the events/s and ETA figures average over (a few seconds' worth).
RATE_WINDOW = 8
BAR_WIDTH = 32


@dataclass(frozen=True, slots=True)
class Rates:
    """Recent rates, averaged over the last few redraws."""

    events_per_s: float
    completed_per_s: float


class Display:
    """A live region at the bottom of the terminal; use as a context manager around the redraws."""

    period_s = PERIOD_S

    def __init__(self, console: Console, payments: int) -> None:
        self._payments = payments  # 0: a continuous run
        self._samples: deque[Snapshot] = deque(maxlen=RATE_WINDOW)
        # No auto refresh: it would redraw from a thread of rich's own. No redirects: the
        # stdout sink writes events to sys.stdout from the I/O thread.
        self._live = Live(
            console=console, auto_refresh=False, transient=True, redirect_stdout=False, redirect_stderr=False
        )

    def __enter__(self) -> Display:
        self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._live.stop()

    def show(self, snapshot: Snapshot) -> None:
        """Redraw from one engine snapshot."""
        self._samples.append(snapshot)
        self._live.update(render(snapshot, _rates(self._samples), self._payments), refresh=True)


def display(console: Console | None, settings: Settings) -> Display | None:
    """The live display when a person watches the whole run on ``console``, else None.

    None for JSON logs, a console that is not a terminal, one share of a split run (each
    --processes child would draw its own), and stdout events on the same terminal.
    """
    run = settings.run
    if console is None or not console.is_terminal or run.instance_count > 1:
        return None
    if run.sink == "stdout" and sys.stdout.isatty():
        return None
    return Display(console, run.payments)


def render(now: Snapshot, rates: Rates, payments: int) -> RenderableType:
    """The bar (batch) or status line (continuous), then throughput and delivery.

    Plain text lines (a grid per line costs a redraw several times as much).
    """
    failed = (f"failed {now.failed_total:,}", "bold red" if now.failed_total else "")
    throughput: list[str | tuple[str, str]] = [
        f"{rates.events_per_s:,.0f} events/s",
        f"delivered {now.delivered_total:,}/{now.produced_total:,} produced",
        failed,
        f"elapsed {_clock(now.elapsed_s)}",
    ]
    phase = [f"phase {now.phase or '(outside)'}"] if now.phase is not None else []
    if not payments:
        target = f"{now.target_rate:,.1f}/s" if now.target_rate else "unlimited"
        status = _line(
            [
                (f"● {_part(now)}", "bold yellow" if now.draining else "bold green"),
                *phase,
                f"started {now.started:,}",
                f"rate {now.achieved_rate or 0.0:,.1f}/s (target {target})",
                f"lag max {now.lag_max_ms:,} ms",
                f"in flight {now.in_flight:,}",
            ]
        )
        return Group(status, _line(throughput))
    done = min(now.completed, payments)
    eta = _clock((payments - done) / rates.completed_per_s) if rates.completed_per_s > 0 else "--:--"
    counts = _line(
        [
            "",
            (f"{done / payments:>4.0%}", "bold"),
            *([("draining", "bold yellow")] if now.draining else []),
            *phase,
            f"completed {done:,}/{payments:,}",
            f"started {now.started:,}",
            f"in flight {now.in_flight:,}",
        ]
    )
    return Group(
        _Bar(ProgressBar(total=payments, completed=done, width=BAR_WIDTH), counts),
        _line([*throughput, (f"ETA {eta}", "bold")]),
    )


@dataclass(frozen=True, slots=True)
class _Bar:
    """A progress bar and its figures on one line, the figures in the same place whatever the bar shows.

    Without colours rich leaves the bar's part still to go out, so it is padded here.
    """

    bar: ProgressBar
    figures: Text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        drawn = list(console.render(self.bar, options))
        yield from drawn
        yield Segment(" " * max(0, min(BAR_WIDTH, options.max_width) - Segment.get_line_length(drawn)))
        yield self.figures


def _part(now: Snapshot) -> str:
    """What the status line leads with: "running", "draining" once stopped, or how far a backfill has come."""
    backfill = now.backfill
    if now.draining:
        return "draining"
    if backfill is None:
        return "running"
    return "live" if backfill.live else f"backfill {backfill.done:.0%}"


def _line(parts: Sequence[str | tuple[str, str]]) -> Text:
    """Parts (text, or text and style) two spaces apart."""
    line = Text()
    for i, part in enumerate(parts):
        if i:
            line.append("  ")
        line.append(*((part,) if isinstance(part, str) else part))
    return line


def _rates(samples: deque[Snapshot]) -> Rates:
    first, last = samples[0], samples[-1]
    span = last.elapsed_s - first.elapsed_s
    if span <= 0:
        return Rates(0.0, 0.0)
    return Rates((last.events - first.events) / span, (last.completed - first.completed) / span)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
