"""``synthpay fit SOURCE...``: read payment status events, write the configuration that generates their like.

The configuration goes to ``--out FILE`` or stdout, the report to stderr as a table and to
``--json FILE`` as one document. An input that cannot be read is one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from synthpay.cli.exitcodes import ExitCode
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings


class FitError(Exception):
    """The input holds nothing to fit, or an output cannot be written: one line, exit 2."""


def command(settings: Settings, parsed: argparse.Namespace) -> ExitCode:
    """Fit the sources ``parsed`` names; write the configuration and the report."""
    # Imported here: the readers bring fastavro and the Kafka client, which `run` need not pay for.
    from synthpay.calibrate import fit, fit_report, fitted_toml, profiler, sources
    from synthpay.calibrate.source_errors import SourceError
    from synthpay.cli.source_args import source_options

    try:
        source = sources.open_sources(parsed.sources, source_options(parsed), settings)
        profile = profiler.profile(source.observations(), source.names, source.record_timestamps)
        if profile.payments < 1:
            raise FitError(f"{', '.join(parsed.sources)}: no payment with its events was read; nothing to fit")
        fitted = fit.fit(profile)
        text = fitted_toml.render(fitted)
        try:
            fitted_toml.load(text)
        except ConfigError as exc:  # a fit the configuration refuses is fit's bug, never the input's
            print(f"synthpay: error: the fitted configuration does not load (a bug): {exc}", file=sys.stderr)
            return ExitCode.FAILED
        if parsed.out:
            _write(parsed.out, text, "--out")
        else:
            sys.stdout.write(text)
        if parsed.json:
            _write(parsed.json, fit_report.to_json(fitted), "--json")
    except (SourceError, FitError) as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    sys.stderr.write(fit_report.table(fitted))
    return ExitCode.OK


def _write(path: str, text: str, flag: str) -> None:
    """``text`` into ``path`` whole or not at all (a temporary file renamed over it)."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        raise FitError(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None
