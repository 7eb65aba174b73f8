"""One verification: consume the run's topics into a tally, then judge it."""

from __future__ import annotations

import time

from confluent_kafka import KafkaException

from synthpay.config.settings import Settings
from synthpay.sinks.kafka_client import RegistryUnreachable, call_registry, describe_error, registry_client
from synthpay.verify.consume import Cluster, consume
from synthpay.verify.errors import VerifyError
from synthpay.verify.judge import Report, judge
from synthpay.verify.manifest import Manifest
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
    return Report(run_id, tuple(judge(manifest, reader.tally)), read, time.monotonic() - began)
