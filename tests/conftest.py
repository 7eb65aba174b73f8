"""Shared helpers: run the engine under a virtual clock, read the .avro files back."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

import fastavro
import pytest
import trio
import trio.testing

from synthpay import config
from synthpay.config.settings import Settings
from synthpay.engine.engine import Engine
from synthpay.engine.identity import resolve_identity
from synthpay.engine.snapshot import Service
from synthpay.model import entities, serde
from synthpay.model.events import Topic
from synthpay.services.logs import make_logger
from synthpay.sinks.registry import SinkFactory, load_registry
from synthpay.summary.document import Summary

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
# The test plugin module (plugins_for_tests) is importable by that name, in-process and in
# subprocesses (see subprocess_env), whatever the working directory.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

START = "2026-01-31T09:00:00Z"
START_MS = int(datetime(2026, 1, 31, 9, tzinfo=UTC).timestamp() * 1000)
PLUGIN = "plugins_for_tests:register"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Environment variables the configuration (and the service manager's protocol) reads;
# tests start without any of them.
_CONFIG_ENV = {name for names in config.env_names().values() for name in names} | {
    "SYNTHPAY_CONFIG",
    "CREDENTIALS_DIRECTORY",
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No configuration leaks in from the environment the tests run in."""
    for name in list(os.environ):
        if name in _CONFIG_ENV or name.startswith("DELAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI reads ./config.toml and ./.env: run it from an empty temporary directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for ``python -m synthpay``: clean of config variables, plugins importable."""
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_ENV and not k.startswith("DELAY_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def refused_in_one_line(argv: Sequence[str], cwd: Path) -> str:
    """``synthpay ARGV`` in a child process, which must exit 2 with one line on stderr: that line."""
    done = subprocess.run(
        [sys.executable, "-m", "synthpay", *argv],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def avro_schema(name: str) -> dict[str, Any]:
    """A shipped schema, parsed: ``payment`` or ``bank``."""
    parsed: dict[str, Any] = json.loads(serde.schema_text(name))
    return parsed


def new_payment(
    rng: random.Random,
    sources: Sequence[entities.Encoded],
    destinations: Sequence[entities.Encoded],
    tag: int | None = None,
) -> entities.Payment:
    """A payment between a random source and destination bank, as the scheduler draws one."""
    return entities.Payment(*entities.new_payment_fields(rng, sources, destinations, tag))


def payment_topic(status: str) -> Topic:
    """A payment topic whose records carry ``status``."""
    return Topic(f"payment-{status.lower()}", "payment", 1, status, serde.avro_string(status))


def payment_of(pid: str, source: str, destination: str, currency: str, amount: float) -> entities.Payment:
    """A payment with these fields, encoded as the model keeps them."""
    tail = b"".join(
        (
            serde.avro_string(destination),
            serde.avro_string(source),
            serde.avro_string(currency),
            serde.avro_double(amount),
        )
    )
    return entities.Payment(pid.encode(), tail)


def defaults_only(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from built-in defaults plus ``overrides`` given as dotted keys; no file or environment read."""
    return config.load(env={}, flags=overrides, read_files=False)


def settings_for(out_dir: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Built-in defaults for a reproducible virtual-clock file run, plus dotted-key overrides."""
    values: dict[str, Any] = {
        "run.clock": "virtual",
        "run.start": START,
        "run.seed": 1,
        "run.sink": "file",
        "run.log_level": "warning",
    }
    if out_dir is not None:
        values["file.dir"] = str(out_dir)
    values.update(overrides or {})
    return defaults_only(values)


def make_engine(settings: Settings, services: Sequence[Service] = ()) -> Engine:
    """An engine with the configured sink, logging into a throwaway buffer."""
    return Engine(
        settings,
        make_logger("warning", stream=io.StringIO()),
        sink=load_registry(settings.plugins).sink(settings.run.sink),
        identity=resolve_identity(settings.run),
        services=services,
    )


def run_to_end(engine: Engine) -> Summary:
    """Run ``engine`` to the end under a MockClock that jumps whenever every task waits."""
    summary: Summary = trio.run(engine.run, clock=trio.testing.MockClock(autojump_threshold=0))
    return summary


def run_engine(
    tmp_path: Path, overrides: Mapping[str, Any] | None = None, *, settings: Settings | None = None
) -> tuple[Summary, Path, Engine]:
    """Run one engine to the end under the virtual clock; return (summary, out_dir, engine)."""
    out_dir = tmp_path / "out"
    if settings is None:
        settings = settings_for(out_dir, overrides)
    engine = make_engine(settings)
    return run_to_end(engine), out_dir, engine


def read_avro(out_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every ``<topic>.avro`` under ``out_dir`` read back with fastavro: {topic: [records]}."""
    result: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(out_dir.glob("*.avro")):
        with path.open("rb") as fh:
            result[path.stem] = list(cast(Iterable[dict[str, Any]], fastavro.reader(fh)))
    return result


def writer_schema_name(path: Path) -> str:
    """The record name in an .avro file's header schema."""
    with path.open("rb") as fh:
        schema = fastavro.reader(fh).writer_schema
    assert isinstance(schema, dict)
    return str(schema["name"])


def payment_events(
    records: Mapping[str, list[dict[str, Any]]], banks_topic: str = "banks"
) -> dict[str, list[dict[str, Any]]]:
    """Payment events grouped by payment id, each list sorted by ts (stable: file order on ties)."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for topic, recs in records.items():
        if topic == banks_topic:
            continue
        for rec in recs:
            by_id.setdefault(rec["id"], []).append(rec)
    for events in by_id.values():
        events.sort(key=lambda r: r["ts"])
    return by_id


def rfc3339(ts_ms: int) -> str:
    """Reference rendering via datetime (exact integer arithmetic, years 1..9999)."""
    moment = EPOCH + timedelta(milliseconds=ts_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Collected(Protocol):
    """What the test plugin module (plugins_for_tests) records, as the tests read and set it."""

    EVENTS: list[tuple[str, str, int]]
    OUTSTANDING: list[int]
    BATCHES: list[int]
    PROBE: Callable[[], int] | None
    CLOSED: list[str]

    @property
    def CollectingSink(self) -> SinkFactory:
        """The sink class the plugin registers as "collect"."""


@pytest.fixture
def collected() -> Iterator[Collected]:
    """The test plugin module, its recorders reset before and after."""
    import plugins_for_tests

    plugins_for_tests.reset()
    yield plugins_for_tests
    plugins_for_tests.reset()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's ``--dist loadgroup`` (scripts/test runs two workers).

    Every test of the real broker runs on one worker, in order: the fault tests kill and
    freeze the broker, which would break another worker's Kafka run. Every other module's
    tests stay together, so a module's fixtures are made once.
    """
    for item in items:
        broker = item.get_closest_marker("kafka") or item.get_closest_marker("faults")
        group = "broker" if broker else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
