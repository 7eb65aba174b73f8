"""Command line: ``synthpay run``, ``validate``, ``preview``, ``verify``, ``fit``, ``compare``, ``scenarios`` and
``schema``.

The grammar is in ``args``, each command in its own module (``run``, ``preview``, ``verify``, ``fit``,
``compare``, ``scenarios``, ``schema``), the exit
codes and what they mean in ``exitcodes``. ``main`` runs one command and returns its code,
touching nothing process-wide; ``entry``, the console script (and ``python -m synthpay``,
which every ``--processes`` child is), also tunes the process for the run's clock.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Sequence

from synthpay import config
from synthpay.cli import args, compare, fit, preview, run, scenarios, schema, summary_file, verify
from synthpay.cli.exitcodes import ExitCode
from synthpay.config.clocks import ClockProfile, profile
from synthpay.config.errors import ConfigError
from synthpay.engine.identity import with_run_id
from synthpay.sinks.registry import PluginError, load_registry

__all__ = ["ExitCode", "entry", "main"]


def _as_is(clock: ClockProfile) -> None:
    """Leave the process as it is: ``main`` may be running in another program's process."""


def main(argv: Sequence[str] | None = None, *, prepare: run.Prepare = _as_is) -> int:
    """Run the command ``argv`` (default: the process's arguments) names; return its exit code.

    ``prepare`` is called with the clock's profile just before a run starts.
    """
    parsed = args.parse(argv)
    if parsed.command == "scenarios":  # needs no configuration: a broken one must not hide the list
        return scenarios.command(parsed.name)
    if parsed.command == "schema":  # the schemas are synthpay's, whatever the configuration
        return schema.command(parsed.format, parsed.record)
    if parsed.command == "compare":  # reads a configuration only for what it generates or reads from Kafka
        prepare(profile("virtual"))  # it reads (and generates) in bulk, as a backfill does
        return compare.command(parsed)
    try:
        flags = {key: getattr(parsed, key, None) for key in config.FLAGS.values()}
        if parsed.command == "preview":
            flags = preview.flags(flags, follow=parsed.follow)
        loaded = config.load_with_origins(
            config_path=parsed.config, scenario=parsed.scenario, env_file=parsed.env_file, flags=flags
        )
        settings = loaded.settings
        if parsed.command == "fit":
            prepare(profile("virtual"))  # a pass over millions of events, in bulk as a backfill
            return fit.command(settings, parsed)
        if parsed.command == "verify":
            return verify.command(settings, parsed.manifest, parsed.run_id, parsed.timeout, parsed.json)
        # Plugins are code: they are imported here, never while loading the configuration.
        sinks = load_registry(settings.plugins)
        sink = sinks.sink(settings.run.sink)
        if parsed.command == "run":
            settings = with_run_id(settings)
            summary_file.check(settings, loaded.origins["run.summary_json"])
        if parsed.command == "validate" or settings.run.sink == "kafka":
            # librdkafka's own word on [kafka.config], before a run has started anything;
            # imported here, as the sink imports it: the Kafka client adds half a second to start-up.
            from synthpay.sinks.kafka import check_producer_config

            check_producer_config(settings, loaded.origins)
    except (ConfigError, PluginError) as exc:
        print(f"synthpay: config error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if parsed.command == "validate":
        described = {**config.describe(settings), "sinks_available": list(sinks.sink_names())}
        print(json.dumps({**described, "origins": dict(loaded.origins)}, indent=2))
        return ExitCode.OK
    if parsed.command == "preview":
        return preview.command(settings, preview.options(parsed, sys.stdout), prepare)
    # --processes children get the same command line, plus their share.
    return run.command(settings, sink, list(sys.argv[1:] if argv is None else argv), prepare)


def entry() -> None:
    """Console-script entry point: main, with the process tuned for the run's clock; exits with its code."""
    code = main(prepare=_tune_gc)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed stdout (`| head`): what is still buffered has nowhere to go, and
        # flushing it again at exit would print a traceback and exit 120 instead of ``code``.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(code)


def _tune_gc(clock: ClockProfile) -> None:
    """Collect less often (see ClockProfile.gc_thresholds); what was imported stays out of the collector's way."""
    gc.freeze()
    gc.set_threshold(*clock.gc_thresholds)
