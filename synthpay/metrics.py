"""The metrics and health endpoint: a small HTTP/1.1 server on the engine's Trio loop.

- ``GET /metrics``: Prometheus text format, built from :meth:`Engine.snapshot` at each scrape
  through a private registry (no global metric state).
- ``GET /healthz``: 200 ``ok`` while :meth:`Engine.health` says so, else 503 and the reason.
  Being served at all shows the engine loop is turning.
- ``GET /readyz``: 200 once the sink is open (:attr:`Engine.ready`), else 503.

One request per connection (``Connection: close``). Reading the request and sending the
answer each have a deadline and connections are capped, so a slow or silent client costs
one task for a few seconds and never holds up the engine. The deadlines are Trio time:
under ``--clock virtual`` they pass as fast as virtual time, which suits any client that
sends its request as soon as it connects (all the usual ones do).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import trio
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from synthpay.config import ConfigError
from synthpay.engine import Engine, Service

#: Seconds a client gets to send its request head, and again to take the answer.
IO_TIMEOUT_S = 5.0
#: Request line plus headers larger than this are refused (431).
MAX_HEAD_BYTES = 8192
#: Connections served at once; beyond this they are closed unanswered.
MAX_CONNECTIONS = 16

_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_VERSION = re.compile(r"HTTP/\d\.\d")
_TEXT = "text/plain; charset=utf-8"

#: Per-topic counters: (snapshot key, help).
_TOPIC_COUNTERS = (
    ("emitted", "Events the engine generated"),
    ("produced", "Events the sink accepted"),
    ("delivered", "Events delivered (Kafka: exact when nothing is queued, shared out by topic in between)"),
    ("failed", "Events the sink reported failed"),
)
#: Whole-run counters and gauges: (snapshot key, metric name, help, scale). A key the
#: snapshot lacks is left out, so figures other engine parts add later appear when they do.
_COUNTERS = (
    ("started", "synthpay_payments_started", "Payments started", 1.0),
    ("completed", "synthpay_payments_completed", "Payments whose workflow ran to its end", 1.0),
)
_GAUGES = (
    ("in_flight", "synthpay_payments_in_flight", "Payments started and not yet at their last status", 1.0),
    ("io_busy", "synthpay_io_thread_busy", "1 while the I/O thread writes a batch the engine waits on", 1.0),
    ("backlog", "synthpay_arrivals_backlog", "Arrivals due but waiting for a free worker", 1.0),
    ("sink_queue", "synthpay_sink_queue_messages", "Messages in the sink's own queue awaiting delivery", 1.0),
    ("lag_max_ms", "synthpay_scheduling_lag_max_seconds", "Largest delay of an event behind its due time", 0.001),
    ("target_rate", "synthpay_rate_target_payments_per_second", "Payments per second the run aims for", 1.0),
    ("achieved_rate", "synthpay_rate_achieved_payments_per_second", "Payments per second achieved", 1.0),
)


class EngineCollector:
    """Turns one engine snapshot into Prometheus metric families, at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        """The metric families for the engine's current figures."""
        snapshot = self._engine.snapshot()
        for key, text in _TOPIC_COUNTERS:
            family = CounterMetricFamily(f"synthpay_events_{key}", f"{text}, per topic", labels=["topic"])
            for topic, count in snapshot[key].items():
                family.add_metric([topic], count)
            yield family
        for key, name, text, scale in _COUNTERS:
            if key in snapshot:
                yield CounterMetricFamily(name, text, value=snapshot[key] * scale)
        for key, name, text, scale in _GAUGES:
            if key in snapshot:
                yield GaugeMetricFamily(name, text, value=snapshot[key] * scale)
        yield GaugeMetricFamily("synthpay_ready", "1 once the sink is open", value=self._engine.ready.is_set())
        yield GaugeMetricFamily("synthpay_healthy", "1 while /healthz answers 200", value=self._engine.health()[0])


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer."""

    status: int
    body: bytes
    content_type: str = _TEXT
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, *, with_body: bool = True) -> bytes:
        """The status line, headers and (unless for HEAD) body, ready to send."""
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Cache-Control: no-store",
            "Connection: close",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + self.body if with_body else head


def _text(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, (text + "\n").encode(), headers=headers)


def service(host: str, port: int) -> Service:
    """The endpoint as an engine service, listening on ``host:port``."""

    async def run(engine: Engine) -> None:
        await serve(engine, host, port)

    return run


async def serve(
    engine: Engine, host: str, port: int, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve until cancelled. ``port`` 0 takes any free port; the bound port is reported as started."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(engine))
    try:
        listeners = await trio.open_tcp_listeners(port, host=host or None)
    except OSError as exc:
        raise ConfigError(f"http.port = {port}: cannot listen on {host or '*'}:{port}: {exc.strerror}") from None
    bound = [listener.socket.getsockname() for listener in listeners]
    log: Any = engine.log
    log.info("http_listening", addresses=[f"{a[0]}:{a[1]}" for a in bound],
             paths=["/metrics", "/healthz", "/readyz"])
    limiter = trio.CapacityLimiter(MAX_CONNECTIONS)

    async def handler(stream: trio.SocketStream) -> None:
        await _connection(stream, engine, registry, limiter)

    task_status.started(bound[0][1])
    await trio.serve_listeners(handler, listeners)


async def _connection(
    stream: trio.SocketStream, engine: Engine, registry: CollectorRegistry, limiter: trio.CapacityLimiter
) -> None:
    """Answer one request on ``stream``, then close it."""
    async with stream:
        try:
            limiter.acquire_nowait()
        except trio.WouldBlock:
            return
        try:
            await _exchange(stream, engine, registry)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away; nothing to answer
        finally:
            limiter.release()


async def _exchange(stream: trio.SocketStream, engine: Engine, registry: CollectorRegistry) -> None:
    """Read one request head and send its answer, each within IO_TIMEOUT_S."""
    head: bytes | Response | None = None
    with trio.move_on_after(IO_TIMEOUT_S):
        head = await _read_head(stream)
    if head is None:
        return  # silent or closed before a whole request: nobody to answer
    method, response = ("", head) if isinstance(head, Response) else _answer(head, engine, registry)
    with trio.move_on_after(IO_TIMEOUT_S):
        await stream.send_all(response.encode(with_body=method != "HEAD"))


async def _read_head(stream: trio.SocketStream) -> bytes | Response | None:
    """The request line and headers; a 431 answer if too large; None if the client hung up."""
    data = b""
    while (end := _END_OF_HEAD.search(data)) is None and len(data) <= MAX_HEAD_BYTES:
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        data += chunk
    if end is None or end.start() > MAX_HEAD_BYTES:
        return _text(431, "request head too large")
    return data[: end.start()]


def _answer(head: bytes, engine: Engine, registry: CollectorRegistry) -> tuple[str, Response]:
    """(method, response) for one request head."""
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _VERSION.fullmatch(parts[2]):
        return "", _text(400, "bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        return method, _text(505, "HTTP/1.0 and HTTP/1.1 only")
    headers = _headers(lines[1:])
    if headers is None or (version == "HTTP/1.1" and "host" not in headers):
        return method, _text(400, "bad or missing header (HTTP/1.1 needs Host)")
    if method not in ("GET", "HEAD"):
        return method, _text(405, "GET only", (("Allow", "GET, HEAD"),))
    return method, _route(urlsplit(target).path, engine, registry)


def _headers(lines: Sequence[str]) -> set[str] | None:
    """The header names in lower case, or None if a line is malformed."""
    names = set()
    for line in lines:
        name, colon, _ = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name:
            return None
        names.add(name.lower())
    return names


def _route(path: str, engine: Engine, registry: CollectorRegistry) -> Response:
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
