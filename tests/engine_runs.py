"""Engine runs shared by the engine and verify tests: a seeded run into a recording sink, a TOML scenario."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio
import trio.testing

from synthpay import config
from synthpay.config.settings import Settings
from synthpay.engine.engine import Engine
from synthpay.engine.identity import resolve_identity
from synthpay.model.anomalies import Injected
from synthpay.model.entities import Payment
from synthpay.model.events import Event
from synthpay.services.logs import make_logger
from synthpay.sinks.base import SinkContext, SynchronousSink
from synthpay.summary.document import Summary


@dataclass(frozen=True)
class Written:
    topic: str
    key: str
    emitted_ms: int  # the Event's ts_ms: what the Kafka sink sends as the record timestamp
    ts: int  # the value's ts
    value: bytes
    anomaly: str
    phase: str = ""  # the phase header: the phase the payment started in


class Recorder(SynchronousSink):
    def __init__(self, ctx: SinkContext, into: list[Written]) -> None:
        self._ledger, self._into = ctx.ledger, into

    def write(self, batch: Sequence[Event]) -> None:
        for e in batch:
            if isinstance(e.entity, Payment):
                record = e.record()
                self._into.append(
                    Written(
                        e.topic.name,
                        e.key,
                        e.ts_ms,
                        int(str(record["ts"])),
                        e.avro(),
                        e.entity.anomaly if isinstance(e.entity, Injected) else "",
                        e.topic.phase,
                    )
                )
        self._ledger.written(batch)


def _run(settings: Settings) -> tuple[Summary, list[Written]]:
    written: list[Written] = []
    engine = Engine(
        settings,
        make_logger("warning", stream=io.StringIO()),
        sink=lambda ctx: Recorder(ctx, written),
        identity=resolve_identity(settings.run),
    )
    summary: Summary = trio.run(engine.run, clock=trio.testing.MockClock(autojump_threshold=0))
    return summary, written


SCHEMA_ID = 7


def load_toml(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config.load(config_path=str(path), env=env or {}, cwd=tmp_path)
