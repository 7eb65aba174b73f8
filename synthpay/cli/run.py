"""``synthpay run``: one engine, or one per process, then the closing summary and the exit code.

``generate``, ``stopped`` and ``report_failure`` are shared with ``synthpay preview``, which
runs the same engine into its own sink and ends without the summary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

import trio
import trio.testing
from rich.console import Console
from structlog.typing import FilteringBoundLogger

from synthpay.cli import summary_file
from synthpay.cli.exitcodes import ExitCode
from synthpay.config import placeholders
from synthpay.config.clocks import ClockProfile, profile
from synthpay.config.errors import ConfigError, quoted
from synthpay.config.settings import Settings
from synthpay.engine import processes, shards
from synthpay.engine.engine import Engine
from synthpay.engine.identity import RunIdentity, resolve_identity
from synthpay.engine.snapshot import Service
from synthpay.services import metrics, notify, progress
from synthpay.services.logs import make_logger, terminal
from synthpay.sinks import outdir
from synthpay.sinks.base import ReaderGone, SinkError, SinkRefused
from synthpay.sinks.registry import SinkFactory
from synthpay.summary.document import Summary
from synthpay.summary.render import render

#: Process-wide tuning for the clock, applied just before the run starts: the console
#: script's entry point tunes the collector; ``main`` called from other code leaves it be.
Prepare = Callable[[ClockProfile], None]
#: How a run can end that is no bug: one line for the user instead of a traceback.
_KNOWN = (SinkError, ConfigError, processes.ShardError)


@dataclass(frozen=True, slots=True)
class Ended:
    """A run that came to its end, with the sink's failure if it failed part way."""

    summary: Summary
    failure: SinkError | None


def command(settings: Settings, sink: SinkFactory, argv: Sequence[str], prepare: Prepare) -> ExitCode:
    """Run to the end and report; OK only if every event was delivered."""
    console = terminal(settings.run.log_format)
    log = make_logger(settings.run.log_level, console=console)
    prepare(profile(settings.run.clock))
    ended = generate(settings, sink, resolve_identity(settings.run), argv, log, console)
    if not isinstance(ended, Ended):
        return stopped(ended, log)
    if isinstance(ended.failure, ReaderGone):
        # `run --sink stdout | head`: the reader took what it wanted, which is no failure
        # (exit 0, so a pipeline under `set -o pipefail` goes on), and a look at a few
        # events wants no tables after them.
        log.info("reader_gone", detail=str(ended.failure))
        return _finish(settings, ended.summary, log, reader_gone=True)
    if ended.failure is not None:
        # The sink failed part way: say so, then what reached it, like any other ending.
        report_failure(ended.failure, log)
        _finish(settings, ended.summary, log)
        return ExitCode.FAILED
    return _finish(settings, ended.summary, log)


def generate(
    settings: Settings,
    sink: SinkFactory,
    identity: RunIdentity,
    argv: Sequence[str],
    log: FilteringBoundLogger,
    console: Console | None,
    *,
    companions: bool = True,
) -> Ended | Exception:
    """The run's end, or the known error that stopped it.

    ``companions``: the services the settings ask for and the progress display on
    ``console`` run beside the engine (a preview runs it alone).

    Trio raises errors in (nested) exception groups. A group of known errors comes back as
    its first; anything else in it propagates, so a bug is never reported as a clean failure.
    """
    try:
        if settings.run.processes > 1:
            http = settings.http
            endpoint = metrics.endpoint(http.host, http.port) if http.port else None
            return Ended(processes.run(settings, identity, argv, log, endpoint), None)
        return _engine(settings, sink, identity, log, console, companions)
    except* _KNOWN as group:
        known = _first(group)
    return known


def _engine(
    settings: Settings,
    sink: SinkFactory,
    identity: RunIdentity,
    log: FilteringBoundLogger,
    console: Console | None,
    companions: bool,
) -> Ended:
    engine = Engine(
        settings,
        log,
        sink=sink,
        identity=identity,
        handle_signals=True,
        services=_services(settings, log) if companions else (),
        display=progress.display(console, settings) if companions else None,
    )
    autojump_s = profile(settings.run.clock).autojump_s
    clock = None if autojump_s is None else trio.testing.MockClock(autojump_threshold=autojump_s)
    summary = trio.run(engine.run, clock=clock)
    return Ended(summary, engine.failure)


def _first(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first exception in ``group``, looking into nested groups."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def stopped(error: Exception, log: FilteringBoundLogger) -> ExitCode:
    """A refusal of these settings is a usage error; any other known error a failed run."""
    refused = isinstance(error, (ConfigError, SinkRefused)) or (
        isinstance(error, processes.ShardError) and error.exit_code == ExitCode.USAGE
    )
    if refused:
        # e.g. --out held by another run, or a child process that refused the same way.
        print(f"synthpay: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    report_failure(error, log)
    return ExitCode.FAILED


def _services(settings: Settings, log: FilteringBoundLogger) -> list[Service]:
    """The companions the settings and the service manager ask for."""
    services: list[Service] = []
    if settings.http.port:
        services.append(metrics.service(settings.http.host, settings.http.port))
    try:
        target = notify.target_from_environ(os.environ, os.getpid())
    except ValueError as exc:
        # The service manager's variables, not the user's: carry on without notifying.
        log.warning("notify_off", reason=str(exc))
        target = None
    if target is not None:
        services.append(notify.service(target))
    if (fd := shards.report_fd(os.environ)) is not None:  # a --processes child: its parent serves the metrics
        services.append(shards.reporter(fd))
    return services


def report_failure(error: BaseException, log: FilteringBoundLogger) -> None:
    log.error("run_failed", error=str(error))
    print(f"synthpay: error: {error}", file=sys.stderr)


def _files_line(settings: Settings) -> str:
    """Where a file-sink run's files went, and the ``latest`` link to them; "" for other sinks."""
    if settings.run.sink != "file":
        return ""
    shared = placeholders.shared_parent(settings.file.dir)
    linked = f" ({shared / outdir.LATEST} links there)" if shared is not None else ""
    return f"Files: {placeholders.expand(settings.file.dir, settings.run.run_id)}{linked}\n"


def _closing(out: TextIO, text: str) -> None:
    """Write closing output; a reader that is gone (`synthpay run | head`) had its chance to read it."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        pass


def _finish(settings: Settings, summary: Summary, log: FilteringBoundLogger, *, reader_gone: bool = False) -> ExitCode:
    """Tables, summary file, closing log line; the exit code says whether all was delivered.

    ``reader_gone``: the reader of stdout ended the run; no tables, and what it left unread is no failure.
    """
    out = sys.stderr if settings.run.sink == "stdout" else sys.stdout
    if not reader_gone:
        _closing(out, "\n" + render(summary) + _files_line(settings))
    summary_json = summary_file.target(settings)
    if summary_json:
        try:
            summary_file.write(summary_json, summary.to_json() + "\n")
        except OSError as exc:
            print(
                f"synthpay: error: --summary-json: cannot write {quoted(summary_json)}: "
                f"{exc.strerror or type(exc).__name__}",
                file=sys.stderr,
            )
            return ExitCode.FAILED
        if not reader_gone:
            _closing(out, f"Summary: {summary_json}\n")
    log.info(
        "run_end",
        ok=summary.ok,
        events=summary.events_total,
        delivered=summary.delivered,
        failed=summary.failed,
        undelivered=summary.undelivered,
        elapsed_s=summary.elapsed_s,
        payments=summary.payments_started,
        cut=summary.payments_cut,
        **({"events_cut": summary.events_cut} if summary.events_cut else {}),
    )
    # Held-back anomalies a requested stop cut are, like the payments it cuts, what a stop
    # means: the summary is not ok (its ground truth is short of them), the exit status is.
    return ExitCode.OK if summary.delivered_all or reader_gone else ExitCode.FAILED
