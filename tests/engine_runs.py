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
from synthpay.model import serde
from synthpay.model.anomalies import Injected
from synthpay.model.entities import Payment
from synthpay.model.events import Event
from synthpay.services.logs import make_logger
from synthpay.sinks.base import SinkContext, SynchronousSink
from synthpay.summary.document import Summary
from synthpay.verify.checks import Check
from synthpay.verify.judge import judge
from synthpay.verify.manifest import load_manifest
from synthpay.verify.tally import Reader


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


def verify_written(
    summary: Path, written: Sequence[Written], run_id: str, *, phase_headers: bool = False
) -> dict[str, Check]:
    """verify's checks over the records a run wrote, fed as if consumed from Kafka (no broker).

    ``phase_headers``: give each record the ``phase`` header the Kafka sink writes with
    phases; without it, no record has one.
    """
    manifest = load_manifest(str(summary))
    schemas = {SCHEMA_ID: "payment", SCHEMA_ID + 1: "ground_truth"}
    reader = Reader(manifest, run_id, lambda schema_id: serde.schema_text(schemas[schema_id]))
    framing = b"\x00" + SCHEMA_ID.to_bytes(4, "big")
    withheld = b"\x00" + (SCHEMA_ID + 1).to_bytes(4, "big")
    for w in written:
        reader.record(
            w.topic,
            w.key.encode(),
            (withheld if w.topic == manifest.ground_truth else framing) + w.value,
            run_id.encode(),
            w.phase.encode() if phase_headers else None,
            w.anomaly.encode() if w.anomaly else None,
            w.emitted_ms,
        )
    return {c.name: c for c in judge(manifest, reader.tally)}


def load_toml(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config.load(config_path=str(path), env=env or {}, cwd=tmp_path)


#: Failed with a delay of its own in two of four workflows, Accounted in one: the
#: workflows of the runs that test a workflow's own delays (engine and verify alike).
OWN_DELAYS = """
[statuses]
Failed = { delay = { dist = "exponential", mean_ms = 2000 } }

[[workflows]]
steps = ["Initiated", "Failed"]
weight = 1
delays = { Failed = { dist = "lognormal", median_ms = 300, p99_ms = 900 } }

[[workflows]]
steps = ["Initiated", "Validated", "Failed"]
weight = 1

[[workflows]]
steps = ["Initiated", "Validated", "Accounted", "Failed"]
weight = 1
delays = { Failed = 5000, Accounted = { dist = "uniform", min_ms = 100, max_ms = 400 } }

[[workflows]]
steps = ["Initiated", "Validated", "Accounted", "Completed"]
weight = 2
"""
