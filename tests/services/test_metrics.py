"""The metrics and health endpoint over real sockets: routes, exposition, HTTP edge cases, timeouts."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
from conftest import defaults_only, make_engine
from http_support import families, free_port, http_get, serving_run, wait_until_ready

from synthpay import cli, config
from synthpay.engine.engine import Engine
from synthpay.engine.snapshot import Backfill, EngineView, Snapshot
from synthpay.model.timeline import Phase
from synthpay.services import metrics
from synthpay.services.logs import make_logger

TOPICS = ("payment-initiated", "banks")


class FakeEngine:
    """What the endpoint reads from an engine, with every figure under the test's control."""

    def __init__(self) -> None:
        self.settings = defaults_only({"run.clock": "real"})
        self.log = make_logger("warning", stream=io.StringIO())
        self.ready = trio.Event()
        self.stopping = trio.Event()
        self.healthy = (True, "ok")
        self.figures = Snapshot(
            events=12,
            emitted={"payment-initiated": 7, "banks": 5},
            produced={"payment-initiated": 6, "banks": 5},
            delivered={"payment-initiated": 4, "banks": 5},
            failed={"payment-initiated": 1, "banks": 0},
            produced_total=11,
            delivered_total=9,
            failed_total=1,
            in_flight=3,
            started=7,
            completed=4,
            io_busy=True,
            lag_max_ms=250,
            elapsed_s=1.5,
        )

    def health(self) -> tuple[bool, str]:
        return self.healthy

    def snapshot(self) -> Snapshot:
        return self.figures


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def port(fake: FakeEngine) -> AsyncIterator[int]:
    """The endpoint serving ``fake`` on an ephemeral port of 127.0.0.1."""
    async with trio.open_nursery() as nursery:
        bound: int = await nursery.start(metrics.serve, fake, "127.0.0.1", 0)
        yield bound
        nursery.cancel_scope.cancel()


async def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` raw and read the answer until the server closes."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        await stream.send_all(request)
        received = b""
        while chunk := await stream.receive_some():
            received += chunk
    return received


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), lines[0]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body


async def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    return parse(await exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))


# --- routes


async def test_readyz_turns_200_once_the_engine_is_ready(fake: FakeEngine, port: int) -> None:
    status, headers, body = await get(port, "/readyz")
    assert status == 503 and b"not ready" in body
    fake.ready.set()
    status, headers, body = await get(port, "/readyz")
    assert (status, body) == (200, b"ready\n")
    assert headers["connection"] == "close" and headers["content-length"] == str(len(body))


async def test_healthz_follows_engine_health(fake: FakeEngine, port: int) -> None:
    status, _, body = await get(port, "/healthz")
    assert (status, body) == (200, b"ok\n")
    fake.healthy = (False, "the I/O thread has been silent for 31s")
    status, _, body = await get(port, "/healthz")
    assert (status, body) == (503, b"the I/O thread has been silent for 31s\n")


async def test_metrics_are_the_snapshot_in_prometheus_format(fake: FakeEngine, port: int) -> None:
    status, headers, body = await get(port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=")
    found = families(body.decode())
    for kind in ("emitted", "produced", "delivered", "failed"):
        by_topic = found[f"synthpay_events_{kind}_total"]
        assert by_topic == {(("topic", t),): float(getattr(fake.figures, kind)[t]) for t in TOPICS}
    assert found["synthpay_payments_started_total"] == {(): 7.0}
    assert found["synthpay_payments_completed_total"] == {(): 4.0}
    assert found["synthpay_payments_in_flight"] == {(): 3.0}
    assert found["synthpay_io_thread_busy"] == {(): 1.0}
    assert found["synthpay_scheduling_lag_max_seconds"] == {(): 0.25}
    assert found["synthpay_ready"] == {(): 0.0} and found["synthpay_healthy"] == {(): 1.0}
    # Figures the snapshot does not have are left out, not shown as zero.
    for absent in ("synthpay_sink_queue_messages", "synthpay_rate_target_payments_per_second"):
        assert absent not in found

    fake.figures = replace(fake.figures, sink_queue=40, target_rate=100.0, achieved_rate=98.5, started=9)
    fake.ready.set()
    found = families((await get(port, "/metrics"))[2].decode())
    assert found["synthpay_sink_queue_messages"] == {(): 40.0}
    assert found["synthpay_rate_target_payments_per_second"] == {(): 100.0}
    assert found["synthpay_rate_achieved_payments_per_second"] == {(): 98.5}
    assert found["synthpay_payments_started_total"] == {(): 9.0}
    assert found["synthpay_ready"] == {(): 1.0}


async def test_anomalies_are_counted_per_kind_and_topic_only_when_injected(fake: FakeEngine, port: int) -> None:
    assert "synthpay_anomalies_total" not in families((await get(port, "/metrics"))[2].decode())
    fake.figures = replace(fake.figures, anomalies={"late": {"payment-initiated": 3}, "missing": {"payment-x": 2}})
    found = families((await get(port, "/metrics"))[2].decode())
    assert found["synthpay_anomalies_total"] == {
        (("kind", "late"), ("topic", "payment-initiated")): 3.0,
        (("kind", "missing"), ("topic", "payment-x")): 2.0,
    }


async def test_a_backfill_shows_its_progress_and_when_it_is_live(fake: FakeEngine, port: int) -> None:
    assert "synthpay_live" not in families((await get(port, "/metrics"))[2].decode())
    fake.figures = replace(fake.figures, backfill=Backfill(live=False, done=0.25, event_time_ms=1_700_000_000_000))
    found = families((await get(port, "/metrics"))[2].decode())
    assert found["synthpay_backfill_progress_ratio"] == {(): 0.25}
    assert found["synthpay_live"] == {(): 0.0}
    assert found["synthpay_event_time_seconds"] == {(): 1_700_000_000.0}


async def test_with_phases_the_one_in_force_is_1_and_the_others_0(fake: FakeEngine, port: int) -> None:
    assert "synthpay_phase_active" not in families((await get(port, "/metrics"))[2].decode())
    fake.settings = replace(fake.settings, phases=(Phase("outage", 60, 60), Phase("sale", 300, 60)))
    fake.figures = replace(fake.figures, phase="sale")
    found = families((await get(port, "/metrics"))[2].decode())
    assert found["synthpay_phase_active"] == {(("phase", "outage"),): 0.0, (("phase", "sale"),): 1.0}
    fake.figures = replace(fake.figures, phase="")  # outside every phase
    found = families((await get(port, "/metrics"))[2].decode())
    assert set(found["synthpay_phase_active"].values()) == {0.0}


async def test_draining_turns_1_once_a_stop_was_requested(fake: FakeEngine, port: int) -> None:
    assert families((await get(port, "/metrics"))[2].decode())["synthpay_draining"] == {(): 0.0}
    fake.figures = replace(fake.figures, draining=True)
    assert families((await get(port, "/metrics"))[2].decode())["synthpay_draining"] == {(): 1.0}


# --- HTTP details


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.0\r\n\r\n", 200),  # HTTP/1.0 needs no Host
        (b"GET /healthz?verbose=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n", 200),
        (b"GET http://a:1/healthz HTTP/1.1\r\nHost: a\r\n\r\n", 200),  # absolute form
        (b"GET /healthz HTTP/1.1\nHost: a\n\n", 200),  # bare LF line ends
        (b"GET /healthz HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
        (b"GET /healthz HTTP/1.1\r\nHost a\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        (b"GET /healthz\r\n\r\n", 400),
        (b"garbage\r\n\r\n", 400),
        (b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 405),
        (b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n", 404),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 404),
        (b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 9000 + b"\r\n\r\n", 431),
    ],
)
async def test_request_handling(port: int, request_bytes: bytes, status: int) -> None:
    got, headers, body = parse(await exchange(port, request_bytes))
    assert got == status, body
    assert "date" in headers and headers["connection"] == "close"
    assert headers["content-length"] == str(len(body))
    if status == 405:
        assert headers["allow"] == "GET, HEAD"


async def test_head_has_the_headers_and_no_body(port: int) -> None:
    status, headers, body = parse(await exchange(port, b"HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n"))
    assert (status, headers["content-length"], body) == (200, "3", b"")


async def test_silent_and_slow_clients_are_dropped_after_the_timeout(
    fake: FakeEngine, mock_clock: trio.testing.MockClock
) -> None:
    # Virtual time stands still (no autojump): only the wall-time deadline can end these.
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(partial(metrics.serve, fake, "127.0.0.1", 0, io_timeout_s=0.2))
        for partial_request in (b"", b"GET /healthz HTTP/1.1\r\nHost: a\r\n"):
            async with await trio.open_tcp_stream("127.0.0.1", bound) as client:
                await client.send_all(partial_request)
                assert await client.receive_some() == b""  # closed, unanswered
        assert (await get(bound, "/healthz"))[0] == 200
        nursery.cancel_scope.cancel()


async def test_deadlines_are_wall_time_under_the_virtual_clock(
    port: int, autojump_clock: trio.testing.MockClock
) -> None:
    """A request sent in pieces a tenth of a wall second apart is answered, however far virtual time runs."""
    async with await trio.open_tcp_stream("127.0.0.1", port) as client:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: a\r\n", b"\r\n"):
            await client.send_all(piece)
            autojump_clock.jump(metrics.IO_TIMEOUT_S * 10)
            await trio.to_thread.run_sync(time.sleep, 0.1)
        received = b""
        while chunk := await client.receive_some():
            received += chunk
    assert parse(received)[0] == 200


async def test_a_client_that_hangs_up_does_not_stop_the_server(port: int) -> None:
    for _ in range(3):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        await stream.aclose()
    assert (await get(port, "/healthz"))[0] == 200


# --- a client that hoards connections


async def hold_open(port: int, source: str, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Keep one idle connection from ``source`` open; re-open it each time the server closes it."""
    started = False
    while True:
        async with await trio.open_tcp_stream("127.0.0.1", port, local_address=source) as stream:
            if not started:
                task_status.started()
                started = True
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.receive_some()


async def test_probes_and_scrapes_are_answered_while_a_client_hoards_connections(port: int) -> None:
    async with trio.open_nursery() as nursery:
        # More than the server lets one peer hold, so they keep closing each other's.
        for _ in range(metrics.MAX_CONNECTIONS):
            await nursery.start(hold_open, port, "127.0.0.2")
        statuses = [(await get(port, path))[0] for _ in range(35) for path in ("/healthz", "/metrics")]
        nursery.cancel_scope.cancel()
    assert statuses == [200] * 70


async def test_a_peer_at_its_cap_makes_room_by_closing_its_own_oldest_idle_connection(port: int) -> None:
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(metrics.MAX_PER_PEER)]
    try:
        for client in idle:
            client.setblocking(False)
        await trio.testing.wait_all_tasks_blocked()
        assert (await get(port, "/healthz"))[0] == 200
        await trio.testing.wait_all_tasks_blocked()
        assert idle[0].recv(1) == b""  # the oldest was closed, unanswered
        for client in idle[1:]:
            with pytest.raises(BlockingIOError):  # still open
                client.recv(1)
    finally:
        for client in idle:
            client.close()


async def test_a_slow_client_is_not_closed_to_make_room_for_another_peer(port: int) -> None:
    async with await trio.open_tcp_stream("127.0.0.1", port) as slow:
        await slow.send_all(b"GET /healthz HTTP/1.1\r\n")
        flood = [
            await trio.open_tcp_stream("127.0.0.1", port, local_address="127.0.0.2")
            for _ in range(2 * metrics.MAX_CONNECTIONS)
        ]
        await trio.testing.wait_all_tasks_blocked()
        await slow.send_all(b"Host: a\r\n\r\n")
        received = b""
        while chunk := await slow.receive_some():
            received += chunk
    for stream in flood:
        await stream.aclose()
    assert parse(received)[0] == 200


def test_no_room_only_when_every_connection_is_being_answered() -> None:
    connections = metrics.Connections(io_timeout_s=5.0)
    slots = [connections.admit("10.0.0.1") for _ in range(metrics.MAX_PER_PEER)]
    for slot in slots:
        connections.answering(slot)
    refused = connections.admit("10.0.0.1")
    assert refused.refused and not connections.admit("10.0.0.2").refused  # another peer still has room
    assert connections.admit("10.0.0.1").refused and refused.scope.cancel_called  # refusals do not pile up
    connections.answered(slots[0])  # lingering after its answer: may make room again
    assert not connections.admit("10.0.0.1").refused and slots[0].scope.cancel_called


async def test_a_refused_newcomer_gets_503(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    admit = metrics.Connections.admit

    def refuse(self: metrics.Connections, peer: str) -> metrics.Slot:
        slot = admit(self, peer)
        slot.refused = True
        return slot

    monkeypatch.setattr(metrics.Connections, "admit", refuse)
    status, headers, body = await get(port, "/healthz")
    assert status == 503 and headers["connection"] == "close" and body.startswith(b"busy")


# --- with the real engine


async def test_endpoint_follows_a_real_engine_run() -> None:
    """As an engine service, real clock (virtual time would race the sockets): ready, healthy,
    counters that grow."""
    scrapes: list[dict[str, dict[tuple[tuple[str, str], ...], float]]] = []
    health: list[int] = []

    async def probe(engine: EngineView) -> None:
        assert isinstance(engine, Engine)
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(metrics.serve, engine, "127.0.0.1", 0)
            await engine.ready.wait()
            assert (await get(bound, "/readyz"))[0] == 200
            for _ in range(3):
                await trio.sleep(0.4)
                scrapes.append(families((await get(bound, "/metrics"))[2].decode()))
                health.append((await get(bound, "/healthz"))[0])
            engine.request_stop()

    # Short delays, so payments keep finishing and starting between scrapes.
    settings = config.load(
        env={
            f"DELAY_{name}": "20"
            for name in ("INITIATED", "VALIDATED", "ACCOUNTED", "COMPLETED", "FAILED", "REJECTED", "CANCELED")
        },
        flags={
            "run.clock": "real",
            "run.payments": 0,
            "run.shutdown_grace_s": 0,
            "run.sink": "null",
            "run.workers": 10,
        },
        read_files=False,
    )
    engine = make_engine(settings, services=[probe])
    summary = await engine.run()

    assert health == [200, 200, 200]
    started = [s["synthpay_payments_started_total"][()] for s in scrapes]
    delivered = [sum(s["synthpay_events_delivered_total"].values()) for s in scrapes]
    assert 0 < started[0] < started[1] < started[2] <= summary.payments_started
    assert 0 < delivered[0] < delivered[1] < delivered[2] <= summary.delivered
    assert len(scrapes) == 3
    assert all(s["synthpay_ready"] == {(): 1.0} for s in scrapes)


def test_cli_serves_the_endpoint_while_running(tmp_path: Path) -> None:
    """A real process with --http-port: the counters move, health and readiness answer, SIGTERM ends it."""
    port = free_port()
    proc = serving_run(tmp_path, port, capture=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, proc)
        first = families(http_get(base + "/metrics")[1])["synthpay_events_emitted_total"]
        time.sleep(1.5)
        second = families(http_get(base + "/metrics")[1])["synthpay_events_emitted_total"]
        assert sum(second.values()) > sum(first.values()) > 0
        assert http_get(base + "/healthz") == (200, "ok\n")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert f'"addresses": ["127.0.0.1:{port}"]' in err and '"event": "http_listening"' in err


def test_with_processes_the_parent_serves_the_childrens_figures_summed(tmp_path: Path) -> None:
    port = free_port()
    proc = serving_run(tmp_path, port, "--processes", "2", "--summary-json", "summary.json", capture=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, proc)  # every child has its sink open
        for _ in range(150):
            started = families(http_get(base + "/metrics")[1])["synthpay_payments_started_total"][()]
            if started > 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the children's payments never showed")
        assert http_get(base + "/healthz") == (200, "ok\n")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert err.count('"event": "http_listening"') == 1  # the parent's alone
    summary = json.loads((tmp_path / "summary.json").read_text())
    # The figures served came from the children (the summing itself: tests/engine/test_shards.py).
    children = [json.loads(line) for line in err.splitlines() if '"event": "run_end"' in line][:2]
    assert len(children) == 2 and 0 < started <= summary["payments_started"]
    assert summary["payments_started"] == sum(child["payments"] for child in children)


@pytest.mark.parametrize(
    "extra",
    [["--clock", "virtual"], ["--processes", "2"]],
    ids=["one-process", "processes-before-any-child-starts"],
)
def test_port_in_use_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTHPAY_HTTP_HOST", "127.0.0.1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["run", "--payments", "5", *extra, "--http-port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("synthpay:")]
    assert lines == [f"synthpay: error: http.port = {port}: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert "processes_start" not in err and "Traceback" not in err
