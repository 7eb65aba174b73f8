"""Command line: ``synthpay run`` and ``synthpay validate``.

Exit codes: 0 all events delivered; 1 the run failed or left events undelivered;
2 bad configuration or usage (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import trio
import trio.testing

from synthpay import config
from synthpay.config import ConfigError, Settings
from synthpay.engine import Engine
from synthpay.logs import make_logger
from synthpay.sinks.base import SinkError
from synthpay.stats import Summary, render

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

_FLAG_HELP = {
    "--payments": "payments to generate; 0 runs until stopped (NUM_PAYMENTS)",
    "--workers": "payments in flight at most (NUM_WORKERS)",
    "--sink": "where events go: kafka, file, stdout, null or a plugin's (default: kafka if "
    "bootstrap servers are set, else file)",
    "--out": "directory of the file sink's .avro files",
    "--clock": "real: events as the delays say, in real time; virtual: a backfill of history "
    "as fast as the sink takes it",
    "--start": "ISO time of the first event under the virtual clock (default: now)",
    "--seed": "random seed; the same seed, config and --start under the virtual clock "
    "give byte-identical files",
    "--summary-json": "also write the final summary as JSON to this file",
    "--timing": "sequential: each delay counts from the previous status; parallel: every "
    "delay counts from the start (the original's behaviour)",
    "--summary-interval": "seconds between progress lines in the log",
    "--shutdown-grace": "seconds in-flight payments get to finish after SIGTERM",
    "--log-level": "debug, info, warning or error",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # prog is "synthpay" or "synthpay run": the hint names the parser that failed.
        self.exit(EXIT_USAGE, f"synthpay: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="TOML configuration (default: ./config.toml if present; or SYNTHPAY_CONFIG)")
    common.add_argument("--env-file", metavar="PATH", help="dotenv file (default: ./.env if present)")
    for flag, key in config.FLAGS.items():
        common.add_argument(flag, dest=key, metavar=flag[2:].replace("-", "_").upper(), help=_FLAG_HELP[flag])

    parser = _Parser(
        prog="synthpay",
        description="Synthetic payment-workflow events for Kafka pipelines. Settings come from "
        "config.toml, then .env, then the environment, then these flags.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("run", parents=[common], help="generate events",
                   description="Generate payment workflows and emit one event per status change.")
    sub.add_parser("validate", parents=[common], help="print the effective configuration (secrets masked)",
                   description="Load and check the configuration, print it as JSON; exit 0 if valid, 2 if not.")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {key: getattr(args, key) for key in config.FLAGS.values()}
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


def _run(settings: Settings) -> int:
    log = make_logger(settings.run.log_level)
    engine = Engine(settings, log, handle_signals=True)
    clock = trio.testing.MockClock(autojump_threshold=0) if settings.run.clock == "virtual" else None
    try:
        summary: Summary = trio.run(engine.run, clock=clock)
    except BaseException as exc:
        known = _leaf(exc, (SinkError, ConfigError))
        if known is None:
            raise
        log.error("run_failed", error=str(known))
        print(f"synthpay: error: {known}", file=sys.stderr)
        return EXIT_USAGE if isinstance(known, ConfigError) else EXIT_FAILED
    out = sys.stderr if settings.run.sink == "stdout" else sys.stdout
    out.write("\n" + render(summary))
    out.flush()
    if settings.run.summary_json:
        try:
            Path(settings.run.summary_json).write_text(summary.to_json() + "\n")
        except OSError as exc:
            print(f"synthpay: error: --summary-json: cannot write {settings.run.summary_json!r}: "
                  f"{exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
    log.info("run_end", ok=summary.ok, events=summary.events_total, delivered=summary.delivered,
             failed=summary.failed, undelivered=summary.undelivered, elapsed_s=summary.elapsed_s,
             payments=summary.payments_started, cut=summary.payments_cut)
    return EXIT_OK if summary.ok else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synthpay`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"synthpay: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "validate":
        print(json.dumps(config.describe(settings), indent=2))
        return EXIT_OK
    return _run(settings)


def entry() -> None:  # pragma: no cover - console script wrapper
    """Console-script wrapper that exits with main's code."""
    sys.exit(main())

