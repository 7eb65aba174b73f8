"""A ``--processes`` run seen as one engine: each child reports its figures to the parent, which sums them.

A child with ``SYNTHPAY_REPORT_FD`` in its environment (set by the parent, never by a
user) writes a :class:`Report` as one JSON line to that pipe twice a second of wall
time. The parent keeps each child's latest report and serves the sum through the same
:class:`~synthpay.engine.snapshot.EngineView` a single engine offers, so its ``/metrics``
endpoint is the whole run's: counters summed, the largest lag, healthy only while every
child is and has been heard from lately.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import trio
import trio.testing

from synthpay.config.settings import REPORT_FD
from synthpay.engine.clock import EngineClock
from synthpay.engine.snapshot import Backfill, EngineView, Service, Snapshot

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

    from synthpay.config.settings import Settings

#: Seconds of wall time between a child's reports.
REPORT_S = 0.5
#: A child not heard from for this long counts as stuck (as an engine's silent I/O thread does).
SILENT_S = 30.0

EMPTY = Snapshot(
    events=0,
    emitted={},
    produced={},
    delivered={},
    failed={},
    produced_total=0,
    delivered_total=0,
    failed_total=0,
    in_flight=0,
    started=0,
    completed=0,
    io_busy=False,
    lag_max_ms=0,
    elapsed_s=0.0,
)


@dataclass(frozen=True, slots=True)
class Report:
    """What a child tells its parent: its figures, and whether it is ready and healthy."""

    ready: bool
    healthy: bool
    reason: str
    snapshot: Snapshot

    def encode(self) -> bytes:
        """One JSON line."""
        return (json.dumps(asdict(self), separators=(",", ":")) + "\n").encode()

    @staticmethod
    def decode(line: bytes) -> Report:
        """The report one line holds (written by :meth:`encode`)."""
        data: dict[str, Any] = json.loads(line)
        figures = data["snapshot"]
        backfill = figures["backfill"]
        snapshot = Snapshot(**{**figures, "backfill": Backfill(**backfill) if backfill else None})
        return Report(data["ready"], data["healthy"], data["reason"], snapshot)


def report_fd(environ: Mapping[str, str]) -> int | None:
    """The pipe a ``--processes`` child reports on, None for any other run."""
    value = environ.get(REPORT_FD)
    return int(value) if value and value.isdigit() else None


def reporter(fd: int) -> Service:
    """The child's side: a service writing the engine's report to ``fd`` every REPORT_S of wall time."""

    async def run(engine: EngineView) -> None:
        # Wall time under either clock, as the endpoint's deadlines are.
        clock = EngineClock(virtual=isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock))
        try:
            async with trio.lowlevel.FdStream(fd) as pipe:
                while True:
                    healthy, reason = engine.health()
                    report = Report(engine.ready.is_set(), healthy, reason, engine.snapshot())
                    try:
                        await pipe.send_all(report.encode())
                    except trio.BrokenResourceError:
                        return  # the parent stopped listening: nobody to tell
                    if not await clock.wall_sleep(REPORT_S):
                        return
        finally:
            clock.close()

    return run


def total(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One snapshot for the whole run: counts summed, the largest lag and elapsed time, busy if any is."""

    def summed(values: Iterable[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    def by_topic(pick: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for snap in snapshots:
            for topic, count in getattr(snap, pick).items():
                out[topic] = out.get(topic, 0) + count
        return out

    anomalies: dict[str, dict[str, int]] | None = None
    for snap in snapshots:
        if snap.anomalies is not None:
            anomalies = anomalies or {}
            for kind, counts in snap.anomalies.items():
                mine = anomalies.setdefault(kind, {})
                for topic, count in counts.items():
                    mine[topic] = mine.get(topic, 0) + count
    backfills = [s.backfill for s in snapshots if s.backfill is not None]
    sink_queue, backlog = summed(s.sink_queue for s in snapshots), summed(s.backlog for s in snapshots)
    return Snapshot(
        events=sum(s.events for s in snapshots),
        emitted=by_topic("emitted"),
        produced=by_topic("produced"),
        delivered=by_topic("delivered"),
        failed=by_topic("failed"),
        produced_total=sum(s.produced_total for s in snapshots),
        delivered_total=sum(s.delivered_total for s in snapshots),
        failed_total=sum(s.failed_total for s in snapshots),
        in_flight=sum(s.in_flight for s in snapshots),
        started=sum(s.started for s in snapshots),
        completed=sum(s.completed for s in snapshots),
        io_busy=any(s.io_busy for s in snapshots),
        lag_max_ms=max((s.lag_max_ms for s in snapshots), default=0),
        elapsed_s=max((s.elapsed_s for s in snapshots), default=0.0),
        sink_queue=None if sink_queue is None else int(sink_queue),
        backlog=None if backlog is None else int(backlog),
        target_rate=summed(s.target_rate for s in snapshots),
        achieved_rate=summed(s.achieved_rate for s in snapshots),
        anomalies=anomalies,
        # Live once every child is; as far along as the one furthest behind.
        backfill=Backfill(
            all(b.live for b in backfills),
            min(b.done for b in backfills),
            min(b.event_time_ms for b in backfills),
        )
        if backfills
        else None,
        # The children share one timeline: they are in the same phase, but at an edge.
        phase=next((s.phase for s in snapshots if s.phase is not None), None),
        draining=any(s.draining for s in snapshots),
    )


class Shards:
    """The parent's view of its children: their latest reports, summed; an EngineView for its endpoint."""

    def __init__(self, settings: Settings, log: FilteringBoundLogger, count: int) -> None:
        self.settings = settings
        self.log = log
        self.ready = trio.Event()  # every child has reported its sink open
        self.stopping = trio.Event()
        self._reports: list[Report | None] = [None] * count
        self._heard = [time.monotonic()] * count

    def receive(self, slot: int, report: Report) -> None:
        """Child ``slot``'s latest report."""
        self._reports[slot] = report
        self._heard[slot] = time.monotonic()
        if all(r is not None and r.ready for r in self._reports):
            self.ready.set()
        if report.snapshot.draining:
            self.stopping.set()

    def health(self) -> tuple[bool, str]:
        """Healthy while every child says so and was heard from within SILENT_S."""
        now = time.monotonic()
        for slot, (report, heard) in enumerate(zip(self._reports, self._heard)):
            if now - heard > SILENT_S:
                return False, f"process {slot} has not reported for {now - heard:.0f}s"
            if report is None:
                return False, f"process {slot} has not reported yet"
            if not report.healthy:
                return False, f"process {slot}: {report.reason}"
        return True, "ok"

    def snapshot(self) -> Snapshot:
        """The children's latest figures summed (a child not yet heard from counts nothing)."""
        return total([r.snapshot if r is not None else EMPTY for r in self._reports])

    async def listen(self, slot: int, fd: int) -> None:
        """Read child ``slot``'s reports from ``fd`` until it closes its end."""
        buffered = b""
        async with trio.lowlevel.FdStream(fd) as pipe:
            while chunk := await pipe.receive_some():
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                if lines:
                    self.receive(slot, Report.decode(lines[-1]))
        # An ended child keeps its last figures in the sums (counters never go back), and
        # is not stuck: its silence from here on is no failure.
        self._heard[slot] = float("inf")
        last = self._reports[slot]
        if last is not None:
            self._reports[slot] = replace(last, healthy=True, reason="ok")
