"""The dedicated I/O thread: owns the sink, takes batches from the engine, drains on the way out.

Only this thread touches the sink (for Kafka: the one ``confluent_kafka.Producer``). It
pulls batches from the Trio memory channel through ``receive`` and services the sink
(delivery reports) at least every 100 ms while waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from synthpay.model.events import Event
from synthpay.sinks.base import Sink, SinkContext

#: How often an idle I/O thread is woken (with an empty batch) to service the sink.
POLL_INTERVAL_S: Final = 0.1

#: Returns the next batch (empty when the engine only wants the sink serviced), or None at the end.
Receive = Callable[[], "list[Event] | None"]


def serve(
    factory: Callable[[SinkContext], Sink],
    ctx: SinkContext,
    receive: Receive,
    started: Callable[[], None],
    flush_timeout_s: float,
) -> int:
    """Open the sink, write every batch until the channel ends, flush; return events left undelivered.

    The sink is closed on every path, so a failure loses nothing already handed to it
    that it could still write.
    """
    sink = factory(ctx)
    try:
        started()
        while True:
            ctx.heartbeat()
            batch = receive()
            if batch is None:
                break
            if batch:
                sink.write(batch)
            sink.poll()
        undelivered = sink.flush(ctx.stop.flush_budget(flush_timeout_s))
    finally:
        sink.close()
    return undelivered
