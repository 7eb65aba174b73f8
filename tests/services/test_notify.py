"""systemd's notify protocol through real AF_UNIX datagram sockets: parsing, watchdog, a real process."""

from __future__ import annotations

import io
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import trio
import trio.testing
from conftest import defaults_only, subprocess_env

from synthpay.engine.snapshot import Backfill, Snapshot
from synthpay.services import notify
from synthpay.services.logs import make_logger
from synthpay.services.notify import NotifyTarget, target_from_environ

# --- the environment systemd sets


def test_no_socket_means_no_notifier() -> None:
    assert target_from_environ({}, 42) is None
    assert target_from_environ({"WATCHDOG_USEC": "1000000"}, 42) is None


def test_socket_path_abstract_name_and_watchdog_interval() -> None:
    assert target_from_environ({"NOTIFY_SOCKET": "/run/systemd/notify"}, 42) == NotifyTarget(
        "/run/systemd/notify", None
    )
    assert target_from_environ({"NOTIFY_SOCKET": "@sd"}, 42) == NotifyTarget("\0sd", None)
    env = {"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "30000000"}
    assert target_from_environ(env, 42) == NotifyTarget("/n", 15.0)  # half the timeout
    assert target_from_environ({**env, "WATCHDOG_PID": "42"}, 42) == NotifyTarget("/n", 15.0)
    # The watchdog is another process's (e.g. a wrapper's): no pings from us.
    assert target_from_environ({**env, "WATCHDOG_PID": "7"}, 42) == NotifyTarget("/n", None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NOTIFY_SOCKET": "relative/sock"}, "NOTIFY_SOCKET = 'relative/sock': expected an absolute path"),
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "soon"}, "WATCHDOG_USEC = 'soon': expected a whole number"),
        ({"NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"}, "WATCHDOG_USEC = '0': expected a whole number"),
    ],
)
def test_unusable_variables(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        target_from_environ(env, 42)


def snapshot(events: int, in_flight: int, delivered: int, failed: int) -> Snapshot:
    """Figures with the given counts, the rest zero and the optional ones absent."""
    return Snapshot(
        events=events,
        emitted={},
        produced={},
        delivered={},
        failed={},
        produced_total=delivered + failed,
        delivered_total=delivered,
        failed_total=failed,
        in_flight=in_flight,
        started=0,
        completed=0,
        io_busy=False,
        lag_max_ms=0,
        elapsed_s=0.0,
    )


def test_status_line() -> None:
    figures = snapshot(events=12345, in_flight=100, delivered=12000, failed=2)
    assert notify.status_line(figures, 2001.4) == "12,345 events (2,001/s), 100 in flight, 12,000 delivered, 2 failed"
    figures = replace(figures, target_rate=100.0, achieved_rate=99.25)
    assert notify.status_line(figures, None) == (
        "12,345 events, 100 in flight, 12,000 delivered, 2 failed, 99.2 of 100.0 payments/s"
    )


def test_status_line_leads_with_the_part_of_a_run_whose_history_ends_now() -> None:
    figures = replace(
        snapshot(events=10, in_flight=1, delivered=10, failed=0),
        backfill=Backfill(live=False, done=0.452, event_time_ms=1_767_225_600_000),
    )
    assert notify.status_line(figures, None).startswith("backfill 45% (event time 2026-01-01T00:00:00.000Z): 10 events")
    live = replace(figures, backfill=Backfill(live=True, done=1.0, event_time_ms=1_767_225_600_000))
    assert notify.status_line(live, None).startswith("live: 10 events")


# --- the watchdog follows the engine's health


class FakeEngine:
    """What the notifier reads from an engine."""

    def __init__(self) -> None:
        self.settings = defaults_only({"run.clock": "real", "run.summary_interval_s": 1000})
        self.log_stream = io.StringIO()
        self.log = make_logger("info", stream=self.log_stream)
        self.ready = trio.Event()
        self.stopping = trio.Event()
        self.healthy = (True, "ok")

    def health(self) -> tuple[bool, str]:
        return self.healthy

    def snapshot(self) -> Snapshot:
        return snapshot(events=5, in_flight=1, delivered=4, failed=0)


async def test_watchdog_pings_only_while_healthy(autojump_clock: trio.testing.MockClock) -> None:
    engine = FakeEngine()
    received: list[tuple[float, str]] = []
    with trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        name = f"@synthpay-test-{uuid.uuid4().hex}"
        await server.bind("\0" + name[1:])
        target = target_from_environ({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000"}, os.getpid())
        assert target is not None and target.watchdog_s == 1.0

        async def receive() -> None:
            while True:
                data = await server.recv(4096)
                received.append((trio.current_time(), data.decode()))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive)
            nursery.start_soon(notify.notify, engine, target)
            await trio.sleep(4.5)  # pings at 0, 1, 2, 3, 4
            engine.healthy = (False, "the I/O thread has been silent for 31s")
            await trio.sleep(5)  # none at 5..9
            engine.healthy = (True, "ok")
            await trio.sleep(2)  # pings again at 10, 11
            nursery.cancel_scope.cancel()

    pings = [round(t) for t, message in received if message == "WATCHDOG=1"]
    assert pings == [0, 1, 2, 3, 4, 10, 11]
    assert [m for _, m in received if m != "WATCHDOG=1"] == ["STATUS=starting: opening the file sink"]
    # The reason is logged once, not at every missed ping.
    assert engine.log_stream.getvalue().count('"event": "watchdog_withheld"') == 1


async def test_notify_failures_are_logged_not_raised(autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
    engine = FakeEngine()
    target = NotifyTarget(str(tmp_path / "nobody-listens"), 1.0)
    with trio.move_on_after(2.5):
        await notify.notify(engine, target)
    assert '"event": "notify_failed"' in engine.log_stream.getvalue()


# --- a real process, a real NOTIFY_SOCKET


def receive_until(sock: socket.socket, wanted: str, deadline_s: float, seen: list[tuple[int, str]]) -> None:
    """Receive datagrams (with the sender's pid) into ``seen`` until one holds the line ``wanted``."""
    deadline = time.monotonic() + deadline_s
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except TimeoutError:
            pytest.fail(f"no {wanted!r} within {deadline_s}s; got {[m for _, m in seen]}")
        pid = next(
            struct.unpack("iII", cdata)[0]
            for level, kind, cdata in ancillary
            if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
        )
        seen.append((pid, data.decode()))
        if wanted in data.decode().split("\n"):
            return


def test_notify_sequence_of_a_real_run(tmp_path: Path) -> None:
    """READY=1 once the sink is open, then STATUS= and WATCHDOG=1; SIGTERM gives STOPPING=1 and exit 0."""
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # as systemd does, for NotifyAccess=main
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synthpay",
                "run",
                "--payments",
                "0",
                "--clock",
                "real",
                "--sink",
                "file",
                "--out",
                str(tmp_path / "out"),
                "--summary-interval",
                "0.3",
                "--shutdown-grace",
                "1",
            ],
            cwd=tmp_path,
            env=subprocess_env(NOTIFY_SOCKET=str(path), WATCHDOG_USEC="400000"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            seen: list[tuple[int, str]] = []
            receive_until(sock, "READY=1", 15, seen)
            ready_at = len(seen)
            receive_until(sock, "WATCHDOG=1", 5, seen)
            receive_until(sock, "WATCHDOG=1", 5, seen)
            while not any(m.startswith("STATUS=") and "events (" in m for _, m in seen[ready_at:]):
                receive_until(sock, "WATCHDOG=1", 5, seen)
            proc.send_signal(signal.SIGTERM)
            receive_until(sock, "STOPPING=1", 10, seen)
            _, err = proc.communicate(timeout=20)
        finally:
            proc.kill()

    assert proc.returncode == 0, err
    assert {pid for pid, _ in seen} == {proc.pid}  # the main process itself: NotifyAccess=main
    messages = [m for _, m in seen]
    assert "STATUS=starting: opening the file sink" in messages[:ready_at]
    ready = messages[ready_at - 1].split("\n")
    assert ready[0] == "READY=1" and ready[1].startswith("STATUS=")
    status = next(m for m in messages[ready_at:] if m.startswith("STATUS=") and "events (" in m)
    assert " in flight, " in status and " delivered, " in status and "\n" not in status
    stopping = messages[-1].split("\n")
    assert stopping[0] == "STOPPING=1" and stopping[1].startswith("STATUS=stopping: ")
