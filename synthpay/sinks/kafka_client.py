"""The connection to Kafka and the schema registry, shared by the Kafka sink and ``verify``.

Client settings from the configuration, one line for any error either service raises,
and the start-up wait for a cluster that answers. What only the broker or the registry
can reject (a partition count, a replication factor, a topic name, a librdkafka setting,
a URL that is no registry) becomes a :class:`ConfigError` naming the setting; a service
that cannot be reached or refuses the credentials is a runtime failure instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from synthpay.config.errors import ConfigError, quoted
from synthpay.config.settings import KafkaSettings, RegistrySettings

CONNECT_TIMEOUT_S = 15.0
#: The registry client waits forever by default, and a stuck registry must not hang start-up.
REGISTRY_TIMEOUT_S = 10
#: Errors that mean this run cannot succeed, though librdkafka would keep retrying them.
_HOPELESS = {
    KafkaError._AUTHENTICATION,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError._INVALID_ARG,
}
#: The librdkafka property behind each of synthpay's connection settings; others are kafka.config's.
_SETTING_OF_PROPERTY = {
    "bootstrap.servers": "kafka.bootstrap_servers",
    "client.id": "kafka.client_id",
    "security.protocol": "kafka.security_protocol",
    "sasl.mechanisms": "kafka.sasl_mechanisms",
    "sasl.mechanism": "kafka.sasl_mechanisms",
    "sasl.username": "kafka.sasl_username",
    "sasl.password": "kafka.sasl_password",
    "ssl.ca.location": "kafka.ssl_ca_location",
}
#: The HTTP libraries the registry client may use (which one depends on confluent-kafka's
#: version); named, not imported, so no private module of the client is reached into.
_HTTP_LIBRARIES = ("httpx", "httpx2", "httpcore", "httpcore2")
#: Modules whose errors mean an answer could not be decoded: the registry client's, the JSON
#: parser's and the HTTP library's (a body that is not text).
_DECODERS = ("confluent_kafka", "json", *_HTTP_LIBRARIES)
#: The registry's own 404 codes (subject, version, schema not found); any other 404 is no registry's.
_REGISTRY_NOT_FOUND = range(40400, 40500)
#: librdkafka's words for a connection setting the cluster cannot work with.
_MISMATCHES = (
    ("Unsupported SASL mechanism", "kafka.sasl_mechanisms"),
    ("connecting to a PLAINTEXT broker listener", "kafka.security_protocol"),
)

T = TypeVar("T")


class ClusterError(Exception):
    """The cluster cannot be used: unreachable, or refusing these credentials; one line."""


class RegistryUnreachable(Exception):
    """The registry did not answer (connection refused, timed out, TLS failed); one line."""


class ForeignAnswer(Exception):
    """What the registry client decoded is no registry's answer; for a caller's own checks."""


def connection_config(kafka: KafkaSettings) -> dict[str, str]:
    """Client settings shared by the producer, the admin client and verify's consumer.

    The protocol is :attr:`KafkaSettings.protocol`: SASL_SSL + PLAIN, as the original, when a
    username is given.
    """
    conf = {"bootstrap.servers": kafka.bootstrap_servers, "client.id": kafka.client_id}
    protocol = kafka.protocol
    conf["security.protocol"] = protocol
    if protocol.startswith("SASL"):
        conf["sasl.mechanisms"] = kafka.sasl_mechanisms
        conf["sasl.username"] = kafka.sasl_username
        conf["sasl.password"] = kafka.sasl_password.value
    if kafka.ssl_ca_location:
        conf["ssl.ca.location"] = kafka.ssl_ca_location
    # Connection-level overrides (e.g. ssl.* or sasl.oauthbearer.*) apply to every client.
    conf.update(
        {
            k: v
            for k, v in kafka.config.items()
            if k.startswith(("ssl.", "sasl.", "socket.", "enable.sasl.", "security."))
        }
    )
    _check_token_source(conf)
    return conf


def _check_token_source(conf: dict[str, str]) -> None:
    """OAUTHBEARER without a way to get a token: librdkafka would wait for one forever."""
    mechanism = conf.get("sasl.mechanisms", conf.get("sasl.mechanism", "")).upper()
    if not conf["security.protocol"].upper().startswith("SASL") or mechanism != "OAUTHBEARER":
        return
    if (
        conf.get("sasl.oauthbearer.method", "").lower() == "oidc"
        or conf.get("enable.sasl.oauthbearer.unsecure.jwt", "").lower() == "true"
    ):
        return
    raise ConfigError(
        "kafka.sasl_mechanisms = 'OAUTHBEARER' needs a token source: set "
        'kafka.config "sasl.oauthbearer.method" = "oidc" (with sasl.oauthbearer.client.id, '
        'client.secret and token.endpoint.url) or "enable.sasl.oauthbearer.unsecure.jwt" = true'
    )


def describe_error(err: Any) -> str:
    """One line for a KafkaError or KafkaException: librdkafka's text and the error's name."""
    if isinstance(err, KafkaException) and err.args and isinstance(err.args[0], KafkaError):
        err = err.args[0]
    if isinstance(err, KafkaError):
        return f"{err.str()} ({err.name()})"
    return str(err)


def error_code(exc: KafkaException) -> int | None:
    """The KafkaError code a KafkaException carries, if any."""
    return exc.args[0].code() if exc.args and isinstance(exc.args[0], KafkaError) else None


def make_client(
    factory: Callable[[dict[str, Any]], T],
    conf: dict[str, Any],
    kafka: KafkaSettings,
    origins: Mapping[str, str] | None = None,
) -> T:
    """A librdkafka client, or ConfigError naming the setting it refused (and where that came
    from, when ``origins``, by dotted key as :class:`~synthpay.config.Loaded` has them, says).

    librdkafka checks its settings when a client is made (a value it does not take, a
    conflict with idempotence, a CA file it cannot read, a SASL mechanism it was built
    without); settings the Python client handles itself raise TypeError/ValueError. Its
    message may name an alias of the property, or none, so the culprit is found by trying.
    """
    try:
        return factory(conf)
    except (KafkaException, TypeError, ValueError) as exc:
        text = describe_error(exc).replace("\n", " ").strip()
        setting, key = _culprit(factory, conf, kafka, text)
        named = _as_written(setting) if key is None else _named(_as_written(setting), key, conf)
        origin = (origins or {}).get(setting)
        where = f" ({origin})" if origin else ""
        raise ConfigError(f"{named}{where}: rejected by the Kafka client: {text}") from None


def _culprit(
    factory: Callable[[dict[str, Any]], object], conf: dict[str, Any], kafka: KafkaSettings, text: str
) -> tuple[str, str | None]:
    """The setting at fault by dotted key, and the property behind it: the kafka.config entry
    refused on its own, else the setting the message names (the property None when none is)."""
    own = {k: v for k, v in conf.items() if kafka.config.get(k) != v}
    user = [k for k in conf if k not in own]
    for key in user:
        if not _accepted(factory, {**own, key: conf[key]}):
            return f"kafka.config.{key}", key
    if "SASL mechanism" in text and "sasl.mechanisms" in own:  # "No provider for SASL mechanism X"
        return "kafka.sasl_mechanisms", "sasl.mechanisms"
    # Longest first: "sasl.mechanisms" before "sasl.mechanism".
    for key in sorted(conf, key=len, reverse=True):
        if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", text):
            if key in user:
                return f"kafka.config.{key}", key
            if key in _SETTING_OF_PROPERTY:
                return _SETTING_OF_PROPERTY[key], key
    return ("kafka.config" if user else "kafka connection settings"), None


def _as_written(setting: str) -> str:
    """A setting as TOML writes its key: a ``[kafka.config]`` property's dots are its own."""
    table, dot, key = setting.partition("kafka.config.")
    return f'kafka.config."{key}"' if dot and not table else setting


def _named(setting: str, key: str, conf: dict[str, Any]) -> str:
    """The setting and its value, unless the value is a secret."""
    return setting if "password" in key or "secret" in key else f"{setting} = {quoted(conf[key])}"


def _accepted(factory: Callable[[dict[str, Any]], object], conf: dict[str, Any]) -> bool:
    try:
        factory(conf)
    except (KafkaException, TypeError, ValueError):
        return False
    return True


class ErrorWatch:
    """A client's ``error_cb``: remembers the last error, the first that means retrying is
    pointless, and the first that means a connection setting does not fit the cluster.

    librdkafka repeats itself while a broker is down: with a log, each error is logged
    when it differs from the one before.
    """

    __slots__ = ("_log", "fatal", "last", "misconfigured")

    def __init__(self, log: Any = None) -> None:
        self.fatal: str | None = None
        self.misconfigured: str | None = None
        self.last = ""
        self._log = log

    def __call__(self, err: KafkaError) -> None:
        text = describe_error(err)
        if err.fatal() or err.code() in _HOPELESS:
            self.fatal = self.fatal or text
        for words, setting in _MISMATCHES:
            if words in text and self.misconfigured is None:
                self.misconfigured = f"{setting}: the cluster cannot work with it: {text}"
        if self._log is not None and text != self.last:
            self._log.warning("kafka_error", error=text, fatal=err.fatal())
        self.last = text


class _Client(Protocol):
    """What the admin client and the consumer share, as far as waiting for the cluster goes."""

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any: ...

    def poll(self, timeout: float = -1) -> Any: ...


def wait_for_cluster(client: _Client, errors: ErrorWatch, where: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Return once the cluster answers. Within seconds: ConfigError for a protocol or SASL
    mechanism the cluster does not speak, ClusterError for refused credentials; ClusterError
    after ``timeout_s`` when it does not answer at all."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.list_topics(timeout=1.0)
            break
        except KafkaException as exc:
            client.poll(0)  # serves error_cb, which is where authentication failures show up
            if errors.misconfigured:
                raise ConfigError(errors.misconfigured) from None
            if errors.fatal or time.monotonic() >= deadline:
                raise ClusterError(
                    f"cannot use the cluster at {where}: {errors.fatal or errors.last or describe_error(exc)}"
                ) from None
    client.poll(0)
    if errors.misconfigured:
        raise ConfigError(errors.misconfigured)
    if errors.fatal:
        raise ClusterError(f"cannot use the cluster at {where}: {errors.fatal}")


def registry_client(registry: RegistrySettings) -> SchemaRegistryClient:
    """A schema registry client with basic auth when an API key is set; ConfigError if it refuses the URL."""
    conf: dict[str, Any] = {"url": registry.url, "timeout": REGISTRY_TIMEOUT_S}
    if registry.api_key:
        conf["basic.auth.user.info"] = f"{registry.api_key}:{registry.api_secret.value}"
    try:
        return SchemaRegistryClient(conf)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"schema_registry.url = {quoted(registry.url)}: rejected by the registry client: {exc}"
        ) from None


def call_registry(registry: RegistrySettings, call: Callable[[], T]) -> T:
    """``call()``, a registry client's request, with what is not the registry's own answer in one line.

    The registry's own refusals (an incompatible or unknown schema, the credentials) are
    SchemaRegistryErrors for the caller to word. An answer no registry gives (a 404 without
    the registry's error code, a body the client cannot decode as the registry's JSON, or
    one the caller's check turns down with :class:`ForeignAnswer`) means the URL points
    elsewhere: ConfigError. The request failing is a registry that did not answer:
    RegistryUnreachable. Any other error is a bug and propagates as it is.
    """
    try:
        return call()
    except SchemaRegistryError as exc:
        if not _no_registry_says(exc):
            raise
        raise ConfigError(
            f"schema_registry.url = {quoted(registry.url)}: not a schema registry API (it answered HTTP "
            f"{exc.http_status_code} without the registry's error code)"
        ) from None
    except ForeignAnswer as exc:
        raise ConfigError(_foreign(registry.url, str(exc))) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if not _raised_decoding(exc):
            raise
        raise ConfigError(_foreign(registry.url, type(exc).__name__)) from None
    except Exception as exc:
        if not (isinstance(exc, OSError) or _top_module(type(exc).__module__) in _HTTP_LIBRARIES):
            raise
        raise _no_answer(registry.url, exc) from None


def _no_registry_says(exc: SchemaRegistryError) -> bool:
    """An HTTP error without the registry's error code: the answer of something else at that URL."""
    code, status = exc.error_code, exc.http_status_code
    if status in (401, 403):  # credentials, as with the cluster: not the URL's fault
        return False
    return code in (None, SchemaRegistryError.UNKNOWN) or (status == 404 and code not in _REGISTRY_NOT_FOUND)


def _foreign(url: str, what: str) -> str:
    return (
        f"schema_registry.url = {quoted(url)}: not a schema registry API "
        f"(its answer is not the registry's JSON: {what})"
    )


def _raised_decoding(exc: BaseException) -> bool:
    """Whether ``exc`` came from decoding an answer: raised in the client's or the JSON parser's code.

    The same kinds raised in synthpay's own code (or any caller's) are bugs, not answers.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _top_module(str(tb.tb_frame.f_globals.get("__name__", ""))) in _DECODERS


def _top_module(name: str) -> str:
    return name.partition(".")[0]


def _no_answer(url: str, exc: Exception) -> Exception:
    """The request failed: a TLS mismatch is the URL's scheme, anything else no answer."""
    if "WRONG_VERSION_NUMBER" in str(exc):  # OpenSSL's words for a TLS hello answered in plain HTTP
        return ConfigError(
            f"schema_registry.url = {quoted(url)}: the server does not speak TLS there (use http://): "
            f"{_first_line(str(exc))}"
        )
    return RegistryUnreachable(f"schema registry at {url} unreachable: {type(exc).__name__}: {_first_line(str(exc))}")


def describe_registry_error(exc: SchemaRegistryError) -> str:
    """One line for the registry's own refusal."""
    return f"{exc.error_message} (HTTP {exc.http_status_code}, code {exc.error_code})"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
