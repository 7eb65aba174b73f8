"""``synthpay run``: one engine, or one per process, then the closing summary and the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
from synthpay.engine import processes
from synthpay.engine.engine import Engine
from synthpay.engine.identity import RunIdentity, resolve_identity
from synthpay.engine.snapshot import Service
from synthpay.services import metrics, notify, progress
from synthpay.services.logs import make_logger, terminal
from synthpay.sinks import outdir
from synthpay.sinks.base import SinkError, SinkRefused
from synthpay.sinks.registry import SinkFactory
from synthpay.summary.document import Summary
from synthpay.summary.render import render

#: Process-wide tuning for the clock, applied just before the run starts: the console
#: script's entry point tunes the collector; ``main`` called from other code leaves it be.
Prepare = Callable[[ClockProfile], None]
#: How a run can end that is no bug: one line for the user instead of a traceback.
_KNOWN = (SinkError, ConfigError, processes.ShardError)


@dataclass(frozen=True, slots=True)
class _Ended:
    """A run that came to its end, with the sink's failure if it failed part way."""

    summary: Summary
    failure: SinkError | None


def command(settings: Settings, sink: SinkFactory, argv: Sequence[str], prepare: Prepare) -> ExitCode:
    """Run to the end and report; OK only if every event was delivered."""
    console = terminal(settings.run.log_format)
    log = make_logger(settings.run.log_level, console=console)
    prepare(profile(settings.run.clock))
    ended = _generate(settings, sink, resolve_identity(settings.run), argv, log, console)
    if not isinstance(ended, _Ended):
        return _stopped(ended, log)
    if ended.failure is not None:
        # The sink failed part way: say so, then what reached it, like any other ending.
        _report_failure(ended.failure, log)
        _finish(settings, ended.summary, log)
        return ExitCode.FAILED
    return _finish(settings, ended.summary, log)


def _generate(
    settings: Settings,
    sink: SinkFactory,
    identity: RunIdentity,
    argv: Sequence[str],
    log: FilteringBoundLogger,
    console: Console | None,
) -> _Ended | Exception:
    """The run's end, or the known error that stopped it.

    Trio raises errors in (nested) exception groups. A group of known errors comes back as
    its first; anything else in it propagates, so a bug is never reported as a clean failure.
    """
    try:
        if settings.run.processes > 1:
            return _Ended(processes.run(settings, identity, argv, log), None)
        return _engine(settings, sink, identity, log, console)
    except* _KNOWN as group:
        known = _first(group)
    return known


def _engine(
    settings: Settings, sink: SinkFactory, identity: RunIdentity, log: FilteringBoundLogger, console: Console | None
) -> _Ended:
    engine = Engine(
        settings,
        log,
        sink=sink,
        identity=identity,
        handle_signals=True,
        services=_services(settings, log),
        display=progress.display(console, settings),
    )
    autojump_s = profile(settings.run.clock).autojump_s
    clock = None if autojump_s is None else trio.testing.MockClock(autojump_threshold=autojump_s)
    summary = trio.run(engine.run, clock=clock)
    return _Ended(summary, engine.failure)


def _first(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first exception in ``group``, looking into nested groups."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _stopped(error: Exception, log: FilteringBoundLogger) -> ExitCode:
    """A refusal of these settings is a usage error; any other known error a failed run."""
    refused = isinstance(error, (ConfigError, SinkRefused)) or (
        isinstance(error, processes.ShardError) and error.exit_code == ExitCode.USAGE
    )
    if refused:
        # e.g. --out held by another run, or a child process that refused the same way.
        print(f"synthpay: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    _report_failure(error, log)
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
    return services


def _report_failure(error: BaseException, log: FilteringBoundLogger) -> None:
    log.error("run_failed", error=str(error))
    print(f"synthpay: error: {error}", file=sys.stderr)


def _finish(settings: Settings, summary: Summary, log: FilteringBoundLogger) -> ExitCode:
    """Tables, summary file, closing log line; the exit code says whether all was delivered."""
    out = sys.stderr if settings.run.sink == "stdout" else sys.stdout
    out.write("\n" + render(summary))
    summary_json = summary_file.target(settings)
    if settings.run.sink == "file":
        shared = placeholders.shared_parent(settings.file.dir)
        linked = f" ({shared / outdir.LATEST} links there)" if shared is not None else ""
        out.write(f"Files: {placeholders.expand(settings.file.dir, settings.run.run_id)}{linked}\n")
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
        out.write(f"Summary: {summary_json}\n")
    out.flush()
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
    return ExitCode.OK if summary.delivered_all else ExitCode.FAILED
