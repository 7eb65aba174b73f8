"""Logs on standard error: JSON lines for machines, readable lines for a person at a terminal.

``log_format`` ``auto`` picks console output when standard error is a terminal and JSON
otherwise, so systemd, containers, pipes and CI get the JSON lines they always had.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.text import Text
from structlog.typing import FilteringBoundLogger

#: The fields a console progress line keeps; the JSON line has them all for machines.
SHORT_PROGRESS = ("events", "rate_eps", "in_flight", "completed", "delivered", "failed")


def terminal(log_format: str, stream: TextIO | None = None) -> Console | None:
    """A console on ``stream`` (default stderr) when ``log_format`` asks for one, else None: JSON lines."""
    stream = stream or sys.stderr
    if log_format == "json" or (log_format == "auto" and not stream.isatty()):
        return None
    # rich reads NO_COLOR, TERM=dumb and whether the stream is a terminal itself.
    return Console(file=stream, highlight=False, soft_wrap=True)


def make_logger(
    level: str = "info", stream: TextIO | None = None, console: Console | None = None
) -> FilteringBoundLogger:
    """A structlog logger: JSON lines, or readable lines on ``console``; passed around explicitly."""
    if console is None:
        # WriteLogger: each line goes out in one write, so processes sharing stderr
        # (--processes) never splice their lines; print() writes the newline separately.
        sink: Any = structlog.WriteLogger(stream or sys.stderr)
        processors: list[Any] = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=False),
        ]
    else:
        sink = _ConsoleLogger(console)
        colors = console.is_terminal and not console.no_color and console.color_system is not None
        processors = [
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            _for_a_person,
            structlog.dev.ConsoleRenderer(colors=colors, sort_keys=False, pad_event_to=16),
        ]
    logger: FilteringBoundLogger = structlog.wrap_logger(
        sink,
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        cache_logger_on_first_use=True,
    ).bind(logger="synthpay")
    return logger


def _for_a_person(logger: object, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop the logger name (every line is synthpay's) and trim progress lines to a glance."""
    event.pop("logger", None)
    if event.get("event") != "progress":
        return event
    return {k: v for k, v in event.items() if k in SHORT_PROGRESS or k in ("event", "level", "timestamp")}


class _ConsoleLogger:
    """Writes rendered lines through the rich console, so they land above a live progress display."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def msg(self, message: str) -> None:
        """One rendered line (ANSI colours decoded so the console re-emits them, or drops them)."""
        self._console.print(Text.from_ansi(message))

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg
