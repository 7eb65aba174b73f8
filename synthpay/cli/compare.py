"""``synthpay compare A B``: two sources side by side, each judged against a threshold.

A and B are each a SOURCE as ``fit`` reads (a file sink directory, a ``.avro``, ``.csv``,
``.jsonl`` or ``.parquet`` file, or ``kafka``) or a configuration to generate from: a path
ending in ``.toml`` (as ``synthpay run --config PATH`` would generate it) or
``scenario:NAME`` (as ``synthpay run --scenario NAME`` would). A configuration is run with
the file sink under the virtual clock into a temporary directory, read back, and deleted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from synthpay import config
from synthpay.calibrate.compare import Thresholds, compare
from synthpay.calibrate.compare_report import render, to_json
from synthpay.calibrate.profile import Profile
from synthpay.calibrate.source_errors import SourceError
from synthpay.cli import run
from synthpay.cli.exitcodes import ExitCode
from synthpay.config import scenarios
from synthpay.config.errors import ConfigError, quoted
from synthpay.config.settings import Settings
from synthpay.engine.identity import resolve_identity
from synthpay.services.logs import make_logger
from synthpay.sinks.base import SinkRefused
from synthpay.sinks.registry import PluginError, load_registry

#: How a configuration to generate from is told from a SOURCE.
CONFIG_SUFFIX = ".toml"
SCENARIO_PREFIX = "scenario:"
#: ``--json -``: the document on stdout, instead of the table.
STDOUT = "-"


class GenerationError(Exception):
    """A configuration that could not be generated from.

    ``usage``: running it again unchanged would fail the same way (exit 2, not 1).
    """

    def __init__(self, message: str, *, usage: bool) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Generation:
    """How a configuration is generated from: the flags ``compare`` passes to its run (None: the configuration's)."""

    seed: int | None
    payments: int | None
    start: str | None
    env_file: str | None


def is_config(spec: str) -> bool:
    """True when ``spec`` names a configuration to generate from rather than a SOURCE."""
    return spec.endswith(CONFIG_SUFFIX) or spec.startswith(SCENARIO_PREFIX)


def command(parsed: argparse.Namespace) -> ExitCode:
    """Print the comparison; OK if every row passes, FAILED if one crossed its threshold, USAGE on bad input."""
    thresholds = thresholds_of(parsed)
    seeds = (parsed.generate_seed, parsed.seed_b if parsed.seed_b is not None else parsed.generate_seed)
    sides = []
    try:
        for spec, seed in zip((parsed.a, parsed.b), seeds, strict=True):
            generation = Generation(seed, parsed.generate_payments, parsed.generate_start, parsed.env_file)
            sides.append(_side(spec, generation, parsed))
    except (SourceError, ConfigError, PluginError) as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except GenerationError as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE if exc.usage else ExitCode.FAILED
    (label_a, a), (label_b, b) = sides
    comparison = compare(a, b, thresholds, (label_a, label_b))
    if parsed.json == STDOUT:
        sys.stdout.write(to_json(comparison) + "\n")
    else:
        sys.stdout.write(render(comparison))
        if parsed.json:
            try:
                Path(parsed.json).write_text(to_json(comparison) + "\n")
            except OSError as exc:
                print(f"synthpay: error: --json: cannot write {quoted(parsed.json)}: {exc.strerror}", file=sys.stderr)
                return ExitCode.USAGE
    return ExitCode.OK if comparison.passed else ExitCode.FAILED


def thresholds_of(parsed: argparse.Namespace) -> Thresholds:
    """The thresholds the flags give (each flag's dest is the field's name)."""
    defaults = Thresholds()
    return Thresholds(
        **{name: getattr(parsed, name, getattr(defaults, name)) for name in Thresholds.__dataclass_fields__}
    )


def _side(spec: str, generation: Generation, parsed: argparse.Namespace) -> tuple[str, Profile]:
    """``spec``'s label and profile: read from the SOURCE, or from a run of the configuration."""
    if not is_config(spec):
        return spec, read(spec, parsed, _kafka_settings(parsed) if spec == "kafka" else None)
    with tempfile.TemporaryDirectory(prefix="synthpay-compare-") as scratch:
        directory = Path(scratch) / "run"
        seed = generate(spec, generation, directory)
        label = f"{spec} (generated, seed {seed})"
        return label, read(str(directory), parsed, None)


def read(spec: str, parsed: argparse.Namespace, settings: Settings | None) -> Profile:
    """The profile of one SOURCE."""
    from synthpay.calibrate.profiler import profile
    from synthpay.calibrate.sources import open_sources
    from synthpay.cli.source_args import source_options

    source = open_sources([spec], source_options(parsed), settings)
    return profile(source.observations(), source.names, source.record_timestamps)


def _kafka_settings(parsed: argparse.Namespace) -> Settings:
    """The cluster, topics and value format ``kafka`` reads: the usual configuration's."""
    return config.load(config_path=parsed.config, scenario=parsed.scenario, env_file=parsed.env_file)


def generate(spec: str, generation: Generation, directory: Path) -> int:
    """Run the configuration ``spec`` names into ``directory`` with the file sink, under the virtual clock; its seed."""
    if spec.startswith(SCENARIO_PREFIX):
        path, scenario = None, spec.removeprefix(SCENARIO_PREFIX)
        known = scenarios.available()
        if scenario not in known:
            expected = ", ".join(sorted(known))
            raise ConfigError(
                f"compare: {quoted(spec)}: no such scenario; expected one of {expected} (synthpay scenarios)"
            )
    else:
        path, scenario = spec, None
        if not Path(spec).is_file():
            raise ConfigError(f"compare: {quoted(spec)} is not a readable file (a configuration to generate from)")
    flags = {
        "run.sink": "file",
        "run.clock": "virtual",
        "run.processes": "1",
        "run.log_level": "warning",
        "run.summary_json": "",
        "http.port": "0",
        "file.dir": str(directory),
        "file.format": "avro",
        "run.seed": None if generation.seed is None else str(generation.seed),
        "run.payments": None if generation.payments is None else str(generation.payments),
        "run.start": generation.start,
    }
    settings = config.load(config_path=path, scenario=scenario, env_file=generation.env_file, flags=flags)
    sink = load_registry(settings.plugins).sink("file")
    log = make_logger(settings.run.log_level, stream=sys.stderr)
    identity = resolve_identity(settings.run)
    ended = run.generate(settings, sink, identity, [], log, None, companions=False)
    if not isinstance(ended, run.Ended):
        usage = isinstance(ended, (ConfigError, SinkRefused))
        raise GenerationError(f"compare: generating from {quoted(spec)}: {ended}", usage=usage)
    if ended.failure is not None:
        raise GenerationError(f"compare: generating from {quoted(spec)}: {ended.failure}", usage=False)
    return identity.seed
