"""Engine time: epoch milliseconds on top of Trio's clock, real or virtual.

Under the virtual clock Trio runs on a ``MockClock``: the scheduler jumps it straight to
its next deadline (autojump covers any other timer), so a backfill of history is emitted
as fast as the sink takes it. Event times are the scheduler's intended deadlines, so they
are exact whatever the sink's speed. A backfill that catches up with the wall clock goes
live (:meth:`EngineClock.go_live`): the MockClock then runs at the wall clock's pace, so
the same run goes on in real time without a gap.
"""

from __future__ import annotations

import math
import threading
import time

import trio
import trio.testing


class EngineClock:
    """Maps Trio time to epoch milliseconds; knows whether it is virtual."""

    __slots__ = ("_base_ms", "_base_t", "_closed", "_mock", "live", "virtual")

    def __init__(self, *, virtual: bool, start_ms: int | None = None) -> None:
        self.virtual = virtual
        self._base_ms = wall_ms() if start_ms is None else start_ms
        self._base_t = trio.current_time()
        self._closed = threading.Event()
        #: Set when the clock follows the wall clock: from the start, or from a backfill's seam.
        self.live = trio.Event()
        if not virtual:
            self.live.set()
        self._mock: trio.testing.MockClock | None = None
        if virtual:
            clock = trio.lowlevel.current_clock()
            if not isinstance(clock, trio.testing.MockClock):
                raise RuntimeError("the virtual clock needs trio.run(..., clock=MockClock(...))")
            self._mock = clock

    @property
    def start_ms(self) -> int:
        """Epoch ms at which the engine started."""
        return self._base_ms

    def go_live(self) -> None:
        """From now on follow the wall clock: the virtual time jumps to now and runs in real time.

        Called when the next event is due after now, so the jump only ever moves forward.
        """
        assert self._mock is not None, "only a virtual clock goes live"
        ahead_ms = wall_ms() - self.now_ms()
        if ahead_ms > 0:
            self._mock.jump(ahead_ms / 1000)
        self._mock.autojump_threshold = math.inf
        self._mock.rate = 1.0
        self.virtual = False
        self.live.set()

    def now_ms(self) -> int:
        """Current engine time in epoch milliseconds."""
        return self._base_ms + round((trio.current_time() - self._base_t) * 1000)

    async def sleep_until_ms(self, deadline_ms: int) -> None:
        """Sleep until the engine time reaches ``deadline_ms``.

        Virtual: jump the MockClock straight there without a trip through the run loop
        (which costs more than the events of a tick); the scheduler still yields at every
        batch it ships, so other tasks and the I/O thread get their turn.
        """
        target = self._base_t + (deadline_ms - self._base_ms) / 1000
        if self._mock is None or not self.virtual:
            await trio.sleep_until(target)
            return
        ahead = target - self._mock.current_time()
        if ahead > 0:
            self._mock.jump(ahead)

    async def wall_sleep(self, seconds: float) -> bool:
        """Sleep in wall-clock time even under the virtual clock; False once the clock is closed.

        Virtual time races ahead, so periodic summaries wait on a real timer in a worker
        thread (an idle wait, which autojump ignores); closing wakes it at once.
        """
        if self._closed.is_set():
            return False
        if not self.virtual:
            await trio.sleep(seconds)
            return not self._closed.is_set()
        closed = await trio.to_thread.run_sync(self._closed.wait, seconds, abandon_on_cancel=True)
        return not closed

    def close(self) -> None:
        """End every pending and future wall_sleep."""
        self._closed.set()


def wall_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000
