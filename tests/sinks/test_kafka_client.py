"""The Kafka client module without a broker: which setting a refusal is blamed on, and how
registry failures are told apart (the registry's own answer, a URL that is no registry, no answer)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from conftest import settings_for

from synthpay.config.errors import ConfigError
from synthpay.config.settings import KafkaSettings, RegistrySettings, Secret
from synthpay.sinks.kafka import PRODUCER_DEFAULTS
from synthpay.sinks.kafka_client import (
    ErrorWatch,
    ForeignAnswer,
    RegistryUnreachable,
    call_registry,
    connection_config,
    describe_error,
    make_client,
    registry_client,
)

REGISTRY = RegistrySettings("http://registry.example:8081", "", Secret(""), "")


def kafka_settings(config: dict[str, str] | None = None, **fields: Any) -> KafkaSettings:
    base = replace(settings_for().kafka, bootstrap_servers="127.0.0.1:1", config=MappingProxyType(config or {}))
    settings: KafkaSettings = replace(base, **fields)
    return settings


def refusal(factory: Callable[[dict[str, Any]], object], kafka: KafkaSettings, extra: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        make_client(factory, {**connection_config(kafka), **extra}, kafka)
    return str(caught.value)


@pytest.mark.parametrize(
    ("config", "blamed"),
    [
        ({"linger.ms": "soon"}, "kafka.config.\"linger.ms\" = 'soon': "),  # librdkafka names its alias
        ({"compression.type": "zstdx"}, "kafka.config.\"compression.type\" = 'zstdx': "),
        ({"acks": "1"}, "kafka.config.\"acks\" = '1': "),  # conflicts with the default idempotence
        ({"no.such.property": "1"}, "kafka.config.\"no.such.property\" = '1': "),
        ({"stats_cb": "not a function"}, "kafka.config.\"stats_cb\" = 'not a function': "),  # the Python client's own
        (
            {"security.protocol": "SSL", "ssl.ca.location": "/nonexistent/ca.pem"},
            "kafka.config.\"ssl.ca.location\" = '/nonexistent/ca.pem': ",
        ),  # refused only together: the message names it
    ],
    ids=["alias", "bad-value", "conflict", "unknown", "python-client", "together"],
)
def test_a_refused_producer_setting_is_named(config: dict[str, str], blamed: str) -> None:
    kafka = kafka_settings(config)
    message = refusal(Producer, kafka, {**PRODUCER_DEFAULTS, **kafka.config})
    assert message.startswith(blamed) and "rejected by the Kafka client" in message and "\n" not in message


@pytest.mark.parametrize(
    ("fields", "blamed"),
    [
        (
            {"security_protocol": "SSL", "ssl_ca_location": "/nonexistent/ca.pem"},
            "kafka.ssl_ca_location = '/nonexistent/ca.pem': ",
        ),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanisms": "GSSAPI",
                "sasl_username": "u",
                "sasl_password": Secret("hunter2"),
            },
            "kafka.sasl_mechanisms = 'GSSAPI': ",
        ),
    ],
    ids=["ca-file", "mechanism-not-built-in"],
)
def test_a_refused_connection_setting_is_named(fields: dict[str, Any], blamed: str) -> None:
    message = refusal(AdminClient, kafka_settings(**fields), {})
    assert message.startswith(blamed) and "hunter2" not in message


def test_a_secret_is_named_without_its_value() -> None:
    kafka = kafka_settings(
        {"ssl.key.password": "s3cret-value", "ssl.key.location": "/nonexistent/key.pem", "security.protocol": "SSL"}
    )
    assert "s3cret-value" not in refusal(Producer, kafka, dict(kafka.config))


@pytest.mark.parametrize(
    "config",
    [{}, {"sasl.oauthbearer.method": "default"}],
    ids=["nothing", "default-method"],
)
def test_oauthbearer_without_a_token_source_is_refused(config: dict[str, str]) -> None:
    kafka = kafka_settings(config, security_protocol="SASL_SSL", sasl_mechanisms="OAUTHBEARER")
    with pytest.raises(ConfigError, match=r"^kafka.sasl_mechanisms = 'OAUTHBEARER' needs a token source"):
        connection_config(kafka)


@pytest.mark.parametrize(
    "config",
    [{"sasl.oauthbearer.method": "oidc"}, {"enable.sasl.oauthbearer.unsecure.jwt": "true"}],
    ids=["oidc", "unsecure-jwt"],
)
def test_oauthbearer_with_a_token_source_reaches_every_client(config: dict[str, str]) -> None:
    kafka = kafka_settings(config, security_protocol="SASL_SSL", sasl_mechanisms="OAUTHBEARER")
    assert config.items() <= connection_config(kafka).items()


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        (
            "sasl_plaintext://h:9094/bootstrap: SASL SCRAM-SHA-512 mechanism handshake failed: Broker: "
            "Unsupported SASL mechanism: broker's supported mechanisms: PLAIN",
            "kafka.sasl_mechanisms",
        ),
        (
            "ssl://h:9092/bootstrap: SSL handshake failed: Disconnected: SSL connection closed by peer: "
            "connecting to a PLAINTEXT broker listener? (after 1ms in state SSL_HANDSHAKE)",
            "kafka.security_protocol",
        ),
    ],
    ids=["sasl-mechanism", "tls-to-plaintext"],
)
def test_a_connection_setting_the_cluster_cannot_use_is_named(text: str, setting: str) -> None:
    watch = ErrorWatch()
    watch(KafkaError(KafkaError._TRANSPORT, text))
    assert watch.misconfigured is not None and watch.misconfigured.startswith(f"{setting}: ")


def test_a_broker_that_is_down_is_no_configuration_problem() -> None:
    watch = ErrorWatch()
    watch(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
    assert watch.misconfigured is None and watch.fatal is None and watch.last.startswith("1/1 brokers are down")


def raising(exc: Exception) -> Callable[[], int]:
    def call() -> int:
        raise exc

    return call


@pytest.mark.parametrize(
    "exc",
    [
        SchemaRegistryError(404, 40403, "Schema 7 not found."),
        SchemaRegistryError(409, 409, "incompatible"),
        SchemaRegistryError(401, 401, "Unauthorized"),
        SchemaRegistryError(403, -1, "Forbidden"),
    ],
    ids=["unknown-id", "incompatible", "unauthorized", "forbidden-by-a-proxy"],
)
def test_the_registrys_own_answer_is_the_callers_to_word(exc: SchemaRegistryError) -> None:
    with pytest.raises(SchemaRegistryError):
        call_registry(REGISTRY, raising(exc))


@pytest.mark.parametrize(
    ("exc", "problem"),
    [
        (SchemaRegistryError(404, None, None), "not a schema registry API (it answered HTTP 404"),  # type: ignore[arg-type]
        (SchemaRegistryError(501, -1, "Unknown Schema Registry Error: b'<html>'"), "not a schema registry API"),
        (ForeignAnswer("no schema id"), "not a schema registry API (its answer is not the registry's JSON: no"),
        (OSError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), "the server does not speak TLS there"),
    ],
    ids=["404-without-code", "html", "a-callers-check", "tls-to-plain-http"],
)
def test_a_url_that_is_no_registry_is_a_config_error(exc: Exception, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        call_registry(REGISTRY, raising(exc))
    assert str(caught.value).startswith(f"schema_registry.url = {REGISTRY.url!r}: {problem}")


def test_a_registry_that_does_not_answer_is_unreachable() -> None:
    with pytest.raises(
        RegistryUnreachable,
        match=r"^schema registry at http://registry.example:8081 unreachable: "
        r"ConnectionRefusedError: \[Errno 111\] refused$",
    ):
        call_registry(REGISTRY, raising(ConnectionRefusedError(111, "refused")))


class _Answering(http.server.BaseHTTPRequestHandler):
    """Answers every request with the class's status and body, as a server that is no registry would."""

    status = 200
    body = b""

    def _answer(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html" if self.body.startswith(b"<") else "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def answering(status: int, body: bytes) -> Iterator[RegistrySettings]:
    """Registry settings pointing at a local HTTP server that gives ``status`` and ``body`` to everything."""
    handler = type("Handler", (_Answering,), {"status": status, "body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield RegistrySettings(f"http://127.0.0.1:{server.server_port}", "", Secret(""), "")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html><body>Welcome</body></html>", "its answer is not the registry's JSON: JSONDecodeError"),
        (b"[1, 2]", "its answer is not the registry's JSON: "),
    ],
    ids=["html", "json-of-another-shape"],
)
def test_a_200_answer_that_is_not_the_registrys_is_a_config_error(body: bytes, problem: str) -> None:
    with answering(200, body) as registry:
        client = registry_client(registry)
        with pytest.raises(ConfigError) as caught:
            call_registry(registry, lambda: client.get_schema(1))
    assert str(caught.value).startswith(f"schema_registry.url = {registry.url!r}: not a schema registry API ({problem}")


def test_a_bug_in_the_callers_code_propagates() -> None:
    with pytest.raises(TypeError, match=r"^a bug$"):
        call_registry(REGISTRY, raising(TypeError("a bug")))


def test_a_bad_argument_in_synthpays_code_propagates() -> None:
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        call_registry(REGISTRY, describe_error)  # type: ignore[arg-type]
