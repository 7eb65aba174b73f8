"""Helpers for tests against the real broker and registry started by ``scripts/services``."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import Consumer, Message
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from synthpay.config.settings import DEFAULT_STATUSES, DEFAULT_WORKFLOWS
from synthpay.sinks.kafka_offsets import watermarks


@dataclass(frozen=True)
class Services:
    bootstrap: str
    sasl_bootstrap: str
    registry: str
    plain_user: str
    plain_password: str
    scram_user: str
    scram_password: str


def services() -> Services:
    """The running services, from ``scripts/services env``; skip (or fail under CI) when absent."""
    bootstrap = os.environ.get("SYNTHPAY_IT_BOOTSTRAP")
    if not bootstrap:
        if os.environ.get("CI"):
            pytest.fail("SYNTHPAY_IT_BOOTSTRAP is not set: run the tests through scripts/test")
        pytest.skip('no broker: run `eval "$(scripts/services env)"` after `scripts/services up`')
    env = os.environ
    return Services(
        bootstrap=bootstrap,
        sasl_bootstrap=env["SYNTHPAY_IT_SASL_BOOTSTRAP"],
        registry=env["SYNTHPAY_IT_REGISTRY"],
        plain_user=env["SYNTHPAY_IT_PLAIN_USER"],
        plain_password=env["SYNTHPAY_IT_PLAIN_PASSWORD"],
        scram_user=env["SYNTHPAY_IT_SCRAM_USER"],
        scram_password=env["SYNTHPAY_IT_SCRAM_PASSWORD"],
    )


def registry(svc: Services) -> SchemaRegistryClient:
    """A registry client with a timeout: by default it waits forever on a stuck request."""
    return SchemaRegistryClient({"url": svc.registry, "timeout": 10})


def write_config(
    tmp_path: Path,
    prefix: str | None = None,
    extra: str = "",
    entities: str = "",
    statuses: Mapping[str, Mapping[str, object]] | None = None,
) -> tuple[Path, dict[str, str]]:
    """A config whose topics carry a unique prefix, so tests never see each other's events.

    ``entities`` adds lines to [entities]; ``statuses`` overrides fields of a status
    (e.g. ``{"Initiated": {"partitions": 5}}``). Returns the path and {status name (or "banks"): topic}.
    """
    prefix = prefix or f"t{uuid.uuid4().hex[:10]}"
    topics = {name: f"{prefix}-payment-{name.lower()}" for name, _, _ in DEFAULT_STATUSES}
    topics["banks"] = f"{prefix}-banks"
    lines = [f'[entities]\nbanks_topic = "{topics["banks"]}"\n{entities}\n', "[statuses]"]
    for name, delay, partitions in DEFAULT_STATUSES:
        spec = {"delay_ms": delay, "partitions": partitions, "topic": topics[name], **(statuses or {}).get(name, {})}
        topics[name] = str(spec["topic"])
        lines.append(f"{name} = {{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in spec.items()) + " }")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path, topics


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    summary: dict[str, Any] = field(default_factory=dict)
    summary_path: Path | None = None

    def log(self) -> list[dict[str, Any]]:
        """The structured log lines on stderr (other lines skipped)."""
        return log_records(self.stderr)


@dataclass
class Started:
    """A ``synthpay`` process running in the background; its output goes to files."""

    proc: subprocess.Popen[bytes]
    summary_path: Path
    stdout_path: Path
    stderr_path: Path

    def log(self) -> list[dict[str, Any]]:
        """The structured log lines written to stderr so far."""
        return log_records(self.stderr_path.read_text(errors="replace"))

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)


def log_records(text: str) -> list[dict[str, Any]]:
    """JSON log lines out of synthpay's stderr."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a kill
                records.append(json.loads(line))
    return records


def _clean_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "SCHEMA_REGISTRY_", "NUM_", "DELAY_"))}
    return {**base, **env}


def start_synthpay(tmp_path: Path, args: list[str], env: dict[str, str]) -> Started:
    """``python -m synthpay run --summary-json ... ARGS`` in the background, with only ``env`` added."""
    tag = uuid.uuid4().hex[:6]
    summary_path = tmp_path / f"summary-{tag}.json"
    out, err = tmp_path / f"stdout-{tag}.txt", tmp_path / f"stderr-{tag}.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthpay", "run", "--summary-json", str(summary_path), *args],
            cwd=tmp_path,
            env=_clean_env(env),
            stdout=stdout,
            stderr=stderr,
        )
    return Started(proc, summary_path, out, err)


def finish(started: Started, timeout: float = 300) -> Run:
    """Wait for a background run (killing it after ``timeout``) and collect its outcome."""
    try:
        started.proc.wait(timeout=timeout)
    finally:
        if started.proc.poll() is None:
            started.proc.kill()
            started.proc.wait()
    path = started.summary_path
    summary = json.loads(path.read_text()) if path.exists() else {}
    return Run(
        started.proc.returncode,
        started.stdout_path.read_text(),
        started.stderr_path.read_text(),
        summary,
        path if path.exists() else None,
    )


def run_synthpay(tmp_path: Path, args: list[str], env: dict[str, str], timeout: float = 300) -> Run:
    """``python -m synthpay run ...`` in a subprocess, with only the given environment added."""
    return finish(start_synthpay(tmp_path, args, env), timeout)


def verify_run(tmp_path: Path, run: Run, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``synthpay verify`` on a run's summary; its report is printed for the test log."""
    assert run.summary_path is not None, "the run wrote no summary"
    proc = subprocess.run(
        [sys.executable, "-m", "synthpay", "verify", str(run.summary_path), *args],
        cwd=tmp_path,
        env=_clean_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(proc.stdout + proc.stderr)
    return proc


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process in KiB, from /proc; (0, 0) once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields.get("VmRSS", "0 kB").split()[0]), int(fields.get("VmHWM", "0 kB").split()[0])


@dataclass(frozen=True)
class Broker:
    """The services' broker, for fault tests: kill, freeze, thaw and restart it."""

    pid_file: Path
    script: str

    def pid(self) -> int:
        return int(self.pid_file.read_text().split()[0])

    def kill(self) -> None:
        os.kill(self.pid(), signal.SIGKILL)

    def freeze(self) -> None:
        os.kill(self.pid(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.pid(), signal.SIGCONT)

    def restart(self) -> float:
        """``scripts/services restart-kafka``; returns how long it took."""
        began = time.monotonic()
        proc = subprocess.run([self.script, "restart-kafka"], timeout=180, capture_output=True, text=True)
        assert proc.returncode == 0, f"restart-kafka failed: {proc.stderr[-3000:]}"
        return time.monotonic() - began

    def heal(self) -> None:
        """Leave the broker running whatever a test did to it: thaw a frozen one, restart a dead one."""
        try:
            pid = self.pid()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            state = "gone"
        if state == "T":
            self.thaw()
        elif state in ("gone", "Z"):
            self.restart()


def broker() -> Broker:
    """The broker of ``scripts/services env``; skip (or fail under CI) when fault control is not set up."""
    services()
    pid_file, script = os.environ.get("SYNTHPAY_SVC_KAFKA_PID_FILE"), os.environ.get("SYNTHPAY_SVC_SCRIPT")
    if not pid_file or not script:
        if os.environ.get("CI"):
            pytest.fail("SYNTHPAY_SVC_KAFKA_PID_FILE / SYNTHPAY_SVC_SCRIPT not set: run through scripts/test")
        pytest.skip('no broker control: `eval "$(scripts/services env)"`')
    return Broker(Path(pid_file), script)


class _NotFound(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<html><body>Not Found</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def not_a_registry() -> Iterator[str]:
    """The URL of an HTTP server that is no schema registry: it answers 404 and HTML to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A local TCP port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def kafka_env(svc: Services) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": svc.bootstrap, "SCHEMA_REGISTRY_ENDPOINT": svc.registry}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    timestamp: int
    headers: dict[str, bytes]
    schema_id: int
    value: dict[str, Any]


#: A value deserializer as confluent-kafka's are called: (value, context) -> the record.
Deserializer = Callable[[bytes, SerializationContext], Any]


def avro_deserializer(svc: Services) -> Deserializer:
    """The registry's AvroDeserializer, its writer schema looked up by the value's id."""
    deserialize: Deserializer = AvroDeserializer(
        registry(svc), conf={"subject.name.strategy": topic_subject_name_strategy}
    )
    return deserialize


def consume(
    svc: Services, topics: list[str], expected: int, timeout: float = 60, deserializer: Deserializer | None = None
) -> list[Record]:
    """Read every topic from the beginning until ``expected`` records, with ``deserializer`` (default Avro's).

    A value in the Confluent wire format gives its record's schema_id; any other value -1.
    """
    deserializer = deserializer or avro_deserializer(svc)
    consumer = Consumer(
        {
            "bootstrap.servers": svc.bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    records: list[Record] = []
    try:
        consumer.subscribe(topics)
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=10_000, timeout=0.5):
                if msg.error():
                    raise AssertionError(f"consumer error: {msg.error()}")
                raw, topic = msg.value(), msg.topic()
                assert raw is not None and topic is not None
                value = deserializer(raw, SerializationContext(topic, MessageField.VALUE))
                framed = len(raw) >= 5 and raw[0] == 0
                records.append(_record(msg, int.from_bytes(raw[1:5], "big") if framed else -1, value))
        # Anything beyond the expected count would be a duplicate: look a little longer.
        extra = consumer.consume(num_messages=10_000, timeout=1.0)
        records.extend(_record(msg, -1, {}) for msg in extra if not msg.error())
    finally:
        consumer.close()
    return records


def _record(msg: Message, schema_id: int, value: dict[str, Any]) -> Record:
    topic, partition, offset, key = msg.topic(), msg.partition(), msg.offset(), msg.key()
    assert topic is not None and partition is not None and offset is not None and key is not None
    headers = cast("list[tuple[str, bytes]]", msg.headers() or [])  # the consumer gives pairs
    return Record(topic, partition, offset, key.decode(), msg.timestamp()[1], dict(headers), schema_id, value)


def end_offsets(svc: Services, topics: list[str]) -> int:
    """Total records on the topics (high watermarks), without consuming."""
    consumer = Consumer({"bootstrap.servers": svc.bootstrap, "group.id": f"wm-{uuid.uuid4().hex}"})
    try:
        marks, _ = watermarks(consumer, topics, timeout_s=30)
        return sum(high for _, high in marks.values())
    finally:
        consumer.close()


def workflows_by_steps() -> set[tuple[str, ...]]:
    return {steps for steps, _ in DEFAULT_WORKFLOWS}


def group_by_payment(records: list[Record], banks_topic: str) -> dict[str, list[Record]]:
    by_id: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.topic != banks_topic:
            by_id[r.key].append(r)
    return by_id
