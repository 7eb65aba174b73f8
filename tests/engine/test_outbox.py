"""The outbox between the scheduler and the I/O thread, driven by hand under the autojump clock.

A task calling ``take`` plays the I/O thread.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import trio
import trio.testing

from synthpay.engine.outbox import END, Outbox

B = 10  # batch_size


def emit(outbox: Outbox, n: int, counter: list[int]) -> None:
    for _ in range(n):
        counter[0] += 1
        outbox.buffer.append(counter[0])  # type: ignore[arg-type]


async def test_cancelled_ship_keeps_the_batch_in_order(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(3)
    counter = [0]
    emit(outbox, 3, counter)
    with trio.move_on_after(1):
        await outbox.ship()  # nobody takes it: the thread is busy; cancelled after 1 s
    emit(outbox, 2, counter)
    assert cast(list[Any], outbox.buffer) == [1, 2, 3, 4, 5]  # the cancelled batch is back, in front
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.close)
        assert cast(Any, await outbox.take()) == [1, 2, 3, 4, 5]
        assert await outbox.take() is END  # asking again releases the ship; then the end


async def test_ship_waits_until_the_thread_has_written_the_batch(autojump_clock: trio.testing.MockClock) -> None:
    """Lockstep: the engine never has more than the batch being written plus one being filled."""
    outbox = Outbox(B)
    counter = [0]
    written = 0
    peak = 0
    shipped_at: list[float] = []
    async with trio.open_nursery() as nursery:

        async def scheduler() -> None:
            for _ in range(20):
                emit(outbox, B, counter)
                await outbox.ship()
                shipped_at.append(trio.current_time())
            await outbox.close()

        nursery.start_soon(scheduler)
        while (batch := await outbox.take()) is not END:
            assert batch is not None
            peak = max(peak, counter[0] - written)
            await trio.sleep(0.5)  # a slow sink: the engine waits meanwhile
            written += len(batch)
    assert written == counter[0] == 20 * B
    assert peak == B  # the engine did not run ahead while the batch was being written
    # Each ship returned only once its batch was written (0.5 s of sink time each).
    assert [round(b - a, 6) for a, b in itertools.pairwise(shipped_at)] == [0.5] * 19


async def test_linger_hands_partial_batches_only_to_an_idle_thread(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(B)
    counter = [0]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(outbox.linger, 0.01)
        emit(outbox, 3, counter)
        # The thread is idle: linger hands over the partial batch without waiting for it.
        assert cast(Any, await outbox.take()) == [1, 2, 3]
        emit(outbox, 2, counter)
        await trio.sleep(0.05)  # the thread is "busy" (not in take): linger keeps the events
        assert cast(list[Any], outbox.buffer) == [4, 5]
        assert cast(Any, await outbox.take()) == [4, 5]
        nursery.cancel_scope.cancel()


async def test_nudge_wakes_only_an_idle_thread(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(B)
    outbox.nudge()  # nobody is waiting: nothing happens, nothing blocks
    async with trio.open_nursery() as nursery:
        got: list[Any] = []

        async def thread() -> None:
            got.append(await outbox.take())

        nursery.start_soon(thread)
        await trio.testing.wait_all_tasks_blocked()
        outbox.nudge()
    assert got == [[]]


async def test_close_ships_the_rest_then_ends(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(B)
    counter = [0]
    emit(outbox, 4, counter)
    taken: list[Any] = []
    async with trio.open_nursery() as nursery:

        async def thread() -> None:
            while (batch := await outbox.take()) is not END:
                taken.append(batch)

        nursery.start_soon(thread)
        await outbox.close()
    assert taken == [[1, 2, 3, 4]]
