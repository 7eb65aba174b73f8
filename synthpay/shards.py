"""``--processes N``: one engine process per core, each with its own share and producer.

Python threads share one GIL, so the second core is used with processes. Each child is
``synthpay run`` with the same configuration plus ``--instance-index``/``--instance-count``
(the sharding an Indexed Job uses, so ids never collide and the payments and rate are
split), one seed and one run id. The parent forwards SIGTERM/SIGINT, waits for every
child, and merges their summaries into one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import trio

from synthpay.config import Settings
from synthpay.stats import Summary


class ShardError(Exception):
    """A child process failed without a summary; the message is one line for the user."""


def child_argv(argv: Sequence[str], settings: Settings, slot: int, seed: int, run_id: str, summary: Path) -> list[str]:
    """The child's command line: the parent's, with flags that pin its share (later flags win)."""
    run = settings.run
    count = run.instance_count * run.processes
    index = run.instance_index * run.processes + slot
    return [
        sys.executable, "-m", "synthpay", *argv,
        "--processes", "1", "--instance-index", str(index), "--instance-count", str(count),
        "--seed", str(seed), "--run-id", run_id, "--summary-json", str(summary),
        "--http-port", "0",  # one port cannot serve N processes; the parent has no endpoint either
    ]


def child_env() -> dict[str, str]:
    """The parent's environment without systemd's notify variables: those are the parent's alone."""
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}


def merge(parts: Sequence[Summary], elapsed_s: float) -> Summary:
    """One summary for the whole run: counts add up, extremes take the extreme.

    Lag percentiles are the worst child's (an upper bound of the run's).
    """
    first = parts[0]

    def total(name: str) -> int:
        return sum(getattr(p, name) for p in parts)

    def added(name: str) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for p in parts:
            counts.update(getattr(p, name))
        return {k: counts[k] for k in getattr(first, name)}

    topics: dict[str, dict[str, int]] = {}
    for p in parts:
        for topic, counts in p.topics.items():
            merged = topics.setdefault(topic, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                merged[key] += value
    firsts = [p.first_event_ts_ms for p in parts if p.first_event_ts_ms is not None]
    lasts = [p.last_event_ts_ms for p in parts if p.last_event_ts_ms is not None]
    return Summary(
        run_id=first.run_id, seed=first.seed, sink=first.sink, clock=first.clock, elapsed_s=round(elapsed_s, 3),
        workflows=added("workflows"), statuses=added("statuses"),
        bank_updates=total("bank_updates"), banks_created=total("banks_created"),
        payments_started=total("payments_started"), payments_completed=total("payments_completed"),
        payments_cut=total("payments_cut"), events_total=total("events_total"), produced=total("produced"),
        delivered=total("delivered"), failed=total("failed"), undelivered=total("undelivered"), topics=topics,
        first_event_ts_ms=min(firsts) if firsts else None, last_event_ts_ms=max(lasts) if lasts else None,
        max_lag_ms=max(p.max_lag_ms for p in parts), plan=first.plan,
        lag_p50_ms=max(p.lag_p50_ms for p in parts), lag_p99_ms=max(p.lag_p99_ms for p in parts),
        setup_s=max(p.setup_s for p in parts), peak_in_flight=total("peak_in_flight"),
        peak_rss_mib=round(sum(p.peak_rss_mib for p in parts), 1),
    )


def load_summary(path: Path) -> Summary:
    """A summary written by ``--summary-json``."""
    data: dict[str, Any] = json.loads(path.read_text())
    return Summary(**{f.name: data[f.name] for f in fields(Summary)})


def run(settings: Settings, argv: Sequence[str], log: Any) -> Summary:
    """Run ``settings.run.processes`` children to the end and merge what they report."""
    seed = settings.run.seed if settings.run.seed is not None else random.SystemRandom().getrandbits(32)
    run_id = settings.run.run_id or str(uuid.uuid4())
    with tempfile.TemporaryDirectory(prefix="synthpay-shards-") as tmp:
        paths = [Path(tmp) / f"{slot}.json" for slot in range(settings.run.processes)]
        commands = [child_argv(argv, settings, slot, seed, run_id, path) for slot, path in enumerate(paths)]
        log.info("processes_start", processes=len(commands), seed=seed, run_id=run_id)
        began = time.monotonic()
        stdout = None if settings.run.sink == "stdout" else subprocess.DEVNULL
        codes = trio.run(_supervise, commands, stdout, log)
        elapsed = time.monotonic() - began
        missing = [slot for slot, path in enumerate(paths) if not path.exists()]
        if missing:
            raise ShardError(f"process {missing[0]} of {len(paths)} ended with exit code "
                             f"{codes[missing[0]]} and no summary (its log is above)")
        return merge([load_summary(p) for p in paths], elapsed)


async def _supervise(commands: list[list[str]], stdout: int | None, log: Any) -> list[int]:
    """Start every child, forward stop signals to them, wait for all."""
    codes = [0] * len(commands)
    async with trio.open_nursery() as nursery:
        # Children print their own tables: keep stdout for the merged one (unless events go there).
        # Their own session: a terminal's Ctrl-C reaches only the parent, which forwards it once.
        processes = [
            await trio.lowlevel.open_process(cmd, stdout=stdout, env=child_env(), start_new_session=True)
            for cmd in commands
        ]
        nursery.start_soon(_forward_signals, processes, log)

        async def wait(slot: int) -> None:
            codes[slot] = await processes[slot].wait()

        async with trio.open_nursery() as waiting:
            for slot in range(len(processes)):
                waiting.start_soon(wait, slot)
        nursery.cancel_scope.cancel()
    return codes


async def _forward_signals(processes: list[trio.Process], log: Any) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("signal", signal=signal.Signals(signum).name, forwarded_to=len(processes))
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
