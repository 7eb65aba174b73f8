"""``--processes N``: one engine process per core, each with its own share and producer.

Python threads share one GIL, so the second core is used with processes. Each child is
``synthpay run`` with the same configuration plus ``--instance-index``/``--instance-count``
(the sharding an Indexed Job uses, so ids never collide and the payments and rate are
split), one seed and one run id. The parent forwards SIGTERM/SIGINT, waits for every
child, and merges their summaries into one. With ``--http-port`` the parent serves the
endpoint, its figures the children's summed as they report them (engine.shards).

Children never outlive the parent: on Linux each is started with a parent-death signal
(SIGTERM), so a parent killed outright (SIGKILL, the OOM killer) leaves children that stop
as on SIGTERM (drain within the grace, flush, exit). Each child is born with the stop
signals blocked, and its engine unblocks them once it can stop on them (see
``engine.STOP_SIGNALS``): a stop while children are still starting up is held until they
can honour it, never the default death without a summary.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import trio
from structlog.typing import FilteringBoundLogger

from synthpay.config.settings import REPORT_FD, Settings
from synthpay.engine.engine import STOP_SIGNALS
from synthpay.engine.identity import RunIdentity
from synthpay.engine.shards import Shards
from synthpay.engine.snapshot import Endpoint
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
        "0",  # one port cannot serve N processes: the parent serves their sum (engine.shards)
    ]


def child_env() -> dict[str, str]:
    """The parent's environment without systemd's notify variables: those are the parent's alone."""
    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}


#: prctl(2) option: the signal this process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1


def _tied_to(parent: int) -> Callable[[], None]:
    """What a child runs between fork and exec: stop signals held, and (on Linux) death with ``parent``.

    The death signal follows the *thread* that forked, so children are forked from the main
    thread, which lives as long as the parent. If the parent died before the prctl call, no
    signal will ever come: the child ends there instead of running unsupervised.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:
                os._exit(1)

    return setup


def run(
    settings: Settings,
    identity: RunIdentity,
    argv: Sequence[str],
    log: FilteringBoundLogger,
    endpoint: Endpoint | None = None,
) -> Summary:
    """Run ``settings.run.processes`` children to the end and merge what they report.

    ``endpoint``: served with the children's figures summed (see engine.shards), listening
    before the first child starts, so a port it cannot have is refused before anything runs.
    """
    seed, run_id = identity.seed, identity.run_id
    with tempfile.TemporaryDirectory(prefix="synthpay-processes-") as tmp:
        paths = [Path(tmp) / f"{slot}.json" for slot in range(settings.run.processes)]
        commands = [child_argv(argv, settings, slot, seed, run_id, path) for slot, path in enumerate(paths)]
        began = time.monotonic()
        stdout = None if settings.run.sink == "stdout" else subprocess.DEVNULL
        codes = trio.run(_supervise, commands, stdout, log.bind(seed=seed, run_id=run_id), settings, endpoint)
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


async def _supervise(
    commands: list[list[str]],
    stdout: int | None,
    log: FilteringBoundLogger,
    settings: Settings,
    endpoint: Endpoint | None,
) -> list[int]:
    """Start every child, forward stop signals to them, wait for all (serving ``endpoint`` meanwhile)."""
    codes = [0] * len(commands)
    # Listening before the first child starts: a stop at any moment reaches every child.
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            shards, pipes = None, []
            if endpoint is not None:
                shards = Shards(settings, log, len(commands))
                await nursery.start(endpoint, shards)
                # Each child reports its figures on a pipe of its own (engine.shards).
                pipes = [os.pipe() for _ in commands]
            children = _spawn(commands, stdout, [write for _, write in pipes])
            log.info("processes_start", processes=len(children), pids=[child.pid for child in children])
            if shards is not None:
                for slot, (read, write) in enumerate(pipes):
                    os.close(write)  # the child's end: the reader sees the pipe end when the child does
                    nursery.start_soon(shards.listen, slot, read)

            async def wait(slot: int) -> None:
                codes[slot] = await _exit_code(children[slot])

            nursery.start_soon(_forward_signals, signals, children, log)
            async with trio.open_nursery() as waiting:
                for slot in range(len(children)):
                    waiting.start_soon(wait, slot)
            nursery.cancel_scope.cancel()
    return codes


def _spawn(commands: list[list[str]], stdout: int | None, reports: list[int]) -> list[subprocess.Popen[bytes]]:
    """Start the children; with ``reports``, child ``i`` reports on the pipe ``reports[i]``."""
    # Children print their own tables: keep stdout for the merged one (unless events go there).
    # Their own session: a terminal's Ctrl-C reaches only the parent, which forwards it once.
    # Popen here, not trio's open_process: that forks in a worker thread, whose end would
    # fire the children's death signal (see _tied_to).
    # preexec_fn is unsafe beside threads holding locks at the fork; on Linux the parent has none.
    setup, env = _tied_to(os.getpid()), child_env()

    def spawn(slot: int, cmd: list[str]) -> subprocess.Popen[bytes]:
        fds = (reports[slot],) if reports else ()
        mine = {**env, REPORT_FD: str(fds[0])} if fds else env
        return subprocess.Popen(
            cmd,
            stdout=stdout,
            env=mine,
            start_new_session=True,
            preexec_fn=setup,  # noqa: PLW1509
            pass_fds=fds,
        )

    return [spawn(slot, cmd) for slot, cmd in enumerate(commands)]


async def _exit_code(child: subprocess.Popen[bytes]) -> int:
    """Wait for ``child`` to end, in this thread where the system allows it.

    Every thread of the parent that ends re-fires the death signal of the children it holds
    (the kernel hands them to a surviving thread first), and a second SIGTERM cuts a child's
    drain short: on Linux the parent waits without threads, so a SIGKILL sends exactly one.
    """
    if not hasattr(os, "pidfd_open"):  # no death signal there (see _tied_to): a thread may wait
        return await trio.to_thread.run_sync(child.wait, limiter=trio.CapacityLimiter(1))
    exited = os.pidfd_open(child.pid)
    try:
        await trio.lowlevel.wait_readable(exited)
    finally:
        os.close(exited)
    return child.wait()


async def _forward_signals(
    signals: AsyncIterator[int], children: list[subprocess.Popen[bytes]], log: FilteringBoundLogger
) -> None:
    async for signum in signals:
        log.info("signal", signal=signal.Signals(signum).name, forwarded_to=len(children))
        for child in children:
            child.send_signal(signal.SIGTERM)  # Popen sends nothing to a child already reaped
