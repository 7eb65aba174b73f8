"""The outbox between the scheduler and the I/O thread, driven by hand under the autojump clock."""

from __future__ import annotations

from typing import Any, cast

import trio
import trio.testing

from synthpay.outbox import Outbox

B, C = 10, 1  # batch_size, channel_batches


def emit(outbox: Outbox, n: int, counter: list[int]) -> None:
    for _ in range(n):
        counter[0] += 1
        outbox.buffer.append(counter[0])  # type: ignore[arg-type]


async def test_cancelled_ship_keeps_the_batch_in_order(autojump_clock: trio.testing.MockClock) -> None:
    send, receive = trio.open_memory_channel[list[Any]](1)
    outbox = Outbox(send, 3)
    counter = [0]
    emit(outbox, 3, counter)
    await outbox.ship()  # fills the channel
    emit(outbox, 3, counter)
    with trio.move_on_after(1):
        await outbox.ship()  # blocks: channel full; cancelled after 1 s of virtual time
    emit(outbox, 2, counter)
    assert cast(list[Any], outbox.buffer) == [4, 5, 6, 7, 8]  # the cancelled batch is back, in front
    assert await receive.receive() == [1, 2, 3]
    await outbox.ship()
    assert await receive.receive() == [4, 5, 6, 7, 8]


async def test_scheduler_alone_stays_within_the_bound(autojump_clock: trio.testing.MockClock) -> None:
    """Without linger (virtual clock): at most (channel_batches + 2) * batch_size outstanding."""
    send, receive = trio.open_memory_channel[list[Any]](C)
    outbox = Outbox(send, B)
    counter = [0]
    written = 0
    peak = 0
    async with trio.open_nursery() as nursery:

        async def scheduler() -> None:
            for _ in range(20):
                emit(outbox, B, counter)
                await outbox.ship()
            await send.aclose()

        nursery.start_soon(scheduler)
        async for batch in receive:
            await trio.sleep(0.5)  # a slow sink; the engine runs ahead meanwhile
            peak = max(peak, counter[0] - written)
            written += len(batch)
    assert written == counter[0] == 20 * B
    assert peak == (C + 2) * B


def test_linger_keeps_the_documented_bound() -> None:
    # Sync, so the AssertionError is not wrapped in pytest-trio's exception group.
    trio.run(_linger_scenario, clock=trio.testing.MockClock(autojump_threshold=0))


async def _linger_scenario() -> None:
    send, receive = trio.open_memory_channel[list[Any]](C)
    outbox = Outbox(send, B)
    counter = [0]
    async with trio.open_nursery() as nursery:
        emit(outbox, B, counter)
        await outbox.ship()
        in_sink = await receive.receive()  # the I/O thread is writing this batch
        emit(outbox, B, counter)
        await outbox.ship()  # the channel is full now
        emit(outbox, 3, counter)  # the scheduler sleeps until its next deadline ...
        nursery.start_soon(outbox.linger, 0.01)
        await trio.sleep(0.02)  # ... linger finds the channel full and keeps its partial batch
        emit(outbox, B - len(outbox.buffer), counter)  # the scheduler wakes, fills a batch
        nursery.start_soon(outbox.ship)  # and waits for the lock
        await trio.testing.wait_all_tasks_blocked()
        outstanding = counter[0]  # nothing written yet: in_sink is still being written
        nursery.cancel_scope.cancel()
    assert len(in_sink) == B
    assert outstanding <= (C + 2) * B, outstanding
