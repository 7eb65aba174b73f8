"""systemd's readiness and watchdog protocol (sd_notify(3)) in plain standard-library sockets.

Under ``Type=notify`` the service manager sets ``$NOTIFY_SOCKET``; the engine then sends
``READY=1`` once the sink is open (connected, topics exist, schemas registered), a one-line
``STATUS=`` every ``summary_interval_s``, ``STOPPING=1`` when it stops, and, when
``WatchdogSec=`` is set, ``WATCHDOG=1`` every half ``$WATCHDOG_USEC`` from the engine's own
loop while :meth:`EngineView.health` is good: a stuck I/O thread (or loop) stops the pings and
systemd restarts the service, while a broker outage does not (the sink heartbeats while it
waits). The timers run on wall time under both clocks: under ``--clock virtual`` virtual
time races ahead, and the watchdog must still be fed at systemd's pace.

``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` are the service manager's
protocol, set per invocation, not settings: they are read from the process environment
only, never from ``.env`` or ``config.toml``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import trio

from synthpay.config.clocks import profile
from synthpay.engine.clock import EngineClock
from synthpay.engine.snapshot import EngineView, Service, Snapshot
from synthpay.model.serde import rfc3339_ms

Send = Callable[[str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """Where to notify, and how often to feed the watchdog (None: no watchdog)."""

    address: str  # a socket path, or "\0name" for an abstract socket
    watchdog_s: float | None


def target_from_environ(environ: Mapping[str, str], pid: int) -> NotifyTarget | None:
    """The target systemd's variables describe; None without ``$NOTIFY_SOCKET``.

    Raises ValueError (one line) when a variable is set to something unusable.
    """
    name = environ.get("NOTIFY_SOCKET", "")
    if not name:
        return None
    if name.startswith("@"):
        address = "\0" + name[1:]
    elif name.startswith("/"):
        address = name
    else:
        raise ValueError(f"NOTIFY_SOCKET = {name!r}: expected an absolute path or an @abstract name")
    return NotifyTarget(address, _watchdog_interval(environ, pid))


def _watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner != str(pid):
        return None  # the watchdog belongs to another process, e.g. a wrapper that exec'd us
    try:
        value = int(usec)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"WATCHDOG_USEC = {usec!r}: expected a whole number of microseconds > 0")
    return value / 2 / 1_000_000  # sd_watchdog_enabled(3): ping at half the timeout


def service(target: NotifyTarget) -> Service:
    """The notifier as an engine service."""

    async def run(engine: EngineView) -> None:
        await notify(engine, target)

    return run


async def notify(engine: EngineView, target: NotifyTarget) -> None:
    """Speak the protocol for as long as the engine runs (until cancelled)."""
    log = engine.log
    # A fresh EngineClock only for its wall_sleep: the engine closes its own clock when
    # generation ends, but the watchdog must be fed through the final flush too. Closing
    # this one when the service ends wakes a wall-time wait's thread at once.
    clock = EngineClock(virtual=profile(engine.settings.run.clock).virtual)
    wall_sleep: Sleep = clock.wall_sleep
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:

        async def send(message: str) -> None:
            try:
                await sock.sendto(message.encode(), target.address)
            except OSError as exc:
                # Lost notifications must not stop the run; systemd acts on their absence.
                log.warning("notify_failed", message=message.partition("=")[0], error=exc.strerror)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_lifecycle, engine, send)
                nursery.start_soon(_status, engine, send, wall_sleep)
                if target.watchdog_s is not None:
                    nursery.start_soon(watchdog, engine, send, wall_sleep, target.watchdog_s)
        finally:
            clock.close()


async def _lifecycle(engine: EngineView, send: Send) -> None:
    await send(f"STATUS=starting: opening the {engine.settings.run.sink} sink")
    await engine.ready.wait()
    await send("READY=1\nSTATUS=" + status_line(engine.snapshot(), None))
    await engine.stopping.wait()
    await send("STOPPING=1\nSTATUS=stopping: " + status_line(engine.snapshot(), None))


async def _status(engine: EngineView, send: Send, wall_sleep: Sleep) -> None:
    await engine.ready.wait()
    last_events, last_t = engine.snapshot().events, time.monotonic()
    while True:
        await wall_sleep(engine.settings.run.summary_interval_s)
        snapshot, now = engine.snapshot(), time.monotonic()
        rate = (snapshot.events - last_events) / (now - last_t)
        prefix = "stopping: " if engine.stopping.is_set() else ""
        await send("STATUS=" + prefix + status_line(snapshot, rate))
        last_events, last_t = snapshot.events, now


async def watchdog(engine: EngineView, send: Send, wall_sleep: Sleep, interval_s: float) -> None:
    """Send WATCHDOG=1 every ``interval_s`` while the engine is healthy; say once why not."""
    withheld = ""
    while True:
        healthy, reason = engine.health()
        if healthy:
            await send("WATCHDOG=1")
        elif reason != withheld:
            engine.log.warning("watchdog_withheld", reason=reason)
        withheld = "" if healthy else reason
        await wall_sleep(interval_s)


def status_line(snapshot: Snapshot, events_per_s: float | None) -> str:
    """One line of progress for ``systemctl status`` (the rate when one was measured)."""
    rate = f" ({events_per_s:,.0f}/s)" if events_per_s is not None else ""
    parts = [
        f"{snapshot.events:,} events{rate}",
        f"{snapshot.in_flight:,} in flight",
        f"{snapshot.delivered_total:,} delivered",
        f"{snapshot.failed_total:,} failed",
    ]
    if snapshot.target_rate is not None and snapshot.achieved_rate is not None:
        parts.append(f"{snapshot.achieved_rate:,.1f} of {snapshot.target_rate:,.1f} payments/s")
    return part_of_run(snapshot) + ", ".join(parts)


def part_of_run(snapshot: Snapshot) -> str:
    """``"backfill 45% (event time ...): "`` or ``"live: "`` for a run whose history ends now, else ""."""
    backfill = snapshot.backfill
    if backfill is None:
        return ""
    if backfill.live:
        return "live: "
    return f"backfill {backfill.done:.0%} (event time {rfc3339_ms(backfill.event_time_ms)}): "
