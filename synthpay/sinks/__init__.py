"""Built-in sinks. They register through the same plugin path as third-party ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthpay.sinks.base import Sink, SinkContext, SinkError

if TYPE_CHECKING:
    from synthpay.sinks.registry import Registry

__all__ = ["Sink", "SinkContext", "SinkError", "register"]


def _file(ctx: SinkContext) -> Sink:
    from synthpay.sinks.file import FileSink

    return FileSink(ctx)


def _stdout(ctx: SinkContext) -> Sink:
    from synthpay.sinks.stdout import StdoutSink

    return StdoutSink(ctx)


def _null(ctx: SinkContext) -> Sink:
    from synthpay.sinks.null import NullSink

    return NullSink(ctx)


def _kafka(ctx: SinkContext) -> Sink:
    from synthpay.sinks.kafka import KafkaSink
    from synthpay.sinks.kafka_offsets import bracketed

    return bracketed(KafkaSink)(ctx)


def register(registry: Registry) -> None:
    """Register the built-in sinks: file, stdout, null and kafka."""
    registry.add_sink("file", _file)
    registry.add_sink("stdout", _stdout)
    registry.add_sink("null", _null)
    registry.add_sink("kafka", _kafka)
