"""The daemon: one nursery owns the I/O thread, the worker, the linger flush and the summaries.

Start-up: the I/O thread opens the sink (for Kafka: connects, creates topics, registers
schemas) before any event is generated. Shutdown: the first SIGTERM/SIGINT stops
admitting payments and lets those in flight finish within ``shutdown_grace_s``; a second
signal, or the end of the grace, cuts them. Then the last batch ships, the channel closes,
the I/O thread flushes the sink and the summary is built from the counters.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

import trio
from structlog.typing import FilteringBoundLogger

from synthpay.config import placeholders
from synthpay.config.clocks import profile
from synthpay.config.settings import Settings
from synthpay.engine import io_thread, span
from synthpay.engine.clock import EngineClock, wall_ms
from synthpay.engine.identity import RunIdentity
from synthpay.engine.outbox import Outbox
from synthpay.engine.scheduler import Scheduler
from synthpay.engine.snapshot import Backfill, Display, Service, Snapshot
from synthpay.engine.stats import EngineStats, peak_rss_mib
from synthpay.model import serde
from synthpay.model.events import Event, Topic
from synthpay.model.span import EventSpan
from synthpay.sinks.base import MIN_FLUSH_S, SinkContext, SinkError, StopDeadline
from synthpay.sinks.ledger import Ledger
from synthpay.sinks.registry import SinkFactory
from synthpay.summary.document import Summary
from synthpay.summary.plan import run_plan


def topics_for(settings: Settings) -> tuple[Topic, ...]:
    """Every topic a run writes to: one per status, the ground truth of a run with anomalies, then banks."""
    payment_topics = tuple(
        Topic(s.topic, "payment", s.partitions, s.name, serde.avro_string(s.name)) for s in settings.statuses.values()
    )
    ground_truth = (
        (Topic(name, "ground_truth", max(t.partitions for t in payment_topics)),)
        if (name := settings.ground_truth_topic)
        else ()
    )
    banks = Topic(settings.entities.banks_topic, "bank", settings.entities.banks_partitions)
    return (*payment_topics, *ground_truth, banks)


#: The signals that stop a run. A process started with them blocked (``--processes`` starts
#: its children so) holds one that comes early until the engine can stop on it.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})

#: The I/O thread counts as stuck when it has not been heard from for this long.
IO_STALL_S = 30.0


class Engine:
    """One run of the generator. Call :meth:`run` inside ``trio.run``.

    ``sink`` opens the sink in the I/O thread; ``services`` run beside the engine in its
    nursery from the start and are cancelled at the end; they observe it through
    :attr:`ready`, :attr:`stopping`, :meth:`snapshot` and :meth:`health`.
    """

    def __init__(
        self,
        settings: Settings,
        log: FilteringBoundLogger,
        *,
        sink: SinkFactory,
        identity: RunIdentity,
        handle_signals: bool = False,
        services: Sequence[Service] = (),
        display: Display | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.run_id = identity.run_id
        self.seed = identity.seed
        self._sink = sink
        self.topics = topics_for(settings)
        self.ledger = Ledger(t.name for t in self.topics)
        self.stats = EngineStats((t.name for t in self.topics), (wf.label for wf in settings.workflows))
        self._handle_signals = handle_signals
        self._scheduler: Scheduler | None = None
        self._drain = trio.CancelScope()
        self._feeding = trio.CancelScope()  # cancelled when the sink fails: nothing more can reach it
        #: Why the sink stopped the run part way, if it did; the run still returns its summary.
        self.failure: SinkError | None = None
        self._undelivered = 0
        self._began = 0.0
        self._ready_at = 0.0
        self._stop_requested = trio.Event()
        self.stop_deadline = StopDeadline()
        self._services = tuple(services)
        self._display = display
        self._outbox: Outbox | None = None
        self._clock: EngineClock | None = None
        #: The event times the run will write (set when it starts).
        self.span: EventSpan | None = None
        self.ready = trio.Event()  # the sink is open: topics exist, schemas registered
        self.stopping = trio.Event()  # a stop was requested, or generation ended
        self.io_heard = time.monotonic()  # last sign of life from the I/O thread
        self.io_alive = False

    # -- public control

    def request_stop(self) -> None:
        """Stop admitting payments; cut the rest after the grace period (a second call cuts now).

        The grace is wall time under either clock, and the whole stop, final flush included,
        fits in it (the flush gets at least MIN_FLUSH_S). A stop before the sink is open
        is the same stop: the run then admits no payment at all.
        """
        if self._stop_requested.is_set():
            self.stop_deadline.set(time.monotonic())
            self._drain.cancel()
            return
        grace = self.settings.run.shutdown_grace_s
        self.stop_deadline.set(time.monotonic() + grace)
        self._stop_requested.set()
        self.stopping.set()
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.stop_admitting()
        self.log.info("stopping", in_flight=scheduler.in_flight if scheduler else 0, grace_s=grace)

    async def run(self) -> Summary:
        """Generate until done or stopped; return the summary."""
        settings = self.settings
        now = wall_ms()
        first = span.start_ms(settings, now)
        clock = EngineClock(virtual=profile(settings.run.clock).virtual, start_ms=first)
        self.span = span.planned(settings, first, now)
        self._clock = clock
        self._began = time.monotonic()
        outbox = Outbox(settings.engine.batch_size)
        topics = {t.status: t for t in self.topics if t.status}
        withheld = next((t for t in self.topics if t.schema == "ground_truth"), None)
        scheduler = Scheduler(settings, clock, outbox, self.stats, topics, self.topics[-1], self.seed, withheld)
        self.log.info(
            "run_start",
            run_id=self.run_id,
            sink=settings.run.sink,
            clock=settings.run.clock,
            payments=settings.run.payments,
            workers=settings.run.workers,
            seed=self.seed,
            timing=settings.timing,
            start=serde.rfc3339_ms(clock.start_ms),
            pid=os.getpid(),
            **({"live_from": serde.rfc3339_ms(now)} if scheduler.hands_over else {}),
        )
        if settings.run.sink_is_default and settings.run.sink == "file":
            self.log.info(
                "embedded_default",
                detail="no Kafka bootstrap servers configured: writing Avro files",
                dir=placeholders.expand(settings.file.dir, self.run_id),
            )
        self._outbox = outbox
        async with trio.open_nursery() as outer:
            if self._handle_signals:
                outer.start_soon(self._watch_signals)
            for service in self._services:
                outer.start_soon(service, self)
            async with trio.open_nursery() as core:
                await core.start(self._io, outbox)
                self._scheduler = scheduler
                if self._stop_requested.is_set():
                    scheduler.stop_admitting()
                self.ready.set()
                self._ready_at = time.monotonic()
                with self._feeding:
                    async with trio.open_nursery() as generation:
                        generation.start_soon(self._report, clock, scheduler)
                        generation.start_soon(self._keep_io_polling, clock, outbox)
                        generation.start_soon(self._enforce_grace, clock)
                        if self._display is not None:
                            generation.start_soon(self._show_progress, clock, self._display)
                        generation.start_soon(self._linger, clock, outbox)
                        if scheduler.hands_over:
                            generation.start_soon(self._announce_live, clock, scheduler)
                        try:
                            with self._drain:
                                await scheduler.run()
                        finally:
                            # Held-back events the stop cut go to the ground truth, in the final flush.
                            scheduler.cut_held()
                            # Also when the sink's failure cut the run short: no wall_sleep outlives it.
                            clock.close()
                        self.stopping.set()
                        generation.cancel_scope.cancel()
                    await outbox.close()
            outer.cancel_scope.cancel()
        return self._summary(scheduler)

    # -- tasks

    async def _io(self, outbox: Outbox, task_status: trio.TaskStatus[None]) -> None:
        """Run the I/O thread for the whole run; report started once the sink is open."""

        def fetch() -> list[Event] | None:
            try:
                return trio.from_thread.run(outbox.take)
            except (trio.Cancelled, trio.RunFinishedError):
                return None

        opened = False

        def started() -> None:
            nonlocal opened
            trio.from_thread.run_sync(task_status.started)
            opened = True

        def heartbeat() -> None:
            self.io_heard = time.monotonic()

        ctx = SinkContext(
            self.settings, self.topics, self.ledger, self.log, self.run_id, heartbeat, self.stop_deadline, self.span
        )
        factory = self._sink
        self.io_alive = True
        try:
            self._undelivered = await trio.to_thread.run_sync(
                io_thread.serve,
                factory,
                ctx,
                fetch,
                started,
                self.settings.kafka.flush_timeout_s,
                thread_name="synthpay-io",
                limiter=trio.CapacityLimiter(1),
            )
        except SinkError as exc:
            if not opened:
                raise
            self._sink_failed(exc)
        finally:
            self.io_alive = False

    def _sink_failed(self, exc: SinkError) -> None:
        """Stop feeding a sink that failed; what it never settled counts as undelivered."""
        self.failure = exc
        produced, delivered, failed = self.ledger.totals()
        self._undelivered = produced - delivered - failed
        self.stopping.set()
        self._feeding.cancel()

    async def _linger(self, clock: EngineClock, outbox: Outbox) -> None:
        """Once the clock is live, ship partial batches after ``engine.linger_ms``."""
        await clock.live.wait()
        await outbox.linger(self.settings.engine.linger_ms / 1000)

    async def _announce_live(self, clock: EngineClock, scheduler: Scheduler) -> None:
        """Say in the log when a backfill reaches now and the run goes on in real time."""
        await clock.live.wait()
        self.log.info(
            "live",
            detail="the backfill reached now: events from here on follow the wall clock",
            event_time=serde.rfc3339_ms(scheduler.live_since_ms or clock.now_ms()),
            backfill_events=self.stats.events,
            backfill_s=round(time.monotonic() - self._ready_at, 3),
            in_flight=scheduler.in_flight,
        )

    async def _enforce_grace(self, clock: EngineClock) -> None:
        """Once a stop is requested, cut the payments still in flight when the grace is over."""
        await self._stop_requested.wait()
        # Cut early enough to leave the final flush its minimum within the grace.
        if await clock.wall_sleep(max(0.0, self.stop_deadline.remaining() - MIN_FLUSH_S)):
            self.log.info("grace_over", cut=self._scheduler.in_flight if self._scheduler else 0)
            self._drain.cancel()

    async def _keep_io_polling(self, clock: EngineClock, outbox: Outbox) -> None:
        """Wake an idle I/O thread every POLL_INTERVAL_S of wall time so it services the sink.

        The thread waits for batches without a timeout: a Trio timeout would be virtual
        time under the virtual clock, and fire thousands of times a second.
        """
        while await clock.wall_sleep(io_thread.POLL_INTERVAL_S):
            outbox.nudge()

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
            held = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            try:
                async for signum in signals:
                    self.log.info("signal", signal=signal.Signals(signum).name)
                    self.request_stop()
            finally:
                # Held again once nobody listens: a late stop must not kill the summary's writing.
                signal.pthread_sigmask(signal.SIG_SETMASK, held)

    async def _report(self, clock: EngineClock, scheduler: Scheduler) -> None:
        """A progress line every ``summary_interval_s`` of wall time."""
        interval = self.settings.run.summary_interval_s
        last_events, last_s = 0, time.monotonic() - self._began
        lags_before = list(self.stats.lag_counts)
        while await clock.wall_sleep(interval):
            snap = self.snapshot()
            # With a timeline the rate moves: the interval's own lag says when it stopped keeping up.
            timed = scheduler.timeline is not None
            self.log.info(
                "progress",
                state="draining" if snap.draining else "running",
                events=snap.events,
                rate_eps=round((snap.events - last_events) / (snap.elapsed_s - last_s), 1),
                in_flight=snap.in_flight,
                started=snap.started,
                completed=snap.completed,
                delivered=snap.delivered_total,
                failed=snap.failed_total,
                io_busy=snap.io_busy,
                sink_queue=snap.sink_queue,
                target_rate=round(snap.target_rate or 0.0, 1),
                achieved_rate=round(snap.achieved_rate or 0.0, 1),
                backlog=snap.backlog,
                lag_max_ms=snap.lag_max_ms,
                by_status=dict(snap.emitted),
                elapsed_s=round(snap.elapsed_s, 3),
                peak_rss_mib=peak_rss_mib(),
                **(
                    {"phase": scheduler.phase, "interval_lag_p99_ms": self.stats.lag_percentile(0.99, lags_before)}
                    if timed
                    else {}
                ),
                **(
                    {
                        "part": snap.backfill.part,
                        "backfill_done_pct": round(snap.backfill.done * 100, 1),
                        "event_time": serde.rfc3339_ms(snap.backfill.event_time_ms),
                    }
                    if snap.backfill
                    else {}
                ),
            )
            last_events, last_s = snap.events, snap.elapsed_s
            if timed:
                lags_before = list(self.stats.lag_counts)

    async def _show_progress(self, clock: EngineClock, display: Display) -> None:
        """Redraw the terminal's live display from a snapshot every ``period_s`` of wall time."""
        with display:
            while await clock.wall_sleep(display.period_s):
                display.show(self.snapshot())

    # -- observation

    def health(self) -> tuple[bool, str]:
        """(healthy, reason): the I/O thread is alive and heard from recently, the sink not failed."""
        if not self.io_alive:
            return False, "the I/O thread is not running"
        silent = time.monotonic() - self.io_heard
        if silent > IO_STALL_S:
            return False, f"the I/O thread has been silent for {silent:.0f}s"
        return True, "ok"

    def snapshot(self) -> Snapshot:
        """Live figures for metrics, status and progress lines.

        The totals are summed from the same copies the snapshot carries, so they agree with them.
        """
        emitted, ledger = dict(self.stats.emitted), self.ledger
        produced, delivered, failed = dict(ledger.produced), dict(ledger.delivered), dict(ledger.failed)
        scheduler, outbox = self._scheduler, self._outbox
        return Snapshot(
            events=sum(emitted.values()),
            emitted=emitted,
            produced=produced,
            delivered=delivered,
            failed=failed,
            produced_total=sum(produced.values()),
            delivered_total=sum(delivered.values()),
            failed_total=sum(failed.values()),
            in_flight=scheduler.in_flight if scheduler else 0,
            started=self.stats.started,
            completed=self.stats.completed,
            io_busy=outbox.thread_busy() if outbox else False,
            sink_queue=ledger.pending,
            backlog=scheduler.backlog if scheduler else 0,
            target_rate=scheduler.target_rate
            if scheduler
            else self.settings.run.rate / self.settings.run.instance_count,
            achieved_rate=self._achieved_rate(),
            lag_max_ms=self.stats.lag_max_ms,
            elapsed_s=time.monotonic() - self._began if self._began else 0.0,
            anomalies=scheduler.anomalies if scheduler else None,
            backfill=self._backfill(),
            phase=(scheduler.phase if scheduler else "") if self.settings.phases else None,
            draining=self._stop_requested.is_set(),
        )

    # -- helpers

    def _backfill(self) -> Backfill | None:
        """How far a run whose history ends now has come; None for any other run."""
        clock, scheduler = self._clock, self._scheduler
        if clock is None or scheduler is None or not scheduler.hands_over:
            return None
        now = clock.now_ms()
        if scheduler.live_since_ms is not None:
            return Backfill(True, 1.0, now)
        span_ms = wall_ms() - clock.start_ms
        return Backfill(False, min(1.0, (now - clock.start_ms) / span_ms) if span_ms > 0 else 1.0, now)

    def _achieved_rate(self) -> float:
        """Payments started per second of engine time so far (virtual time under the virtual clock)."""
        clock = self._clock
        if clock is None:
            return 0.0
        elapsed_ms = clock.now_ms() - clock.start_ms
        return self.stats.started * 1000 / elapsed_ms if elapsed_ms > 0 else 0.0

    def _out_dir(self) -> str:
        """Where a file-sink run wrote (absolute, so verify finds it from anywhere); "" for other sinks."""
        if self.settings.run.sink != "file":
            return ""
        return str(Path(placeholders.expand(self.settings.file.dir, self.run_id)).resolve())

    def _format(self, sink: str, chosen: str) -> str:
        """The format ``sink`` wrote in, for verify to read it; "" for Avro (as in a summary from
        before there were others, so a default run's summary is as it was) and for other sinks."""
        return chosen if self.settings.run.sink == sink and chosen != "avro" else ""

    def _summary(self, scheduler: Scheduler) -> Summary:
        stats, ledger = self.stats, self.ledger
        produced, delivered, failed = ledger.totals()
        events = stats.events
        statuses = {t.status: stats.emitted[t.name] for t in self.topics if t.status}
        phases, delays = scheduler.scenario_report()
        return Summary(
            run_id=self.run_id,
            seed=self.seed,
            sink=self.settings.run.sink,
            clock=self.settings.run.clock,
            elapsed_s=round(time.monotonic() - self._began, 3),
            workflows=dict(stats.workflows),
            statuses=statuses,
            bank_updates=stats.bank_updates,
            banks_created=stats.banks_created,
            payments_started=stats.started,
            payments_completed=stats.completed,
            payments_cut=scheduler.in_flight,
            events_total=events,
            produced=produced,
            delivered=delivered,
            failed=failed,
            undelivered=self._undelivered + (events - produced),
            topics={
                t.name: {
                    "emitted": stats.emitted[t.name],
                    "produced": ledger.produced[t.name],
                    "delivered": ledger.delivered[t.name],
                    "failed": ledger.failed[t.name],
                }
                for t in self.topics
            },
            first_event_ts_ms=stats.first_ts_ms,
            last_event_ts_ms=stats.last_ts_ms,
            max_lag_ms=stats.lag_max_ms,
            lag_p50_ms=stats.lag_percentile(0.5),
            lag_p99_ms=stats.lag_percentile(0.99),
            plan=run_plan(self.settings),
            setup_s=round(self._ready_at - self._began, 3) if self._ready_at else 0.0,
            peak_in_flight=stats.peak_in_flight,
            peak_rss_mib=peak_rss_mib(),
            phases=phases,
            delays=delays,
            anomalies=scheduler.anomaly_report(),
            offsets=ledger.offsets,  # filled by a sink that knows where its records went
            out=self._out_dir(),
            value_format=self._format("kafka", self.settings.kafka.value_format),
            file_format=self._format("file", self.settings.file.format),
        )
