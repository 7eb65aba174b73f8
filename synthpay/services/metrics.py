"""The metrics and health endpoint: a small HTTP/1.1 server on the engine's Trio loop.

- ``GET /metrics``: Prometheus text format, built from :meth:`EngineView.snapshot` at each scrape
  through a private registry (no global metric state).
- ``GET /healthz``: 200 ``ok`` while :meth:`EngineView.health` says so, else 503 and the reason.
  Being served at all shows the engine loop is turning.
- ``GET /readyz``: 200 once the sink is open (:attr:`EngineView.ready`), else 503.

One request per connection (``Connection: close``), parsed by h11. Reading the request and
sending the answer each have a wall-time deadline (under ``--clock virtual`` too), and
connections are capped in all and per peer address, so a slow or silent client costs one
task for a few seconds and never holds up the engine. At a cap the oldest connection still
waiting for its request is closed to make room, so a client holding idle connections
cannot lock out health probes and scrapes; only when every connection is being answered
does a newcomer get 503.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import h11
import trio
import trio.testing
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from synthpay.config.errors import ConfigError
from synthpay.engine.clock import EngineClock
from synthpay.engine.snapshot import Endpoint, EngineView, Service, Snapshot

#: Seconds a client gets to send its request head, and again to take the answer.
IO_TIMEOUT_S = 5.0
#: Request line plus headers larger than this are refused (431).
MAX_HEAD_BYTES = 8192
#: Connections open at once, in all and from one peer address.
MAX_CONNECTIONS = 16
MAX_PER_PEER = 8

#: Bytes read and dropped after an answer before closing anyway.
_LINGER_BYTES = 8 * MAX_HEAD_BYTES

Sleep = Callable[[float], Awaitable[bool]]
_TEXT = "text/plain; charset=utf-8"

#: Per-topic counters: (name suffix, figures, help).
_TOPIC_COUNTERS: tuple[tuple[str, Callable[[Snapshot], Mapping[str, int]], str], ...] = (
    ("emitted", lambda s: s.emitted, "Events the engine generated"),
    ("produced", lambda s: s.produced, "Events the sink accepted"),
    (
        "delivered",
        lambda s: s.delivered,
        "Events delivered (Kafka: exact when nothing is queued, shared out by topic in between)",
    ),
    ("failed", lambda s: s.failed, "Events the sink reported failed"),
)
#: Whole-run counters and gauges: (metric name, figure, help). A figure the snapshot has
#: as None is left out rather than shown as zero.
_COUNTERS: tuple[tuple[str, Callable[[Snapshot], int], str], ...] = (
    ("synthpay_payments_started", lambda s: s.started, "Payments started"),
    ("synthpay_payments_completed", lambda s: s.completed, "Payments whose workflow ran to its end"),
)
_GAUGES: tuple[tuple[str, Callable[[Snapshot], float | None], str], ...] = (
    ("synthpay_payments_in_flight", lambda s: s.in_flight, "Payments started and not yet at their last status"),
    ("synthpay_io_thread_busy", lambda s: s.io_busy, "1 while the I/O thread writes a batch the engine waits on"),
    ("synthpay_draining", lambda s: s.draining, "1 once a stop was requested: no new payments, those in flight finish"),
    ("synthpay_arrivals_backlog", lambda s: s.backlog, "Arrivals due but waiting for a free worker"),
    ("synthpay_sink_queue_messages", lambda s: s.sink_queue, "Messages in the sink's own queue awaiting delivery"),
    (
        "synthpay_scheduling_lag_max_seconds",
        lambda s: s.lag_max_ms / 1000,
        "Largest delay of an event behind its due time",
    ),
    ("synthpay_rate_target_payments_per_second", lambda s: s.target_rate, "Payments per second the run aims for"),
    ("synthpay_rate_achieved_payments_per_second", lambda s: s.achieved_rate, "Payments per second achieved"),
    (
        "synthpay_backfill_progress_ratio",
        lambda s: s.backfill.done if s.backfill else None,
        "Share of the history up to now emitted so far, 1 once live (runs whose history ends now)",
    ),
    (
        "synthpay_live",
        lambda s: s.backfill.live if s.backfill else None,
        "1 once the backfill reached now and events follow the wall clock (runs whose history ends now)",
    ),
    (
        "synthpay_event_time_seconds",
        lambda s: s.backfill.event_time_ms / 1000 if s.backfill else None,
        "The engine's event time, Unix seconds (runs whose history ends now)",
    ),
)


class EngineCollector:
    """Turns one engine snapshot into Prometheus metric families, at each scrape."""

    def __init__(self, engine: EngineView) -> None:
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        """The metric families for the engine's current figures."""
        snapshot = self._engine.snapshot()
        for suffix, by_topic, text in _TOPIC_COUNTERS:
            family = CounterMetricFamily(f"synthpay_events_{suffix}", f"{text}, per topic", labels=["topic"])
            for topic, count in by_topic(snapshot).items():
                family.add_metric([topic], count)
            yield family
        if snapshot.anomalies is not None:
            family = CounterMetricFamily(
                "synthpay_anomalies",
                "Anomalies injected per kind and topic: labelled records, or missing events never emitted",
                labels=["kind", "topic"],
            )
            for kind, counts in snapshot.anomalies.items():
                for topic, count in counts.items():
                    family.add_metric([kind, topic], count)
            yield family
        if snapshot.phase is not None:
            phases = GaugeMetricFamily(
                "synthpay_phase_active", "1 for the [[phases]] phase in force, 0 for the others", labels=["phase"]
            )
            for phase in dict.fromkeys(p.name for p in self._engine.settings.phases):
                phases.add_metric([phase], phase == snapshot.phase)
            yield phases
        for name, counter, text in _COUNTERS:
            yield CounterMetricFamily(name, text, value=counter(snapshot))
        for name, gauge, text in _GAUGES:
            if (value := gauge(snapshot)) is not None:
                yield GaugeMetricFamily(name, text, value=value)
        yield GaugeMetricFamily("synthpay_ready", "1 once the sink is open", value=self._engine.ready.is_set())
        yield GaugeMetricFamily("synthpay_healthy", "1 while /healthz answers 200", value=self._engine.health()[0])


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer."""

    status: int
    body: bytes
    content_type: str = _TEXT
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, conn: h11.Connection, *, with_body: bool = True) -> bytes:
        """The status line, headers and (unless for HEAD) body, framed by ``conn``."""
        headers = [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            *self.headers,
        ]
        reason = HTTPStatus(self.status).phrase.encode()
        data = conn.send(h11.Response(status_code=self.status, reason=reason, headers=headers))
        if with_body:
            data += conn.send(h11.Data(data=self.body))
        return data + conn.send(h11.EndOfMessage())


def _text(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, (text + "\n").encode(), headers=headers)


class Slot:
    """One open connection as the server tracks it."""

    __slots__ = ("closable", "deadline", "peer", "refused", "scope")

    def __init__(self, peer: str, deadline: float) -> None:
        self.peer = peer
        self.scope = trio.CancelScope()  # cancelled when the connection times out or makes room
        self.deadline = deadline  # time.monotonic(): wall time under either clock
        self.closable = True  # not answering now: may be closed to make room for a newcomer
        self.refused = False  # no room was made: to be answered 503 and closed


class Connections:
    """The open connections, oldest deadline first: who makes room for a newcomer, who ran out of time.

    A newcomer always gets in while some connection in its way is not being answered (it
    waits for its request, or lingers after its answer): the oldest such connection is
    closed to make room, one of the newcomer's own peer's when that peer is at its cap, so
    a client hoarding idle connections only ever closes its own and every scrape and probe
    is answered.
    """

    def __init__(self, io_timeout_s: float) -> None:
        self._io_timeout_s = io_timeout_s
        self._open: dict[Slot, None] = {}  # insertion order is deadline order
        self._arrived = trio.Event()

    def admit(self, peer: str) -> Slot:
        """A slot for a new connection from ``peer``, refused when every connection in its way is being answered.

        A refused slot is tracked like any other (its answer gets a deadline) and is the
        first to make room for the next newcomer, so refusals never pile up.
        """
        slot = Slot(peer, time.monotonic() + self._io_timeout_s)
        while crowd := self._crowd(peer):
            victim = next((other for other in crowd if other.closable), None)
            if victim is None:
                slot.refused = True
                break
            self.close(victim)
        self._open[slot] = None
        self._arrived.set()
        return slot

    def _crowd(self, peer: str) -> list[Slot]:
        """The connections one must leave for a newcomer from ``peer`` to fit; empty when it fits."""
        own = [slot for slot in self._open if slot.peer == peer]
        if len(own) >= MAX_PER_PEER:
            return own
        return list(self._open) if len(self._open) >= MAX_CONNECTIONS else []

    def answering(self, slot: Slot) -> None:
        """``slot`` has its request: it may no longer be closed to make room, and has a fresh deadline."""
        slot.closable = False
        slot.deadline = time.monotonic() + self._io_timeout_s
        self._open.pop(slot, None)
        self._open[slot] = None

    @staticmethod
    def answered(slot: Slot) -> None:
        """``slot`` has its answer: it may be closed to make room again."""
        slot.closable = True

    def close(self, slot: Slot) -> None:
        """Stop tracking ``slot`` and end its exchange."""
        self._open.pop(slot, None)
        slot.scope.cancel()

    async def expire(self, wall_sleep: Sleep) -> None:
        """Close each connection at its deadline, until ``wall_sleep`` reports its clock closed."""
        while True:
            now = time.monotonic()
            while self._open and (oldest := next(iter(self._open))).deadline <= now:
                self.close(oldest)
            if not self._open:
                self._arrived = trio.Event()
                await self._arrived.wait()
            elif not await wall_sleep(next(iter(self._open)).deadline - now):
                return


def service(host: str, port: int) -> Service:
    """The endpoint as an engine service, listening on ``host:port``."""

    async def run(engine: EngineView) -> None:
        await serve(engine, host, port)

    return run


def endpoint(host: str, port: int) -> Endpoint:
    """The endpoint as a service started with ``nursery.start``: started once it listens on ``host:port``."""

    async def run(engine: EngineView, *, task_status: trio.TaskStatus[int]) -> None:
        await serve(engine, host, port, task_status=task_status)

    return run


async def serve(
    engine: EngineView,
    host: str,
    port: int,
    *,
    io_timeout_s: float = IO_TIMEOUT_S,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled. ``port`` 0 takes any free port; the bound port is reported as started."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(engine))
    try:
        listeners = await trio.open_tcp_listeners(port, host=host or None)
    except OSError as exc:
        raise ConfigError(f"http.port = {port}: cannot listen on {host or '*'}:{port}: {exc.strerror}") from None
    bound = [listener.socket.getsockname() for listener in listeners]
    log = engine.log
    log.info("http_listening", addresses=[f"{a[0]}:{a[1]}" for a in bound], paths=["/metrics", "/healthz", "/readyz"])
    connections = Connections(io_timeout_s)

    async def handler(stream: trio.SocketStream) -> None:
        await _connection(stream, engine, registry, connections)

    # Deadlines are wall time under either clock (a client's pace has nothing to do with
    # virtual time), kept by one timer; closing this clock wakes its wall-time wait at once.
    clock = EngineClock(virtual=isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock))
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(connections.expire, clock.wall_sleep)
            task_status.started(bound[0][1])
            await trio.serve_listeners(handler, listeners)
    finally:
        clock.close()


async def _connection(
    stream: trio.SocketStream, engine: EngineView, registry: CollectorRegistry, connections: Connections
) -> None:
    """Answer one request on ``stream``, then close it."""
    async with stream:
        try:
            peer = str(stream.socket.getpeername()[0])
        except OSError:
            return  # gone before we looked
        slot = connections.admit(peer)
        try:
            with slot.scope:
                if slot.refused:
                    busy = _text(503, "busy: every connection is being answered; retry")
                    await stream.send_all(busy.encode(h11.Connection(h11.SERVER)))
                    await _linger(stream)
                else:
                    await _exchange(stream, engine, registry, connections, slot)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away; nothing to answer
        finally:
            connections.close(slot)


async def _exchange(
    stream: trio.SocketStream, engine: EngineView, registry: CollectorRegistry, connections: Connections, slot: Slot
) -> None:
    """Read one request head and send its answer, each before the slot's deadline."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    request = await _read_request(stream, conn)
    if request is None:
        return  # closed before a whole request: nobody to answer
    connections.answering(slot)
    if isinstance(request, Response):
        await stream.send_all(request.encode(conn))
    else:
        await stream.send_all(_answer(request, engine, registry).encode(conn, with_body=request.method != b"HEAD"))
    connections.answered(slot)
    await _linger(stream)


async def _linger(stream: trio.SocketStream) -> None:
    """Half-close, then read what the client still sends until it closes (or the deadline, or a few heads' worth).

    Closing with unread data would reset the connection, which can destroy the answer
    before the client reads it (a refused oversized head, a body we never asked for).
    """
    await stream.send_eof()
    drained = 0
    while drained <= _LINGER_BYTES and (chunk := await stream.receive_some(MAX_HEAD_BYTES)):
        drained += len(chunk)


async def _read_request(stream: trio.SocketStream, conn: h11.Connection) -> h11.Request | Response | None:
    """The request head; an error answer if it is malformed or too large; None if the client hung up."""
    received = 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:
                return _text(431, "request head too large")
            return _text(exc.error_status_hint, "bad request line or header (HTTP/1.1 needs Host)")
        if isinstance(event, h11.Request):
            return event
        if event is not h11.NEED_DATA:
            return None
        # Never more than one byte past the limit, so h11 sees any head that exceeds it.
        chunk = await stream.receive_some(MAX_HEAD_BYTES + 1 - received)
        if not chunk:
            return None
        received += len(chunk)
        conn.receive_data(chunk)


def _answer(request: h11.Request, engine: EngineView, registry: CollectorRegistry) -> Response:
    if request.http_version not in (b"1.0", b"1.1"):
        return _text(505, "HTTP/1.0 and HTTP/1.1 only")
    if request.method not in (b"GET", b"HEAD"):
        return _text(405, "GET only", (("Allow", "GET, HEAD"),))
    return _route(urlsplit(request.target.decode("latin-1")).path, engine, registry)


def _route(path: str, engine: EngineView, registry: CollectorRegistry) -> Response:
    if path == "/metrics":
        return Response(200, generate_latest(registry), CONTENT_TYPE_LATEST)
    if path == "/healthz":
        healthy, reason = engine.health()
        return _text(200 if healthy else 503, reason)
    if path == "/readyz":
        if engine.ready.is_set():
            return _text(200, "ready")
        return _text(503, "not ready: the sink is not open yet")
    return _text(404, "not found; try /metrics, /healthz or /readyz")
