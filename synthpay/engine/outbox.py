"""Batches events for the trip across the thread boundary, in lockstep with the I/O thread.

A thread hop per event is far too slow, so events gather here and cross the Trio memory
channel a batch at a time. The channel is unbuffered and :meth:`Outbox.ship` waits until
the I/O thread has *finished* the batch, not merely taken it. Both threads run Python
and share one GIL: when they overlap, each waits out the other's switch interval, and a
Kafka producer's delivery reports (which need the GIL back one by one) slow to a crawl.
In lockstep the Python work alternates without contention while librdkafka's own threads
compress and send on the other core.

So at most two batches exist, the one being filled and the one being written: memory is
bounded by ``2 * batch_size`` events, and virtual time cannot run ahead of the sink.
"""

from __future__ import annotations

from typing import Final

import trio

from synthpay.model.events import Event

#: What crosses the channel: a batch, and the event to set once it has been written
#: (None for linger and nudge hand-offs, which nobody waits on).
Handoff = tuple[list[Event], trio.Event | None]
#: ``take`` returns this when the engine has closed the channel.
END: Final = None


class Outbox:
    """Both ends of the hand-off: ``ship`` on the engine's side, ``take`` for the I/O thread."""

    __slots__ = ("_lock", "_receive", "_send", "_writing", "batch_size", "buffer")

    def __init__(self, batch_size: int) -> None:
        self.buffer: list[Event] = []
        self.batch_size = batch_size
        self._send, self._receive = trio.open_memory_channel[Handoff](0)
        self._lock = trio.Lock()  # one ship at a time, so batches keep their order
        self._writing: trio.Event | None = None  # set when the thread's current batch is done

    @property
    def full(self) -> bool:
        """True when a batch is ready to ship."""
        return len(self.buffer) >= self.batch_size

    async def ship(self) -> None:
        """Hand over what is buffered and wait until the I/O thread has written it.

        Cancel-safe: a cancelled hand-off delivered nothing and the batch goes back in front;
        once handed over, the batch is the thread's, whatever happens to the wait.
        """
        async with self._lock:
            if not self.buffer:
                return
            batch, self.buffer = self.buffer, []
            done = trio.Event()
            try:
                await self._send.send((batch, done))
            except BaseException:
                self.buffer[:0] = batch
                raise
            await done.wait()

    async def linger(self, seconds: float) -> None:
        """Every ``seconds``, hand a partial batch to an idle I/O thread (real clock only).

        Without waiting: a slow trickle of events is not held back, and a thread that is
        busy simply gets the events with the next batch.
        """
        while True:
            await trio.sleep(seconds)
            if self.buffer and not self._lock.locked():
                self._offer(self.buffer)

    def nudge(self) -> None:
        """Hand an empty batch to an idle I/O thread so it services the sink."""
        if not self._lock.locked():
            self._offer([])

    def _offer(self, batch: list[Event]) -> None:
        try:
            self._send.send_nowait((batch, None))
        except trio.WouldBlock:  # the thread is busy
            return
        if batch is self.buffer:
            self.buffer = []

    async def close(self) -> None:
        """Ship what is left, then tell the I/O thread there is no more."""
        await self.ship()
        await self._send.aclose()

    async def take(self) -> list[Event] | None:
        """The I/O thread's side: the next batch, or END. Asking again means the last one is done."""
        if self._writing is not None:
            self._writing.set()
            self._writing = None
        try:
            batch, self._writing = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            return END
        return batch

    def thread_busy(self) -> bool:
        """True while the I/O thread is writing a batch the engine waits on."""
        return self._writing is not None
