"""The records a seeded virtual-clock run writes, pinned: an opt-in feature must leave them as they are.

The digests are of the records read back (not the files' bytes), for the default
configuration and for one with drawn delays and a phase (the scenario's own path). A change
that moves them changes what every seeded run of every user writes: if that is meant, it is
a breaking change and the digests are updated with a note in the changelog.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import START, read_avro, run_engine
from engine_runs import load_toml

_SCENARIO = f"""
[run]
clock = "virtual"
start = "{START}"
seed = 5
sink = "file"
payments = 3000
rate = 200
log_level = "warning"

[statuses]
Validated = {{ delay = {{ dist = "lognormal", median_ms = 400, p99_ms = 2500 }} }}
Failed = {{ delay = {{ dist = "exponential", mean_ms = 300 }} }}

[[phases]]
name = "slow"
at_s = 5
duration_s = 5
weights = {{ "Initiated>Failed" = 10 }}
delay_scale = {{ Validated = 3 }}
"""

PINNED = {
    "default": "b589e890d99ee339eac6da60bb4146e44c6c4a34a678f1bf0b1a1a54046e6582",
    "scenario": "7e26fa70f4476967e7d586921e7fedd7fee7da81c70a0fdddd198c8e591b85b7",
}


def _digest(out_dir: Path) -> str:
    records = read_avro(out_dir)
    return hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()


@pytest.mark.parametrize("name", ["default", "scenario"])
def test_a_seeded_run_writes_the_records_it_always_has(tmp_path: Path, name: str) -> None:
    if name == "default":
        _, out_dir, _ = run_engine(tmp_path, {"run.payments": 3000, "run.seed": 5})
    else:
        settings = load_toml(tmp_path, _SCENARIO + f'\n[file]\ndir = "{tmp_path / "out"}"\n')
        _, out_dir, _ = run_engine(tmp_path, settings=settings)
    assert _digest(out_dir) == PINNED[name]
