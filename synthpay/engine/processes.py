"""``--processes N``: one engine process per core, each with its own share and producer.

Python threads share one GIL, so the second core is used with processes. Each child is
``synthpay run`` with the same configuration plus ``--instance-index``/``--instance-count``
(the sharding an Indexed Job uses, so ids never collide and the payments and rate are
split), one seed and one run id. The parent forwards SIGTERM/SIGINT, waits for every
child, and merges their summaries into one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio
from structlog.typing import FilteringBoundLogger

from synthpay.config.settings import Settings
from synthpay.engine.identity import RunIdentity
from synthpay.summary.document import Summary, SummaryError
from synthpay.summary.load import load_summary
from synthpay.summary.merge import merge


class ShardError(Exception):
    """A child process failed without a summary; the message is one line for the user.

    ``exit_code`` is the code of the child that left no summary (None: its summary could
    not be read). What a code means is the command line's to say, which knows its codes.
    """

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def child_argv(argv: Sequence[str], settings: Settings, slot: int, seed: int, run_id: str, summary: Path) -> list[str]:
    """The child's command line: the parent's, with flags that pin its share (later flags win)."""
    run = settings.run
    count = run.instance_count * run.processes
    index = run.instance_index * run.processes + slot
    return [
        sys.executable,
        "-m",
        "synthpay",
        *argv,
        "--processes",
        "1",
        "--instance-index",
        str(index),
        "--instance-count",
        str(count),
        "--seed",
        str(seed),
        "--run-id",
        run_id,
        "--summary-json",
        str(summary),
        "--http-port",
        "0",  # one port cannot serve N processes; the parent has no endpoint either
    ]


def child_env() -> dict[str, str]:
    """The parent's environment without systemd's notify variables: those are the parent's alone."""
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}


def run(settings: Settings, identity: RunIdentity, argv: Sequence[str], log: FilteringBoundLogger) -> Summary:
    """Run ``settings.run.processes`` children to the end and merge what they report."""
    seed, run_id = identity.seed, identity.run_id
    with tempfile.TemporaryDirectory(prefix="synthpay-processes-") as tmp:
        paths = [Path(tmp) / f"{slot}.json" for slot in range(settings.run.processes)]
        commands = [child_argv(argv, settings, slot, seed, run_id, path) for slot, path in enumerate(paths)]
        log.info("processes_start", processes=len(commands), seed=seed, run_id=run_id)
        began = time.monotonic()
        stdout = None if settings.run.sink == "stdout" else subprocess.DEVNULL
        codes = trio.run(_supervise, commands, stdout, log)
        elapsed = time.monotonic() - began
        missing = [slot for slot, path in enumerate(paths) if not path.exists()]
        if missing:
            message = (
                f"process {missing[0]} of {len(paths)} ended with exit code {codes[missing[0]]} "
                "and no summary (its log is above)"
            )
            raise ShardError(message, codes[missing[0]])
        try:
            return merge([load_summary(p) for p in paths], elapsed)
        except SummaryError as exc:
            raise ShardError(f"a process left a summary that cannot be read: {exc}") from None


async def _supervise(commands: list[list[str]], stdout: int | None, log: FilteringBoundLogger) -> list[int]:
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


async def _forward_signals(processes: list[trio.Process], log: FilteringBoundLogger) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("signal", signal=signal.Signals(signum).name, forwarded_to=len(processes))
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
