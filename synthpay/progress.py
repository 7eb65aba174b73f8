"""The live progress display for a person at a terminal (``log_format`` console).

A batch run gets a bar (payments completed of the total, with what is started, in flight,
events/s, delivered against produced, elapsed and ETA); a continuous run gets a status
line (rate achieved against target, scheduling lag). The engine redraws it from a wall-time
task a couple of times a second, from one snapshot each time, never per event. Log lines
go through the same rich console, which prints them above the display, so the two never
interleave; the display clears itself when generation ends, before the closing tables.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from synthpay.config import Settings

#: Seconds of wall time between redraws.
PERIOD_S = 0.5
#: Redraws the events/s and ETA figures average over (a few seconds' worth).
RATE_WINDOW = 8
BAR_WIDTH = 32


@dataclass(frozen=True, slots=True)
class Figures:
    """What the display shows from one engine snapshot."""

    elapsed_s: float
    events: int
    started: int
    completed: int
    in_flight: int
    produced: int
    delivered: int
    failed: int
    target_rate: float
    achieved_rate: float
    lag_max_ms: int


def figures(snapshot: Mapping[str, Any]) -> Figures:
    """The one place that reads the engine's snapshot."""
    return Figures(
        elapsed_s=snapshot["elapsed_s"],
        events=snapshot["events"],
        started=snapshot["started"],
        completed=snapshot["completed"],
        in_flight=snapshot["in_flight"],
        produced=snapshot["produced_total"],
        delivered=snapshot["delivered_total"],
        failed=snapshot["failed_total"],
        target_rate=snapshot["target_rate"],
        achieved_rate=snapshot["achieved_rate"],
        lag_max_ms=snapshot["lag_max_ms"],
    )


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
        self._samples: deque[Figures] = deque(maxlen=RATE_WINDOW)
        # No auto refresh: it would redraw from a thread of rich's own. No redirects: the
        # stdout sink writes events to sys.stdout from the I/O thread.
        self._live = Live(console=console, auto_refresh=False, transient=True,
                          redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> Display:
        self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._live.stop()

    def show(self, snapshot: Mapping[str, Any]) -> None:
        """Redraw from one engine snapshot."""
        now = figures(snapshot)
        self._samples.append(now)
        self._live.update(render(now, _rates(self._samples), self._payments), refresh=True)


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


def render(now: Figures, rates: Rates, payments: int) -> RenderableType:
    """Two lines: the bar (batch) or status (continuous), then throughput and delivery."""
    if payments:
        done = min(now.completed, payments)
        remaining = payments - done
        eta = _clock(remaining / rates.completed_per_s) if rates.completed_per_s > 0 else "--:--"
        first: list[RenderableType] = [
            ProgressBar(total=payments, completed=done, width=BAR_WIDTH),
            Text(f"{done / payments:4.0%}", style="bold"),
            Text(f"completed {done:,}/{payments:,}"),
            Text(f"started {now.started:,}"),
            Text(f"in flight {now.in_flight:,}"),
        ]
        tail = [Text(f"elapsed {_clock(now.elapsed_s)}"), Text(f"ETA {eta}", style="bold")]
    else:
        target = f"{now.target_rate:,.1f}/s" if now.target_rate else "unlimited"
        first = [
            Text("● running", style="bold green"),
            Text(f"started {now.started:,}"),
            Text(f"rate {now.achieved_rate:,.1f}/s (target {target})"),
            Text(f"lag max {now.lag_max_ms:,} ms"),
            Text(f"in flight {now.in_flight:,}"),
        ]
        tail = [Text(f"elapsed {_clock(now.elapsed_s)}")]
    second: list[RenderableType] = [
        Text(f"{rates.events_per_s:,.0f} events/s"),
        Text(f"delivered {now.delivered:,}/{now.produced:,} produced"),
        Text(f"failed {now.failed:,}", style="bold red" if now.failed else ""),
        *tail,
    ]
    return Group(_row(first), _row(second))


def _row(cells: list[RenderableType]) -> Table:
    row = Table.grid(padding=(0, 2))
    row.add_row(*cells)
    return row


def _rates(samples: deque[Figures]) -> Rates:
    first, last = samples[0], samples[-1]
    span = last.elapsed_s - first.elapsed_s
    if span <= 0:
        return Rates(0.0, 0.0)
    return Rates((last.events - first.events) / span, (last.completed - first.completed) / span)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
