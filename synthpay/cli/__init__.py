"""Command line: ``synthpay run``, ``synthpay validate`` and ``synthpay verify``.

Exit codes: 0 all events delivered (verify: every check passed); 1 the run failed or left
events undelivered (verify: a check failed, or the cluster was unusable); 2 bad
configuration or usage (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import trio
import trio.testing
from structlog.typing import FilteringBoundLogger

from synthpay import config
from synthpay.config import parsers
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Declaration, Settings, declarations
from synthpay.engine import processes
from synthpay.engine.engine import Engine
from synthpay.engine.identity import resolve_identity
from synthpay.engine.snapshot import Service
from synthpay.services import metrics, notify, progress
from synthpay.services.logs import make_logger, terminal
from synthpay.sinks.base import SinkError, SinkRefused
from synthpay.sinks.registry import PluginError, SinkFactory, load_registry
from synthpay.summary.document import Summary, SummaryError
from synthpay.summary.render import render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The scheduler moves the virtual clock itself; autojump only serves other timers when the
# whole run waits. Each autojump check wakes the Trio thread, and while it waits on the I/O
# thread that means taking the GIL from it: the I/O thread gives the GIL up for every
# delivery report, so a short threshold makes it wait for the GIL (README, Performance).
# With a threshold of 0 an idle run loop would spin instead of sleep.
VIRTUAL_AUTOJUMP_S = 0.1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # prog is "synthpay" or "synthpay run": the hint names the parser that failed.
        self.exit(EXIT_USAGE, f"synthpay: error: {message} (see {self.prog} --help)\n")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    files = _Parser(add_help=False)
    files.add_argument(
        "--config", metavar="PATH", help="TOML configuration (default: ./config.toml if present; or SYNTHPAY_CONFIG)"
    )
    files.add_argument("--env-file", metavar="PATH", help="dotenv file (default: ./.env if present)")
    common = _Parser(add_help=False, parents=[files])
    for declared in declarations():
        if declared.flag:
            # A true-or-false setting's flag given alone means true.
            switch = declared.parse is parsers.boolean
            common.add_argument(
                declared.flag,
                dest=declared.key,
                metavar=declared.metavar or "N",
                help=_flag_help(declared),
                nargs="?" if switch else None,
                const="true" if switch else None,
            )

    parser = _Parser(
        prog="synthpay",
        description="Synthetic payment-workflow events for Kafka pipelines. Settings come from "
        "config.toml, then .env, then the environment, then these flags.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser(
        "run",
        parents=[common],
        help="generate events",
        description="Generate payment workflows and emit one event per status change.",
    )
    sub.add_parser(
        "validate",
        parents=[common],
        help="print the effective configuration (secrets masked)",
        description="Load and check the configuration, print it as JSON; exit 0 if valid, 2 if not.",
    )
    check = sub.add_parser(
        "verify",
        parents=[files],
        help="check a run's topics against its --summary-json",
        description="Consume the run's topics from the beginning and check them against the summary "
        "`run --summary-json` wrote: counts, workflows, order and timing, duplicates, bank references, "
        "schema ids. Connection settings come from the usual configuration. Exit 0 if every check "
        "passes, 1 if one fails, 2 on bad usage.",
    )
    check.add_argument("manifest", metavar="SUMMARY_JSON", help="the file `synthpay run --summary-json` wrote")
    check.add_argument("--run-id", help="count only records with this run_id header (default: the summary's)")
    check.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="give up after this long without a record (default 30)",
    )
    return parser


def _flag_help(declared: Declaration) -> str:
    """The declaration's help, and the original generator's variable where it had one."""
    originals = [name for name in declared.aliases if not name.startswith("SYNTHPAY_")]
    return declared.help + (f" ({', '.join(originals)})" if originals else "")


def _settings(args: argparse.Namespace) -> Settings:
    flags = {key: getattr(args, key, None) for key in config.FLAGS.values()}
    return config.load(config_path=args.config, env_file=args.env_file, flags=flags)


def _leaf(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of ``kinds`` inside (nested) exception groups."""
    if isinstance(exc, kinds):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _leaf(inner, kinds)
            if found is not None:
                return found
    return None


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


#: Collector thresholds by clock. A run keeps up to NUM_WORKERS payments alive and allocates
#: per event, so the default thresholds spent much of a backfill re-scanning live objects.
#: A young collection scans what survived since the last one: in a backfill, set it above a
#: batch in flight and it hardly ever finds anything. In real time, while many payments are
#: being started, a high threshold makes each young collection long, and each one a
#: scheduling lag spike; a low one spreads the same total time over short pauses. The old
#: generations are collected after the same number of allocations either way. The README's
#: Performance section has the real-time figures (pause lengths before and after).
GC_THRESHOLDS = {"virtual": (100_000, 50, 1000), "real": (10_000, 500, 1000)}


def _tune_gc(clock: str) -> None:
    """Collect less often (see GC_THRESHOLDS); what was imported stays out of the collector's way."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS[clock])


def _run(settings: Settings, sink: SinkFactory, argv: Sequence[str]) -> int:
    console = terminal(settings.run.log_format)
    log = make_logger(settings.run.log_level, console=console)
    _tune_gc(settings.run.clock)
    identity = resolve_identity(settings.run)
    failure: SinkError | None = None
    try:
        if settings.run.processes > 1:
            summary = processes.run(settings, identity, argv, log)
        else:
            engine = Engine(
                settings,
                log,
                sink=sink,
                identity=identity,
                handle_signals=True,
                services=_services(settings, log),
                display=progress.display(console, settings),
            )
            clock = (
                trio.testing.MockClock(autojump_threshold=VIRTUAL_AUTOJUMP_S)
                if settings.run.clock == "virtual"
                else None
            )
            summary = trio.run(engine.run, clock=clock)
            failure = engine.failure
    except BaseException as exc:
        known = _leaf(exc, (SinkError, ConfigError, processes.ShardError))
        if known is None:
            raise
        if isinstance(known, (ConfigError, SinkRefused, processes.ShardRefused)):
            print(f"synthpay: error: {known}", file=sys.stderr)
            return EXIT_USAGE
        _report_failure(known, log)
        return EXIT_FAILED
    if failure is not None:
        # The sink failed part way: say so, then what reached it, like any other ending.
        _report_failure(failure, log)
        _finish(settings, summary, log)
        return EXIT_FAILED
    return _finish(settings, summary, log)


def _report_failure(error: BaseException, log: FilteringBoundLogger) -> None:
    log.error("run_failed", error=str(error))
    print(f"synthpay: error: {error}", file=sys.stderr)


def _finish(settings: Settings, summary: Summary, log: FilteringBoundLogger) -> int:
    """Tables, summary file, closing log line; the exit code says whether all was delivered."""
    out = sys.stderr if settings.run.sink == "stdout" else sys.stdout
    out.write("\n" + render(summary))
    out.flush()
    if settings.run.summary_json:
        try:
            Path(settings.run.summary_json).write_text(summary.to_json() + "\n")
        except OSError as exc:
            print(
                f"synthpay: error: --summary-json: cannot write {settings.run.summary_json!r}: {exc.strerror}",
                file=sys.stderr,
            )
            return EXIT_FAILED
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
    )
    return EXIT_OK if summary.ok else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synthpay`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        if args.command == "verify":
            return _verify(settings, args.manifest, args.run_id, args.timeout)
        # Plugins are code: they are imported here, never while loading the configuration.
        sinks = load_registry(settings.plugins)
        sink = sinks.sink(settings.run.sink)
    except (ConfigError, PluginError) as exc:
        print(f"synthpay: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "validate":
        print(json.dumps({**config.describe(settings), "sinks_available": list(sinks.sink_names())}, indent=2))
        return EXIT_OK
    return _run(settings, sink, list(sys.argv[1:] if argv is None else argv))


def _verify(settings: Settings, manifest_path: str, run_id: str | None, timeout_s: float) -> int:
    # Imported here: it brings the Kafka consumer and registry client, which `run` with a
    # file sink (and each --processes child's start-up) need not pay for.
    from synthpay import verify

    if not settings.kafka.bootstrap_servers:
        print(
            "synthpay: config error: verify reads Kafka: set KAFKA_BOOTSTRAP_SERVERS or kafka.bootstrap_servers",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        manifest = verify.load_manifest(manifest_path)
        report = verify.verify(settings, manifest, run_id or manifest.run_id, timeout_s)
    except (SummaryError, ConfigError, verify.VerifyError) as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return EXIT_FAILED if isinstance(exc, verify.VerifyError) else EXIT_USAGE
    sys.stdout.write(report.render())
    return EXIT_OK if report.ok else EXIT_FAILED


def entry() -> None:  # pragma: no cover - console script wrapper
    """Console-script wrapper that exits with main's code."""
    sys.exit(main())
