"""One verification: read the run's records into a tally (its Kafka topics, or its files), then judge it."""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import KafkaException

from synthpay.config.settings import Settings
from synthpay.sinks.kafka_client import RegistryUnreachable, call_registry, describe_error, registry_client
from synthpay.verify import files
from synthpay.verify.checks import Check
from synthpay.verify.consume import Cluster, consume
from synthpay.verify.errors import VerifyError
from synthpay.verify.judge import judge
from synthpay.verify.manifest import Manifest
from synthpay.verify.report import Report
from synthpay.verify.tally import Reader


def verify(settings: Settings, manifest: Manifest, run_id: str, timeout_s: float) -> Report:
    """Consume the run's topics and check them against ``manifest``."""
    began = time.monotonic()
    registry = registry_client(settings.schema_registry)

    def fetch_schema(schema_id: int) -> str:
        return call_registry(settings.schema_registry, lambda: str(registry.get_schema(schema_id).schema_str))

    reader = Reader(manifest, run_id, fetch_schema)
    cluster = Cluster(settings)
    try:
        read = consume(cluster, reader, manifest, timeout_s)
    except KafkaException as exc:
        raise VerifyError(
            f"verify: consuming from {settings.kafka.bootstrap_servers} failed: {describe_error(exc)}"
        ) from None
    except RegistryUnreachable as exc:
        raise VerifyError(f"verify: {exc}") from None
    finally:
        cluster.consumer.close()
    fmt = manifest.value_format
    # Values no registry knows have no schema ids to resolve: the records check judges each one.
    schemas = None if fmt.registry_type else Check("schemas", True, f"{fmt.name} values: no schema registered")
    return Report(
        run_id,
        tuple(judge(manifest, reader.tally, schemas)),
        read,
        time.monotonic() - began,
        "kafka",
        settings.kafka.bootstrap_servers,
        dict(reader.tally.consumed),
    )


def verify_files(manifest: Manifest, summary: Path, run_id: str) -> Report:
    """Read a file-sink run's files (where the summary says, else beside it) and check them against ``manifest``."""
    began = time.monotonic()
    directory = files.locate(manifest, summary, run_id)
    reader = Reader(manifest, run_id)
    read, schemas = files.read(directory, reader, manifest, run_id)
    checks = tuple(judge(manifest, reader.tally, schemas))
    return Report(run_id, checks, read, time.monotonic() - began, "file", str(directory), dict(reader.tally.consumed))
