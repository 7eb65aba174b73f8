"""Structured JSON logs on standard error, one object per line."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import FilteringBoundLogger


def make_logger(level: str = "info", stream: TextIO | None = None) -> FilteringBoundLogger:
    """A structlog logger writing JSON lines; passed around explicitly, no global configuration."""
    logger: FilteringBoundLogger = structlog.wrap_logger(
        # WriteLogger: each line goes out in one write, so processes sharing stderr
        # (--processes) never splice their lines; print() writes the newline separately.
        structlog.WriteLogger(stream or sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        cache_logger_on_first_use=True,
    ).bind(logger="synthpay")
    return logger
