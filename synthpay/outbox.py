"""Batches events for the trip across the thread boundary.

A thread hop per event is far too slow, so events gather here and cross the Trio memory
channel a batch at a time. The channel is bounded: when the sink is slow the scheduler
waits in :meth:`Outbox.ship` before emitting more (backpressure), so memory is bounded by
``(channel_batches + 2) * batch_size`` events and virtual time cannot run ahead of the sink.
"""

from __future__ import annotations

import trio

from synthpay.events import Event


class Outbox:
    """The engine's side of the channel; at most one send is in flight, so order is kept."""

    __slots__ = ("buffer", "batch_size", "_send", "_lock")

    def __init__(self, send: trio.MemorySendChannel[list[Event]], batch_size: int) -> None:
        self.buffer: list[Event] = []
        self.batch_size = batch_size
        self._send = send
        self._lock = trio.Lock()

    @property
    def full(self) -> bool:
        """True when a batch is ready to ship."""
        return len(self.buffer) >= self.batch_size

    async def ship(self) -> None:
        """Send what is buffered; waits while the channel is full. Cancel-safe: nothing is lost."""
        async with self._lock:
            if not self.buffer:
                return
            batch, self.buffer = self.buffer, []
            try:
                await self._send.send(batch)
            except BaseException:
                # A cancelled send delivered nothing: put the batch back in front.
                self.buffer[:0] = batch
                raise

    async def linger(self, seconds: float) -> None:
        """Ship partial batches every ``seconds`` so a slow trickle of events is not held back.

        Only when the channel has room right now: a linger flush that waited on a full
        channel would let the scheduler fill another batch behind it and break the bound.
        """
        while True:
            await trio.sleep(seconds)
            if self.buffer and not self._lock.locked():
                try:
                    self._send.send_nowait(self.buffer)
                except trio.WouldBlock:
                    continue
                self.buffer = []

    def queued_batches(self) -> int:
        """Batches waiting in the channel for the I/O thread."""
        return self._send.statistics().current_buffer_used
