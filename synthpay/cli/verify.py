"""``synthpay verify``: consume a run's topics and check them against its summary."""

from __future__ import annotations

import sys

from synthpay.cli.exitcodes import ExitCode
from synthpay.config.errors import ConfigError
from synthpay.config.settings import Settings
from synthpay.summary.document import SummaryError


def command(settings: Settings, manifest_path: str, run_id: str | None, timeout_s: float) -> ExitCode:
    """Print the report; OK if every check passed, FAILED if one did not, USAGE on bad input."""
    # Imported here: it brings the Kafka consumer and registry client, which `run` with a
    # file sink (and each --processes child's start-up) need not pay for.
    from synthpay import verify

    if not settings.kafka.bootstrap_servers:
        print(
            "synthpay: config error: verify reads Kafka: set KAFKA_BOOTSTRAP_SERVERS or kafka.bootstrap_servers",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    try:
        manifest = verify.load_manifest(manifest_path)
        report = verify.verify(settings, manifest, run_id or manifest.run_id, timeout_s)
    except (SummaryError, ConfigError, verify.VerifyError) as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.FAILED if isinstance(exc, verify.VerifyError) else ExitCode.USAGE
    sys.stdout.write(report.render())
    return ExitCode.OK if report.ok else ExitCode.FAILED
