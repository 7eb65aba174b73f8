"""``synthpay verify``: read a run's records back and check them against its summary.

The summary's ``sink`` says where the records are: Kafka's topics, or the file sink's
files; a run on any other sink kept none to read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from synthpay.cli.exitcodes import ExitCode
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings
from synthpay.summary.document import SummaryError

#: What a run directory holds its summary as (``synthpay verify DIR``).
SUMMARY_NAME = "summary.json"


def command(settings: Settings, manifest_path: str, run_id: str | None, timeout_s: float, as_json: bool) -> ExitCode:
    """Print the report; OK if every check passed, FAILED if one did not, USAGE on bad input."""
    # Imported here: it brings the Kafka consumer and registry client, which `run` with a
    # file sink (and each --processes child's start-up) need not pay for.
    from synthpay import verify

    path = Path(manifest_path)
    if path.is_dir():
        path = path / SUMMARY_NAME
    try:
        manifest = verify.load_manifest(str(path))
        if manifest.sink not in ("kafka", "file"):
            print(f"synthpay: verify cannot check a {manifest.sink} run: it keeps no records", file=sys.stderr)
            return ExitCode.USAGE
        if manifest.sink == "file":
            report = verify.verify_files(manifest, path, run_id or manifest.run_id)
        elif not settings.kafka.bootstrap_servers:
            print(
                "synthpay: config error: verify reads Kafka: set KAFKA_BOOTSTRAP_SERVERS or kafka.bootstrap_servers",
                file=sys.stderr,
            )
            return ExitCode.USAGE
        else:
            report = verify.verify(settings, manifest, run_id or manifest.run_id, timeout_s)
    except (SummaryError, ConfigError, verify.VerifyError) as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.FAILED if isinstance(exc, verify.VerifyError) else ExitCode.USAGE
    sys.stdout.write(report.to_json() + "\n" if as_json else report.render())
    return ExitCode.OK if report.ok else ExitCode.FAILED
