"""What differs between the real and the virtual clock, in one place.

A backfill under the virtual clock wants throughput: big batches, long lingers, few
collections. A real-time run wants steady latency: the same knobs turned down so no single
hand-off, flush or collection holds the schedule up. docs/explanation/performance.md has
the measurements behind each number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from synthpay.config.settings import Clock


@dataclass(frozen=True, slots=True)
class ClockProfile:
    """The tuning one clock runs with; every field is read where that clock makes a difference."""

    #: Event times are simulated on a Trio MockClock instead of following the wall clock.
    virtual: bool
    #: engine.batch_size = 0 means this: a backfill gains from fewer hand-offs to the I/O
    #: thread; in real time a big batch holds the engine up, which shows as scheduling lag.
    batch_size: int
    #: Kafka's linger.ms: a backfill wants big batches (small ones cost the broker more CPU
    #: per event; the original used 1000, and flush() does not wait for it); in real time the
    #: linger is that much delivery latency and that many events buffered in memory.
    linger_ms: int
    #: The file sink writes its pending blocks every few seconds, so a real-time run's files
    #: keep up with it; a backfill writes only full blocks, which is faster.
    timed_flush: bool
    #: gc.set_threshold: a run keeps up to run.workers payments alive and allocates per
    #: event, so the default thresholds spent much of a backfill re-scanning live objects.
    #: A young collection scans what survived since the last one. In a
    #: backfill, above a batch in flight, it hardly ever finds anything; in real time a high
    #: threshold makes each collection long, a lag spike, where a low one spreads the same
    #: time over short pauses. The old generations are collected equally often either way.
    gc_thresholds: tuple[int, int, int]
    #: The MockClock's autojump threshold (None: the real clock has no MockClock). The
    #: scheduler jumps the clock itself; autojump only serves other timers when the whole run
    #: waits. Each check wakes the Trio thread, taking the GIL from the I/O thread, so a short
    #: threshold slows delivery; 0 would make an idle run loop spin instead of sleep.
    autojump_s: float | None


#: The profile of each clock, by its name in ``run.clock``.
PROFILES: Mapping[Clock, ClockProfile] = MappingProxyType(
    {
        "virtual": ClockProfile(
            virtual=True,
            batch_size=10_000,
            linger_ms=500,
            timed_flush=False,
            gc_thresholds=(100_000, 50, 1000),
            autojump_s=0.1,
        ),
        "real": ClockProfile(
            virtual=False,
            batch_size=2_000,
            linger_ms=50,
            timed_flush=True,
            gc_thresholds=(10_000, 500, 1000),
            autojump_s=None,
        ),
    }
)


def profile(clock: Clock) -> ClockProfile:
    """The tuning of ``clock`` ("real" or "virtual")."""
    return PROFILES[clock]
