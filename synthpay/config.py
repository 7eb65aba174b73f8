"""The one typed configuration object, built in one place.

Precedence, lowest first: built-in defaults < ``config.toml`` (or ``--config``) < ``.env``
file < environment < command-line flags. Every scalar setting has a canonical environment
name ``SYNTHPAY_<SECTION>_<KEY>``; the original generator's names are aliases of it.
Validation happens here, once: anything wrong raises :class:`ConfigError` with one line
that names the setting, where it came from, the bad value and what is accepted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

from synthpay import delays
from synthpay.plugins import PluginError, Registry, load_registry
from synthpay.timeline import Phase
from synthpay.workflow import TIMINGS, Status, Timing, Workflow


class ConfigError(Exception):
    """A setting is wrong; the message is one line meant for the user."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential: prints as ``***`` everywhere so it never reaches a log or an error."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "'***'" if self.value else "''"

    def __str__(self) -> str:
        return "***" if self.value else ""

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How one run goes: how much, how fast, where to, on which clock."""

    sink: str
    sink_is_default: bool
    payments: int
    workers: int
    clock: str
    start_ms: int | None
    seed: int | None
    summary_interval_s: float
    summary_json: str
    shutdown_grace_s: float
    log_level: str
    mode: str  # "batch" (payments > 0) or "continuous" (payments == 0: until stopped)
    rate: float  # payments started per second across all instances; 0 = paced by workers only
    arrivals: str  # "poisson" or "constant" spacing of those starts
    duration_s: float  # stop starting payments after this long; 0 = no limit
    instance_index: int  # this instance's share of a run split across processes or pods
    instance_count: int
    processes: int  # engine processes to run on this machine, each with its own share
    run_id: str  # carried in every record's run_id header; "" = a new UUID per run
    arrival_curve: tuple[float, ...] = ()  # 24 multipliers of the rate by hour of day; () = flat


@dataclass(frozen=True, slots=True)
class EntitySettings:
    """The banks payments move between, and the changelog stream of their updates."""

    sources: int
    destinations: int
    bank_update_interval_ms: int
    banks_topic: str
    banks_partitions: int


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Batching across the thread boundary between the Trio engine and the I/O thread."""

    batch_size: int
    linger_ms: int


@dataclass(frozen=True, slots=True)
class FileSettings:
    """The embedded default sink: one Avro object container file per topic."""

    dir: str
    codec: str


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Connection to the Kafka cluster; ``config`` passes any librdkafka setting through."""

    bootstrap_servers: str
    security_protocol: str
    sasl_mechanisms: str
    sasl_username: str
    sasl_password: Secret
    sasl_password_file: str
    client_id: str
    ssl_ca_location: str
    replication_factor: int
    flush_timeout_s: float
    config: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """Confluent-compatible schema registry."""

    url: str
    api_key: str
    api_secret: Secret
    api_secret_file: str


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The metrics and health endpoint; ``port`` 0 turns it off."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs, validated."""

    run: RunSettings
    entities: EntitySettings
    engine: EngineSettings
    file: FileSettings
    kafka: KafkaSettings
    schema_registry: RegistrySettings
    http: HttpSettings
    timing: Timing
    statuses: Mapping[str, Status]
    workflows: tuple[Workflow, ...]
    plugins: tuple[str, ...]
    registry: Registry = field(repr=False, compare=False)
    source: str = ""
    phases: tuple[Phase, ...] = ()  # the timeline, by start; no two overlap


# --- parsers: (value, came_from_text) -> typed value; ValueError(text) says what is accepted


Parser = Callable[[Any, bool], Any]


def _whole(minimum: int) -> Parser:
    def parse(raw: Any, text: bool) -> int:
        accepted = f"a whole number >= {minimum}"
        if text:
            try:
                raw = int(str(raw).strip().replace("_", ""))
            except ValueError:
                raise ValueError(accepted) from None
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
            raise ValueError(accepted)
        return raw

    return parse


def _number(minimum: float, *, exclusive: bool = False) -> Parser:
    def parse(raw: Any, text: bool) -> float:
        accepted = f"a number {'>' if exclusive else '>='} {minimum:g}"
        if text:
            try:
                raw = float(str(raw).strip())
            except ValueError:
                raise ValueError(accepted) from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw != raw:
            raise ValueError(accepted)
        if raw < minimum or (exclusive and raw == minimum) or raw == float("inf"):
            raise ValueError(accepted)
        return float(raw)

    return parse


def _choice(*values: str) -> Parser:
    def parse(raw: Any, text: bool) -> str:
        if not isinstance(raw, str) or raw.strip().lower() not in values:
            raise ValueError("one of " + ", ".join(repr(v) for v in values))
        return raw.strip().lower()

    return parse


def _text(raw: Any, text: bool) -> str:
    if not isinstance(raw, str):
        raise ValueError("a string")
    return raw.strip()


def _optional_seed(raw: Any, text: bool) -> int | None:
    if raw == "" or raw is None:
        return None
    # The shipped config.toml shows ``seed = ""``, so ``seed = "42"`` must work too.
    parsed: int = _whole(0)(raw, text or isinstance(raw, str))
    return parsed


def _start(raw: Any, text: bool) -> int | None:
    accepted = "an ISO 8601 time such as 2026-01-31T09:00:00Z, or empty for now"
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(accepted) from None
    else:
        raise ValueError(accepted)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _curve(raw: Any, text: bool) -> tuple[float, ...]:
    accepted = "24 numbers >= 0 (one per hour of day, not all 0), or empty for a flat rate"
    if text:
        raw = [part for part in str(raw).replace(",", " ").split()]
    if not isinstance(raw, (list, tuple)):
        raise ValueError(accepted)
    if not raw:
        return ()
    try:
        curve = tuple(_number(0)(value, text) for value in raw)
    except ValueError:
        raise ValueError(accepted) from None
    if len(curve) != 24 or not any(curve):
        raise ValueError(accepted)
    return curve


def _security_protocol(raw: Any, text: bool) -> str:
    accepted = ("", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
    if not isinstance(raw, str) or raw.strip().upper() not in accepted:
        raise ValueError("one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (or empty for automatic)")
    return raw.strip().upper()


def _port(raw: Any, text: bool) -> int:
    accepted = "a TCP port from 1 to 65535, or 0 for off"
    try:
        value: int = _whole(0)(raw, text)
    except ValueError:
        raise ValueError(accepted) from None
    if value > 65535:
        raise ValueError(accepted)
    return value


def _replication(raw: Any, text: bool) -> int:
    accepted = "-1 (the broker's default) or a whole number >= 1"
    try:
        value: int = _whole(-1)(raw, text)
    except ValueError:
        raise ValueError(accepted) from None
    if value == 0:
        raise ValueError(accepted)
    return value


@dataclass(frozen=True, slots=True)
class _Setting:
    key: str
    default: Any
    parse: Parser
    aliases: tuple[str, ...] = ()
    flag: str | None = None
    secret: bool = False

    @property
    def env(self) -> tuple[str, ...]:
        return ("SYNTHPAY_" + self.key.replace(".", "_").upper(), *self.aliases)


_SETTINGS: tuple[_Setting, ...] = (
    _Setting("run.sink", "", _text, ("SYNTHPAY_SINK",), "--sink"),
    _Setting("run.payments", 100_000, _whole(0), ("NUM_PAYMENTS",), "--payments"),
    _Setting("run.workers", 100, _whole(1), ("NUM_WORKERS",), "--workers"),
    _Setting("run.clock", "real", _choice("real", "virtual"), ("SYNTHPAY_CLOCK",), "--clock"),
    _Setting("run.start", "", _start, (), "--start"),
    _Setting("run.seed", "", _optional_seed, ("SYNTHPAY_SEED",), "--seed"),
    _Setting("run.summary_interval_s", 10.0, _number(0, exclusive=True), (), "--summary-interval"),
    _Setting("run.summary_json", "", _text, (), "--summary-json"),
    _Setting("run.shutdown_grace_s", 20.0, _number(0), (), "--shutdown-grace"),
    _Setting("run.log_level", "info", _choice("debug", "info", "warning", "error"), (), "--log-level"),
    _Setting("run.mode", "batch", _choice("batch", "continuous"), (), "--mode"),
    _Setting("run.rate", 0.0, _number(0), (), "--rate"),
    _Setting("run.arrivals", "poisson", _choice("poisson", "constant"), (), "--arrivals"),
    _Setting("run.duration_s", 0.0, _number(0), (), "--duration"),
    _Setting("run.instance_index", 0, _whole(0), ("JOB_COMPLETION_INDEX",), "--instance-index"),
    _Setting("run.instance_count", 1, _whole(1), (), "--instance-count"),
    _Setting("run.processes", 1, _whole(1), (), "--processes"),
    _Setting("run.run_id", "", _text, (), "--run-id"),
    _Setting("run.arrival_curve", (), _curve),
    _Setting("entities.sources", 10, _whole(1), ("NUM_SOURCES",)),
    _Setting("entities.destinations", 10, _whole(1), ("NUM_DESTINATIONS",)),
    _Setting("entities.bank_update_interval_ms", 3000, _whole(0), ("UPDATE_BANKS_INTERVAL",)),
    _Setting("entities.banks_topic", "banks", _text),
    _Setting("entities.banks_partitions", 1, _whole(1)),
    _Setting("engine.batch_size", 0, _whole(0)),
    _Setting("engine.linger_ms", 10, _whole(1)),
    _Setting("file.dir", "out", _text, (), "--out"),
    _Setting("file.codec", "deflate", _choice("deflate", "null")),
    _Setting(
        "kafka.bootstrap_servers", "", _text, ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVER")
    ),
    _Setting("kafka.security_protocol", "", _security_protocol, ("KAFKA_SECURITY_PROTOCOL",)),
    _Setting("kafka.sasl_mechanisms", "PLAIN", _text, ("KAFKA_SASL_MECHANISMS",)),
    _Setting("kafka.sasl_username", "", _text, ("KAFKA_SASL_USERNAME",)),
    _Setting("kafka.sasl_password", "", _text, ("KAFKA_SASL_PASSWORD",), secret=True),
    _Setting("kafka.sasl_password_file", "", _text, ("KAFKA_SASL_PASSWORD_FILE",)),
    _Setting("kafka.client_id", "synthpay", _text, ("KAFKA_CLIENT_ID",)),
    _Setting("kafka.ssl_ca_location", "", _text, ("KAFKA_SSL_CA_LOCATION",)),
    _Setting("kafka.replication_factor", -1, _replication),
    _Setting("kafka.flush_timeout_s", 30.0, _number(0)),
    _Setting(
        "schema_registry.url", "http://localhost:8081", _text, ("SCHEMA_REGISTRY_ENDPOINT",)
    ),
    _Setting("schema_registry.api_key", "", _text, ("SCHEMA_REGISTRY_API_KEY",)),
    _Setting("schema_registry.api_secret", "", _text, ("SCHEMA_REGISTRY_API_SECRET",), secret=True),
    _Setting("schema_registry.api_secret_file", "", _text, ("SCHEMA_REGISTRY_API_SECRET_FILE",)),
    _Setting("http.host", "0.0.0.0", _text),
    _Setting("http.port", 0, _port, (), "--http-port"),
    _Setting("timing", "sequential", _choice(*TIMINGS), ("SYNTHPAY_TIMING",), "--timing"),
)
_BY_KEY = {s.key: s for s in _SETTINGS}
# Tables and arrays that are not plain scalars; each is validated by its own function.
_STRUCTURED = ("statuses", "workflows", "plugins", "kafka.config", "phases")

#: The original generator's status delays (code defaults) and partition counts.
DEFAULT_STATUSES: tuple[tuple[str, int, int], ...] = (
    ("Initiated", 100, 12),
    ("Validated", 1000, 12),
    ("Accounted", 1000, 12),
    ("Completed", 3000, 12),
    ("Failed", 1000, 4),
    ("Rejected", 2000, 4),
    ("Canceled", 2000, 4),
)
#: The original generator's eight weighted workflows.
DEFAULT_WORKFLOWS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("Initiated", "Failed"), 1),
    (("Initiated", "Rejected"), 2),
    (("Initiated", "Validated", "Failed"), 1),
    (("Initiated", "Validated", "Rejected"), 1),
    (("Initiated", "Validated", "Accounted", "Failed"), 1),
    (("Initiated", "Validated", "Accounted", "Completed"), 9),
    (("Initiated", "Validated", "Accounted", "Canceled"), 2),
    (("Initiated", "Validated", "Accounted", "Rejected"), 1),
)
#: engine.batch_size = 0: a backfill gains from fewer hand-offs; under the real clock a
#: batch in the I/O thread holds the engine up, which shows as scheduling lag.
_AUTO_BATCH = {"virtual": 10_000, "real": 2_000}
#: Spellings of DELAY_* that the original's README used for the same status.
_DELAY_ALIASES = {"CANCELLED": "CANCELED"}

FLAGS: Mapping[str, str] = MappingProxyType({s.flag: s.key for s in _SETTINGS if s.flag})


@dataclass(frozen=True, slots=True)
class _Value:
    raw: Any
    origin: str  # where it came from, for error messages
    name: str  # how the user spelled it there
    text: bool  # True when it came as text (environment, flags) and needs converting


def load(
    *,
    config_path: str | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
    env_file: str | None = None,
    cwd: Path | None = None,
    read_files: bool = True,
) -> Settings:
    """Build the settings from every layer; raise ConfigError on the first problem."""
    cwd = cwd or Path.cwd()
    environ = dict(os.environ if env is None else env)
    values: dict[str, _Value] = {
        s.key: _Value(s.default, "default", s.key, False) for s in _SETTINGS
    }
    structured: dict[str, _Value] = {}

    path = _config_file(config_path or environ.get("SYNTHPAY_CONFIG"), cwd) if read_files else None
    if path is not None:
        _apply_toml(_read_toml(path), path.name, values, structured)
    dotenv = _read_dotenv(env_file, cwd) if read_files else {}
    for layer_name, layer in ((dotenv_origin(env_file), dotenv), ("environment", environ)):
        _apply_env(layer, layer_name, values, structured)
    for key, raw in (flags or {}).items():
        if raw is not None:
            values[key] = _Value(raw, "command line", _BY_KEY[key].flag or key, isinstance(raw, str))

    parsed = {key: _parse(_BY_KEY[key], value) for key, value in values.items()}
    _read_secret_files(parsed, values, environ.get("CREDENTIALS_DIRECTORY"), cwd)
    return _build(parsed, structured, str(path) if path else "")


def dotenv_origin(env_file: str | None) -> str:
    """How errors name the .env layer."""
    return env_file or ".env"


def _read_secret_files(
    parsed: dict[str, Any], values: Mapping[str, _Value], credentials_dir: str | None, cwd: Path
) -> None:
    """Fill each secret from its ``<key>_file`` setting when that is given.

    A relative path is resolved against ``$CREDENTIALS_DIRECTORY`` when systemd set it
    (``LoadCredential=``), else against the working directory.
    """
    for setting in _SETTINGS:
        if not setting.secret:
            continue
        file_key = setting.key + "_file"
        if not parsed[file_key]:
            continue
        if parsed[setting.key]:
            raise ConfigError(
                f"{values[setting.key].name} ({values[setting.key].origin}) and {values[file_key].name} "
                f"({values[file_key].origin}): expected one of them, not both"
            )
        parsed[setting.key] = _read_secret(parsed[file_key], values[file_key], Path(credentials_dir or cwd))


def _read_secret(name: str, value: _Value, base: Path) -> str:
    path = base / name  # an absolute name replaces base
    try:
        # A trailing newline comes from editors and `echo`, never from the secret itself.
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    raise ConfigError(f"{value.name} = {name!r} ({value.origin}): cannot read {str(path)!r}: {reason}")


def _config_file(explicit: str | None, cwd: Path) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise ConfigError(f"--config: {explicit!r} is not a readable file")
        return path
    default = cwd / "config.toml"
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file before parsing
        raise ConfigError(f"{path.name}: invalid TOML: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _read_dotenv(env_file: str | None, cwd: Path) -> dict[str, str]:
    """The original reads ``.env`` from its working directory; values never override the real environment."""
    from dotenv import dotenv_values

    path = Path(env_file) if env_file else cwd / ".env"
    if not path.is_absolute():
        path = cwd / path
    if not path.is_file():
        if env_file:
            raise ConfigError(f"--env-file: {env_file!r} is not a readable file")
        return {}
    try:
        loaded = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--env-file: cannot read {str(path)!r}: {exc}") from None
    return {k: v for k, v in loaded.items() if v is not None}


def _apply_toml(
    doc: Mapping[str, Any], origin: str, values: dict[str, _Value], structured: dict[str, _Value]
) -> None:
    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for name, raw in table.items():
            key = f"{prefix}{name}"
            if key in _STRUCTURED:
                structured[key] = _Value(raw, origin, key, False)
            elif key in _BY_KEY:
                values[key] = _Value(raw, origin, key, False)
            elif any(k.startswith(key + ".") for k in (*_BY_KEY, *_STRUCTURED)):
                if not isinstance(raw, dict):
                    raise ConfigError(f"{origin}: {key} = {raw!r}: expected a table [{key}]")
                walk(raw, key + ".")
            else:
                raise ConfigError(f"{origin}: unknown setting {key!r}; accepted here: {_siblings(prefix)}")

    walk(doc, "")


def _siblings(prefix: str) -> str:
    names = sorted(
        {k[len(prefix):].split(".")[0] for k in (*_BY_KEY, *_STRUCTURED) if k.startswith(prefix)}
    )
    return ", ".join(names)


def _apply_env(
    env: Mapping[str, str], origin: str, values: dict[str, _Value], structured: dict[str, _Value]
) -> None:
    for setting in _SETTINGS:
        for name in setting.env:
            if name in env:
                values[setting.key] = _Value(env[name], origin, name, True)
                break
    delays = {
        _DELAY_ALIASES.get(name[6:], name[6:]): _Value(raw, origin, name, True)
        for name, raw in env.items()
        if name.startswith("DELAY_") and len(name) > 6
    }
    if delays:
        previous = structured.get("env.delays")
        merged = dict(previous.raw) if previous else {}
        merged.update(delays)
        structured["env.delays"] = _Value(merged, origin, "DELAY_*", True)


def _parse(setting: _Setting, value: _Value) -> Any:
    try:
        return setting.parse(value.raw, value.text)
    except ValueError as exc:
        shown = "'***'" if setting.secret else repr(value.raw)
        raise ConfigError(f"{value.name} = {shown} ({value.origin}): expected {exc}") from None


def _build(parsed: Mapping[str, Any], structured: Mapping[str, _Value], source: str) -> Settings:
    statuses = _statuses(structured.get("statuses"), structured.get("env.delays"), parsed)
    workflows = _workflows(structured.get("workflows"), statuses)
    phases = _phases(structured.get("phases"), workflows, statuses)
    _needs_rate(phases, parsed)
    plugins = _plugins(structured.get("plugins"))
    try:
        registry = load_registry(plugins)
    except PluginError as exc:
        raise ConfigError(str(exc)) from None

    sink, sink_is_default = parsed["run.sink"], False
    if not sink:
        sink, sink_is_default = ("kafka" if parsed["kafka.bootstrap_servers"] else "file"), True
    if sink not in registry.sink_names():
        origin = "run.sink / --sink / SYNTHPAY_SINK"
        raise ConfigError(
            f"{origin} = {sink!r}: expected one of {', '.join(repr(n) for n in registry.sink_names())}"
        )
    continuous = parsed["run.mode"] == "continuous" or parsed["run.payments"] == 0
    if parsed["run.instance_count"] > 65536:
        raise ConfigError(
            f"run.instance_count = {parsed['run.instance_count']}: expected a whole number from 1 to 65536"
        )
    if parsed["run.instance_index"] >= parsed["run.instance_count"]:
        raise ConfigError(
            f"run.instance_index = {parsed['run.instance_index']}: expected a whole number below "
            f"run.instance_count ({parsed['run.instance_count']})"
        )
    if sink == "kafka" and not parsed["kafka.bootstrap_servers"]:
        raise ConfigError(
            "run.sink = 'kafka' needs kafka.bootstrap_servers (KAFKA_BOOTSTRAP_SERVERS), e.g. localhost:9092"
        )
    banks_topic = parsed["entities.banks_topic"]
    if not banks_topic:
        raise ConfigError("entities.banks_topic = '': expected a topic name")
    if any(s.topic == banks_topic for s in statuses.values()):
        raise ConfigError(f"entities.banks_topic = {banks_topic!r}: expected a topic no status uses")

    return Settings(
        run=RunSettings(
            sink=sink,
            sink_is_default=sink_is_default,
            payments=0 if continuous else parsed["run.payments"],
            workers=parsed["run.workers"],
            clock=parsed["run.clock"],
            start_ms=parsed["run.start"],
            seed=parsed["run.seed"],
            summary_interval_s=parsed["run.summary_interval_s"],
            summary_json=parsed["run.summary_json"],
            shutdown_grace_s=parsed["run.shutdown_grace_s"],
            log_level=parsed["run.log_level"],
            mode="continuous" if continuous else "batch",
            rate=parsed["run.rate"],
            arrivals=parsed["run.arrivals"],
            duration_s=parsed["run.duration_s"],
            instance_index=parsed["run.instance_index"],
            instance_count=parsed["run.instance_count"],
            processes=parsed["run.processes"],
            run_id=parsed["run.run_id"],
            arrival_curve=parsed["run.arrival_curve"],
        ),
        entities=EntitySettings(
            sources=parsed["entities.sources"],
            destinations=parsed["entities.destinations"],
            bank_update_interval_ms=parsed["entities.bank_update_interval_ms"],
            banks_topic=banks_topic,
            banks_partitions=parsed["entities.banks_partitions"],
        ),
        engine=EngineSettings(
            batch_size=parsed["engine.batch_size"] or _AUTO_BATCH[parsed["run.clock"]],
            linger_ms=parsed["engine.linger_ms"],
        ),
        file=FileSettings(dir=parsed["file.dir"] or ".", codec=parsed["file.codec"]),
        kafka=KafkaSettings(
            bootstrap_servers=parsed["kafka.bootstrap_servers"],
            security_protocol=parsed["kafka.security_protocol"],
            sasl_mechanisms=parsed["kafka.sasl_mechanisms"],
            sasl_username=parsed["kafka.sasl_username"],
            sasl_password=Secret(parsed["kafka.sasl_password"]),
            sasl_password_file=parsed["kafka.sasl_password_file"],
            client_id=parsed["kafka.client_id"],
            ssl_ca_location=parsed["kafka.ssl_ca_location"],
            replication_factor=parsed["kafka.replication_factor"],
            flush_timeout_s=parsed["kafka.flush_timeout_s"],
            config=_kafka_config(structured.get("kafka.config")),
        ),
        schema_registry=RegistrySettings(
            url=parsed["schema_registry.url"],
            api_key=parsed["schema_registry.api_key"],
            api_secret=Secret(parsed["schema_registry.api_secret"]),
            api_secret_file=parsed["schema_registry.api_secret_file"],
        ),
        http=HttpSettings(host=parsed["http.host"], port=parsed["http.port"]),
        timing=parsed["timing"],
        statuses=MappingProxyType(statuses),
        workflows=workflows,
        plugins=plugins,
        registry=registry,
        source=source,
        phases=phases,
    )


def _statuses(
    table: _Value | None, env_delays: _Value | None, parsed: Mapping[str, Any]
) -> dict[str, Status]:
    specs: dict[str, dict[str, Any]] = {
        name: {"delay_ms": delay, "partitions": parts} for name, delay, parts in DEFAULT_STATUSES
    }
    if table is not None:
        if not isinstance(table.raw, dict):
            raise ConfigError(f"statuses ({table.origin}): expected a table of statuses")
        for name, spec in table.raw.items():
            if not isinstance(spec, dict):
                raise ConfigError(
                    f"statuses.{name} ({table.origin}): expected a table such as {{ delay_ms = 100 }}"
                )
            unknown = set(spec) - {"delay_ms", "delay", "partitions", "topic"}
            if unknown:
                raise ConfigError(
                    f"{table.origin}: unknown setting 'statuses.{name}.{sorted(unknown)[0]}'; "
                    "accepted here: delay, delay_ms, partitions, topic"
                )
            if "delay" in spec and "delay_ms" in spec:
                raise ConfigError(
                    f"statuses.{name} ({table.origin}): both delay_ms and delay are set; expected one of them"
                )
            merged = specs.setdefault(name, {})
            if "delay" in spec:
                merged.pop("delay_ms", None)
            merged.update(spec)
    if env_delays is not None:
        by_upper = {name.upper(): name for name in specs}
        for upper, value in env_delays.raw.items():
            if upper in by_upper:
                # A fixed delay from the environment replaces a distribution from the file.
                specs[by_upper[upper]].pop("delay", None)
                specs[by_upper[upper]]["delay_ms"] = _Value(value.raw, value.origin, value.name, True)

    statuses: dict[str, Status] = {}
    topics: set[str] = set()
    for name, spec in specs.items():
        if not name or not name.replace("_", "").isalnum():
            raise ConfigError(f"statuses.{name!r}: expected a status name of letters, digits and _")
        drawn = _delay(f"statuses.{name}.delay", spec["delay"], table) if "delay" in spec else None
        if drawn is not None and drawn.fixed:
            spec, drawn = {**spec, "delay_ms": int(drawn.params[0])}, None
        if drawn is not None:
            delay = int(drawn.quantile(0.5) + 0.5)
        else:
            delay = _field(f"statuses.{name}.delay_ms", spec.get("delay_ms"), _whole(0), table)
        parts = _field(f"statuses.{name}.partitions", spec.get("partitions", 1), _whole(1), table)
        topic = _field(f"statuses.{name}.topic", spec.get("topic", f"payment-{name.lower()}"), _text, table)
        if not topic or topic in topics:
            raise ConfigError(f"statuses.{name}.topic = {topic!r}: expected a topic name no other status uses")
        topics.add(topic)
        statuses[name] = Status(name=name, delay_ms=delay, topic=topic, partitions=parts, delay=drawn)
    return statuses


def _field(key: str, raw: Any, parse: Parser, table: _Value | None) -> Any:
    value = raw if isinstance(raw, _Value) else _Value(raw, table.origin if table else "default", key, False)
    if value.raw is None:
        raise ConfigError(f"{key} ({value.origin}): missing; expected a value")
    return _parse(_Setting(key, None, parse), value)


def _workflows(table: _Value | None, statuses: Mapping[str, Status]) -> tuple[Workflow, ...]:
    if table is None:
        return tuple(Workflow(steps, weight) for steps, weight in DEFAULT_WORKFLOWS)
    if not isinstance(table.raw, list) or not table.raw:
        raise ConfigError(f"workflows ({table.origin}): expected one or more [[workflows]] tables")
    workflows: list[Workflow] = []
    for i, spec in enumerate(table.raw):
        where = f"workflows[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} ({table.origin}): expected a table with steps and weight")
        unknown = set(spec) - {"steps", "weight", "name"}
        if unknown:
            raise ConfigError(
                f"{table.origin}: unknown setting '{where}.{sorted(unknown)[0]}'; accepted here: name, steps, weight"
            )
        steps = spec.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
            raise ConfigError(f"{where}.steps = {steps!r} ({table.origin}): expected a non-empty list of status names")
        for name in steps:
            if name not in statuses:
                raise ConfigError(
                    f"{where}.steps: unknown status {name!r} ({table.origin}); "
                    f"accepted: {', '.join(statuses)}"
                )
        if len(set(steps)) != len(steps):
            raise ConfigError(f"{where}.steps = {steps!r} ({table.origin}): expected each status at most once")
        weight = _field(f"{where}.weight", spec.get("weight", 1), _whole(0), table)
        name = _field(f"{where}.name", spec.get("name", ""), _text, table)
        workflow = Workflow(tuple(steps), weight, name)
        if any(wf.name == workflow.name for wf in workflows):
            raise ConfigError(
                f"{where}.name = {workflow.name!r} ({table.origin}): expected a name no other workflow has"
            )
        workflows.append(workflow)
    if sum(wf.weight for wf in workflows) == 0:
        raise ConfigError(f"workflows ({table.origin}): the weights sum to 0; expected at least one weight >= 1")
    return tuple(workflows)


def _delay(key: str, raw: Any, table: _Value | None) -> delays.Delay:
    """A ``delay = { dist = ..., ... }`` table."""
    origin = table.origin if table else "default"
    kinds = ", ".join(delays.PARAMETERS)
    if not isinstance(raw, dict):
        raise ConfigError(f"{key} = {raw!r} ({origin}): expected a table such as {{ dist = \"lognormal\", "
                          "median_ms = 800, p99_ms = 5000 }")
    dist = raw.get("dist")
    if not isinstance(dist, str) or dist not in delays.PARAMETERS:
        raise ConfigError(f"{key}.dist = {dist!r} ({origin}): expected one of {kinds}")
    names = delays.PARAMETERS[dist]
    unknown = set(raw) - {"dist", *names}
    if unknown:
        raise ConfigError(f"{origin}: unknown setting '{key}.{sorted(unknown)[0]}' for dist = {dist!r}; "
                          f"accepted here: dist, {', '.join(names)}")
    values = {name: _field(f"{key}.{name}", raw.get(name), _number(0), table) for name in names}
    problem = delays.check(dist, values)
    if problem:
        bad = problem.split()[0]
        raise ConfigError(f"{key}.{bad} = {values[bad]:g} ({origin}): expected {problem}")
    return delays.Delay(dist, tuple(values[name] for name in names))


_PHASE_KEYS = ("name", "at_s", "duration_s", "rate", "rate_end", "weights", "delay_scale")


def _phases(
    table: _Value | None, workflows: tuple[Workflow, ...], statuses: Mapping[str, Status]
) -> tuple[Phase, ...]:
    """``[[phases]]``: the timeline, sorted by start; overlapping phases are an error."""
    if table is None:
        return ()
    if not isinstance(table.raw, list):
        raise ConfigError(f"phases ({table.origin}): expected [[phases]] tables")
    phases: list[Phase] = []
    for i, spec in enumerate(table.raw):
        where = f"phases[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} ({table.origin}): expected a table with name, at_s and duration_s")
        unknown = set(spec) - set(_PHASE_KEYS)
        if unknown:
            raise ConfigError(f"{table.origin}: unknown setting '{where}.{sorted(unknown)[0]}'; "
                              f"accepted here: {', '.join(_PHASE_KEYS)}")
        name = _field(f"{where}.name", spec.get("name"), _text, table)
        if not name or any(p.name == name for p in phases):
            raise ConfigError(f"{where}.name = {name!r} ({table.origin}): expected a name no other phase has")
        where = f"phases[{i}] ({name!r})"
        optional = {key: _field(f"{where}.{key}", spec[key], _number(0), table)
                    for key in ("rate", "rate_end") if key in spec}
        phases.append(Phase(
            name=name,
            at_s=_field(f"{where}.at_s", spec.get("at_s"), _number(0), table),
            duration_s=_field(f"{where}.duration_s", spec.get("duration_s"), _number(0, exclusive=True), table),
            rate=optional.get("rate"),
            rate_end=optional.get("rate_end"),
            weights=_phase_table(f"{where}.weights", spec.get("weights"), [wf.name for wf in workflows],
                                 _whole(0), table),
            delay_scale=_phase_table(f"{where}.delay_scale", spec.get("delay_scale"), list(statuses),
                                     _number(0), table),
        ))
        if phases[-1].weights and not sum(
            phases[-1].weights.get(wf.name, wf.weight) for wf in workflows
        ):
            raise ConfigError(f"{where}.weights ({table.origin}): the weights sum to 0; expected at least one >= 1")
    ordered = sorted(phases, key=lambda p: p.at_s)
    for before, after in zip(ordered, ordered[1:]):
        if before.at_s + before.duration_s > after.at_s:
            raise ConfigError(
                f"phases ({table.origin}): {before.name!r} (at_s {before.at_s:g} for {before.duration_s:g} s) "
                f"overlaps {after.name!r} (at_s {after.at_s:g}); expected phases one after another"
            )
    return tuple(ordered)


def _phase_table(
    key: str, raw: Any, names: list[str], parse: Parser, table: _Value
) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{key} = {raw!r} ({table.origin}): expected a table such as {{ {names[0]!r} = 2 }}")
    for name in raw:
        if name not in names:
            raise ConfigError(f"{key}: {name!r} ({table.origin}) names nothing; accepted: {', '.join(names)}")
    return MappingProxyType({name: _field(f"{key}.{name}", value, parse, table) for name, value in raw.items()})


def _needs_rate(phases: tuple[Phase, ...], parsed: Mapping[str, Any]) -> None:
    """A rate that changes over time is a multiple of the run's: a run paced by workers has none."""
    if parsed["run.rate"]:
        return
    if parsed["run.arrival_curve"]:
        raise ConfigError("run.arrival_curve is set but run.rate = 0; expected a run.rate > 0 for it to multiply")
    for phase in phases:
        if phase.rate is not None or phase.rate_end is not None:
            raise ConfigError(
                f"phases ({phase.name!r}).rate is set but run.rate = 0; expected a run.rate > 0 "
                "(outside phases the run's rate applies)"
            )


def _plugins(table: _Value | None) -> tuple[str, ...]:
    if table is None:
        return ()
    if not isinstance(table.raw, list) or not all(isinstance(p, str) for p in table.raw):
        raise ConfigError(
            f"plugins = {table.raw!r} ({table.origin}): expected a list of 'package.module:attribute' strings"
        )
    return tuple(table.raw)


def _kafka_config(table: _Value | None) -> Mapping[str, str]:
    if table is None:
        return MappingProxyType({})
    if not isinstance(table.raw, dict):
        raise ConfigError(f"kafka.config ({table.origin}): expected a table of librdkafka settings")
    out: dict[str, str] = {}
    for key, raw in table.raw.items():
        if isinstance(raw, bool):
            out[key] = "true" if raw else "false"
        elif isinstance(raw, (int, float, str)):
            out[key] = str(raw)
        else:
            raise ConfigError(f"kafka.config.{key} ({table.origin}): expected a string, number or boolean")
    return MappingProxyType(out)


def describe(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets masked (for ``synthpay validate``)."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, Secret):
            return str(obj)
        if isinstance(obj, Mapping):
            return {k: plain(v) for k, v in obj.items()}
        if isinstance(obj, (tuple, list)):
            return [plain(v) for v in obj]
        if hasattr(obj, "__dataclass_fields__"):
            return {f: plain(getattr(obj, f)) for f in obj.__dataclass_fields__ if f != "registry"}
        return obj

    described: dict[str, Any] = plain(settings)
    described["sinks_available"] = list(settings.registry.sink_names())
    described["kafka"]["config"] = {
        k: ("***" if _looks_secret(k) else v) for k, v in settings.kafka.config.items()
    }
    return described


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in ("password", "secret", "key.pem", "token", "oauthbearer.config"))


def env_names() -> dict[str, tuple[str, ...]]:
    """Every setting's environment names, canonical first (for the README and tests)."""
    return {s.key: s.env for s in _SETTINGS}


def defaults_only(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from built-in defaults plus ``overrides`` given as dotted keys (for tests and tools)."""
    return load(env={}, flags=overrides, read_files=False)


__all__ = [
    "ConfigError",
    "DEFAULT_STATUSES",
    "DEFAULT_WORKFLOWS",
    "FLAGS",
    "Secret",
    "Settings",
    "describe",
    "env_names",
    "load",
]

