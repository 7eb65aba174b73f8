"""Test and bench helper: a file-sink run's payment records as Observations, with their labels.

Stands in for the sources' Avro reader in the profiler's tests: ``arrival_ms`` is the
running largest ``ts`` of each file (what a reader without record timestamps estimates),
the files merged by it. Each observation comes with the anomaly its record is labelled
with ("" for none) and the label's delay (how long after its ``ts`` it was emitted): the
truth, for tests only.
"""

from __future__ import annotations

import heapq
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import fastavro

from synthpay.calibrate.observations import Observation

SYNTHPAY = Path(sys.executable).with_name("synthpay")


class Labelled(NamedTuple):
    observation: Observation
    anomaly: str  # "" when the record is not injected
    delay_ms: int | None  # the label's delay: emission less ts


def generate(out: Path, seed: int, payments: int, config: str = "") -> Path:
    """A seeded virtual-clock run of ``payments`` into ``out`` (``config``: extra TOML)."""
    args = [str(SYNTHPAY), "run", "--clock", "virtual", "--seed", str(seed), "--payments", str(payments)]
    if config:
        path = out.with_name(out.name + ".toml")
        path.write_text(config)
        args += ["--config", str(path)]
    subprocess.run([*args, "--out", str(out)], check=True, capture_output=True)
    return out


def _labels(path: Path) -> Iterator[tuple[str, int | None]]:
    labels = path.with_suffix(".labels")
    if not labels.exists():
        return itertools.repeat(("", None))
    with labels.open("rb") as f:
        rows: list[Any] = list(fastavro.reader(f))
    return itertools.chain.from_iterable(
        itertools.repeat((row["anomaly"], row["delay_ms"]), row["records"]) for row in rows
    )


def _file(path: Path) -> Iterator[tuple[int, int, Labelled]]:
    labels = _labels(path)
    arrival = 0
    with path.open("rb") as f:
        for n, rec in enumerate(fastavro.reader(f)):
            assert isinstance(rec, dict)
            ts = rec["ts"]
            arrival = max(arrival, ts)
            anomaly, delay = next(labels)
            obs = Observation(
                rec["id"], rec["status"], ts, arrival, rec["source"], rec["destination"], rec["amount"], rec["currency"]
            )
            yield arrival, n, Labelled(obs, anomaly, delay)


def labelled(run: Path) -> Iterator[Labelled]:
    """Every payment record of the run, in merged arrival order."""
    files = sorted(p for p in run.glob("payment-*.avro"))
    for _, _, item in heapq.merge(*(_file(p) for p in files), key=lambda t: t[0]):
        yield item


def observations(run: Path) -> Iterator[Observation]:
    """The run's payment records as a reader without record timestamps yields them."""
    return (item.observation for item in labelled(run))
