"""Every setting, declared once: the frozen dataclasses a run is configured with.

Each declared field carries its whole declaration: default, parser (with its accepted
range), TOML key, environment names, flag, metavar and help. The loader
(:mod:`synthpay.config`), ``--help``, ``synthpay validate`` and the settings table in
docs/reference/configuration.md (:mod:`synthpay.config.reference`) are derived from these
declarations, so a setting is added or changed here and nowhere else. A field's type is what
its parser yields (:func:`setting` is generic over it), so mypy holds each declaration to
its parser. Fields marked ``structured`` are tables or arrays with a parser of their own
(:mod:`synthpay.config.tables`); the two undeclared fields are set by the loader itself.
Nothing here runs plugin code or touches the environment: this is pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from synthpay.config import amount_parsers, parsers, placeholders
from synthpay.config.parsers import Parser, literal_values
from synthpay.config.parsers import Secret as Secret  # re-exported: a setting's type

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from typing_extensions import TypeForm
from synthpay.model.amounts import CurrencyMix
from synthpay.model.anomalies import GROUND_TRUTH
from synthpay.model.delays import Delay
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Status, Timing, Workflow

Clock = Literal["real", "virtual"]
Mode = Literal["batch", "continuous"]
Arrivals = Literal["poisson", "constant"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["auto", "json", "console"]
Codec = Literal["deflate", "null"]
ValueFormat = Literal["avro", "json", "json_schema", "protobuf"]
FileFormat = Literal["avro", "jsonl", "parquet"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"]
Popularity = Literal["uniform", "zipf"]

_DECLARATION, _SECTION, _STRUCTURED = "declaration", "section", "structured"
_TAGS = (_DECLARATION, _SECTION, _STRUCTURED)

T = TypeVar("T")
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Declaration:
    """One setting: everything the loader, the flag parser and the docs need to know."""

    key: str  # the dotted TOML key, e.g. "run.payments" (filled in by declarations())
    attr: str  # the dataclass field it fills
    default: object  # as it would be written in config.toml
    parse: Parser[object]
    help: str
    aliases: tuple[str, ...] = ()  # environment names besides SYNTHPAY_<SECTION>_<KEY>
    flag: str | None = None
    metavar: str | None = None

    @property
    def secret(self) -> bool:
        """A credential: never shown, and ``<key>_file`` may name a file to read it from."""
        return self.parse.masked

    @property
    def env(self) -> tuple[str, ...]:
        """Every environment name, canonical first."""
        return ("SYNTHPAY_" + self.key.replace(".", "_").upper(), *self.aliases)


def setting(
    default: object,
    parse: Parser[T],
    help: str,
    *,
    env: tuple[str, ...] = (),
    flag: str | None = None,
    metavar: str | None = None,
    key: str | None = None,
) -> T:
    """Declare the field as a setting (``key`` when its TOML name differs from the field's).

    The field's type is what ``parse`` yields, so mypy holds every declaration to its parser.
    """
    declared = Declaration(key or "", "", default, parse, help, env, flag, metavar)
    # The loader fills the field from the declaration's parser: this is not its value.
    placeholder: T = field(metadata={_DECLARATION: declared})
    return placeholder


def structured(what: str) -> Any:
    """A table or array with a parser of its own in :mod:`synthpay.config.tables`; ``what`` says what it holds."""
    return field(metadata={_STRUCTURED: what})


#: A probability: NaN fails the range check like any other value outside it.
PROBABILITY = parsers.number(0, 1)


def _metavar(kind: TypeForm[str]) -> str:
    return "{" + ",".join(literal_values(kind)) + "}"


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How one run goes: how much, how fast, where to, on which clock."""

    sink: str = setting(
        "",
        parsers.text,
        "where events go: kafka, file, stdout, null or a plugin's (default: kafka if "
        "bootstrap servers are set, else file)",
        env=("SYNTHPAY_SINK",),
        flag="--sink",
        metavar="NAME",
    )
    payments: int = setting(
        100_000,
        parsers.whole(0, 10**12),
        "payments to generate; 0 runs until stopped",
        env=("NUM_PAYMENTS",),
        flag="--payments",
    )
    workers: int = setting(
        100, parsers.whole(1, 1_000_000), "payments in flight at most", env=("NUM_WORKERS",), flag="--workers"
    )
    clock: Clock = setting(
        "real",
        parsers.choice(Clock),
        "real: events as the delays say, in real time; virtual: a backfill of history as fast as the sink takes it",
        env=("SYNTHPAY_CLOCK",),
        flag="--clock",
        metavar=_metavar(Clock),
    )
    start_ms: int | None = setting(
        "",
        parsers.start,
        "ISO time of the first event under the virtual clock (default: now)",
        flag="--start",
        metavar="TIME",
        key="start",
    )
    backfill_s: float = setting(
        "",
        parsers.duration,
        "emit the last DURATION of history under the virtual clock, ending now (e.g. 90m, 7d); "
        "with --mode continuous the run then goes on live",
        flag="--backfill",
        metavar="DURATION",
        key="backfill",
    )
    seed: int | None = setting(
        "",
        parsers.seed,
        "random seed; the same seed, config and --start under the virtual clock give "
        "byte-identical files (default: random, logged)",
        env=("SYNTHPAY_SEED",),
        flag="--seed",
    )
    summary_interval_s: float = setting(
        10.0,
        parsers.number(0.1, 86_400),
        "seconds between progress lines in the log",
        flag="--summary-interval",
        metavar="SECONDS",
    )
    summary_json: str = setting(
        "",
        placeholders.path_template,
        "also write the final summary as JSON to this file; {run_id} stands for the run id "
        "(default: summary.json in the file sink's directory; none for other sinks)",
        flag="--summary-json",
        metavar="PATH",
    )
    shutdown_grace_s: float = setting(
        20.0,
        parsers.number(0, 3_600),
        "seconds in-flight payments get to finish after SIGTERM",
        flag="--shutdown-grace",
        metavar="SECONDS",
    )
    log_level: LogLevel = setting(
        "info", parsers.choice(LogLevel), "debug, info, warning or error", flag="--log-level", metavar="LEVEL"
    )
    log_format: LogFormat = setting(
        "auto",
        parsers.choice(LogFormat),
        "auto (console on a terminal, else JSON lines), json, or console (readable lines and a live progress bar)",
        flag="--log-format",
        metavar=_metavar(LogFormat),
    )
    mode: Mode = setting(
        "batch",
        parsers.choice(Mode),
        "batch (stop after --payments) or continuous (until stopped; same as --payments 0)",
        flag="--mode",
        metavar=_metavar(Mode),
    )
    rate: float = setting(
        0.0,
        parsers.rate,
        "start this many payments per second on average, across all instances (0: as fast as --workers allows)",
        flag="--rate",
        metavar="PER_SECOND",
    )
    arrivals: Arrivals = setting(
        "poisson",
        parsers.choice(Arrivals),
        "spacing of payment starts under --rate: poisson (random) or constant",
        flag="--arrivals",
        metavar=_metavar(Arrivals),
    )
    duration_s: float = setting(
        0.0,
        parsers.number(0, 31_536_000),
        "stop starting payments after this many seconds (0: no limit)",
        flag="--duration",
        metavar="SECONDS",
    )
    instance_index: int = setting(
        0,
        parsers.whole(0, 65_535),
        "this instance's share of a run split across pods",
        env=("JOB_COMPLETION_INDEX",),
        flag="--instance-index",
        metavar="I",
    )
    instance_count: int = setting(
        1,
        parsers.whole(1, 65_536),
        "how many instances share the run (payments and rate are divided)",
        flag="--instance-count",
    )
    processes: int = setting(
        1,
        parsers.whole(1, 64),
        "engine processes on this machine, each with its own share and producer",
        flag="--processes",
    )
    run_id: str = setting(
        "",
        parsers.text,
        "the run id carried in every record's run_id header (default: a new UUID)",
        flag="--run-id",
        metavar="ID",
    )
    arrival_curve: tuple[float, ...] = setting(
        [],
        parsers.curve,
        "24 multipliers of the rate, one per hour of day of the event clock (needs a rate); empty = flat",
    )
    sink_is_default: bool = False  # set by the loader: run.sink was empty


@dataclass(frozen=True, slots=True)
class EntitySettings:
    """The banks payments move between, and the changelog stream of their updates."""

    sources: int = setting(10, parsers.whole(1, 100_000), "source banks", env=("NUM_SOURCES",))
    destinations: int = setting(10, parsers.whole(1, 100_000), "destination banks", env=("NUM_DESTINATIONS",))
    bank_update_interval_ms: int = setting(
        3000,
        parsers.whole(0, 86_400_000),
        "one random bank is updated this often; 0 = never",
        env=("UPDATE_BANKS_INTERVAL",),
    )
    banks_topic: str = setting("banks", parsers.topic, "topic of the banks and their updates")
    banks_partitions: int = setting(
        1, parsers.whole(1, 10_000), "partitions of the banks topic when synthpay creates it"
    )
    popularity: Popularity = setting(
        "uniform",
        parsers.choice(Popularity),
        "how payments pick their banks: uniform, or zipf (a few "
        "hot banks take most of the traffic; source and destination drawn apart)",
        metavar=_metavar(Popularity),
    )
    zipf_s: float = setting(
        1.1,
        parsers.number(0, 10, exclusive=True),
        "zipf exponent over banks: the k-th most popular bank is picked in proportion to 1/k^s",
    )


@dataclass(frozen=True, slots=True)
class AmountSettings:
    """What payments are worth and in which currency; unset, the original's uniform amounts and currencies."""

    # A distribution of amounts is one of the delay families, in currency units.
    distribution: Delay | None = setting(
        "",
        amount_parsers.distribution,
        "amounts drawn from this distribution (in currency units, whole cents, at least 0.01), e.g. "
        '{ dist = "lognormal", median = 42.5, p99 = 2400 }; empty = uniform from 0.10 to 99998.99',
        flag="--amounts",
        metavar="DISTRIBUTION",
    )
    currencies: CurrencyMix = setting(
        {},
        amount_parsers.currencies,
        "currencies by weight, e.g. { EUR = 60, USD = 30, GBP = 10 }; empty = uniform over every ISO 4217 code",
        flag="--currencies",
        metavar="CODE=WEIGHT,...",
    )


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """Dirty data on purpose: payment events late, duplicated, swapped or missing, each labelled."""

    late: float = setting(
        0.0, PROBABILITY, "probability per payment event: emitted late (after late_delay), its ts unchanged"
    )
    late_delay: Delay = structured("anomalies.late_delay: how late, a { dist = ..., ... } table")
    duplicate: float = setting(
        0.0, PROBABILITY, "probability per payment event: emitted a second time, byte-identical, after duplicate_delay"
    )
    duplicate_delay: Delay = structured(
        "anomalies.duplicate_delay: how much later the copy comes, a { dist = ... } table"
    )
    out_of_order: float = setting(0.0, PROBABILITY, "probability per payment: two consecutive statuses emitted swapped")
    missing: float = setting(
        0.0, PROBABILITY, "probability per payment event after Initiated (the first step): never emitted"
    )

    @property
    def enabled(self) -> bool:
        """True when any anomaly can be injected (the default run injects none and draws nothing for them)."""
        return bool(self.late or self.duplicate or self.out_of_order or self.missing)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Batching across the thread boundary between the Trio engine and the I/O thread."""

    batch_size: int = setting(
        0, parsers.whole(0, 1_000_000), "events per hand-off to the I/O thread; 0 = by clock (see Performance)"
    )
    linger_ms: int = setting(10, parsers.whole(1, 60_000), "real clock: ship a partial batch after this long")


@dataclass(frozen=True, slots=True)
class FileSettings:
    """The embedded default sink: one file per topic (a series of them for Parquet), in ``format``."""

    dir: str = setting(
        "out/{run_id}",
        placeholders.path_template,
        "directory of the file sink's files (and the run's summary.json); {run_id} stands for the "
        "run id, so each run has its own, and out/latest links to the newest",
        flag="--out",
        metavar="DIR",
    )
    format: FileFormat = setting(
        "avro",
        parsers.choice(FileFormat),
        "file format: avro (object container files), jsonl (JSON lines) or parquet (pip install 'synthpay[parquet]')",
        flag="--file-format",
        metavar=_metavar(FileFormat),
    )
    codec: Codec = setting("deflate", parsers.choice(Codec), "Avro block codec: deflate or null")
    rotate_rows: int = setting(
        1_000_000,
        parsers.whole(1, 1_000_000_000),
        "parquet: rows per file; a topic's file is complete (and found under its .parquet name) once it holds "
        "this many, and the next one begins",
    )
    rotate_s: float = setting(
        60.0,
        parsers.number(1, 86_400),
        "parquet, real clock: seconds after which a topic's file in progress is completed however few rows it "
        "holds, so a long run's rows become readable",
    )
    overwrite: bool = setting(
        False,
        parsers.boolean,
        "replace the files an earlier run left in --out (default: refuse to start)",
        flag="--overwrite",
        metavar="{true,false}",
    )


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """Connection to the Kafka cluster; ``config`` passes any librdkafka setting through."""

    bootstrap_servers: str = setting(
        "",
        parsers.text,
        "host:port list of brokers; set means the kafka sink by default",
        env=("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVER"),
        flag="--bootstrap-servers",
        metavar="HOST:PORT,...",
    )
    security_protocol: str = setting(
        "",
        parsers.security_protocol,
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; empty = SASL_SSL when a username is set, else PLAINTEXT",
        env=("KAFKA_SECURITY_PROTOCOL",),
    )
    sasl_mechanisms: SaslMechanism = setting(
        "PLAIN", parsers.choice(SaslMechanism, upper=True), "SASL mechanism", env=("KAFKA_SASL_MECHANISMS",)
    )
    sasl_username: str = setting("", parsers.text, "SASL user name", env=("KAFKA_SASL_USERNAME",))
    sasl_password: Secret = setting("", parsers.secret, "SASL password", env=("KAFKA_SASL_PASSWORD",))
    sasl_password_file: str = setting(
        "",
        parsers.text,
        "read the SASL password from this file (relative: in $CREDENTIALS_DIRECTORY when set)",
        env=("KAFKA_SASL_PASSWORD_FILE",),
    )
    client_id: str = setting(
        "synthpay",
        # A Kafka request carries the client id as a string of at most 32,767 bytes.
        parsers.text_of_at_most(32_767),
        "Kafka client id",
        env=("KAFKA_CLIENT_ID",),
    )
    ssl_ca_location: str = setting(
        "", parsers.text, "CA bundle for SSL and SASL_SSL; empty = the system's", env=("KAFKA_SSL_CA_LOCATION",)
    )
    replication_factor: int = setting(
        -1, parsers.replication, "replication of the topics synthpay creates; -1 = the broker's default"
    )
    flush_timeout_s: float = setting(
        30.0, parsers.number(0, 3_600), "at the end of a batch run, wait this long for outstanding deliveries"
    )
    topic_prefix: str = setting(
        "",
        parsers.topic_prefix,
        "prefix of every topic synthpay writes, banks included (registry subjects follow), e.g. 'staging.'",
        flag="--topic-prefix",
        metavar="PREFIX",
    )
    value_format: ValueFormat = setting(
        "avro",
        parsers.choice(ValueFormat),
        "record values: avro, json_schema or protobuf (registered, Schema Registry wire format) or json "
        "(plain, no registry)",
        flag="--value-format",
        metavar=_metavar(ValueFormat),
    )
    config: Mapping[str, str] = structured("[kafka.config]: librdkafka settings passed through")
    topic_config: Mapping[str, str] = structured(
        "[kafka.topic_config]: topic configs applied to the topics synthpay creates, e.g. retention.ms"
    )

    @property
    def protocol(self) -> str:
        """The security protocol used: the one set, else as the original (which defaulted to
        SASL_SSL) when a username is set, else PLAINTEXT, which a local broker expects."""
        return self.security_protocol or ("SASL_SSL" if self.sasl_username else "PLAINTEXT")


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """Confluent-compatible schema registry."""

    url: str = setting(
        "http://localhost:8081",
        parsers.http_url,
        "schema registry URL",
        env=("SCHEMA_REGISTRY_ENDPOINT",),
        flag="--registry",
        metavar="URL",
    )
    api_key: str = setting("", parsers.text, "registry API key", env=("SCHEMA_REGISTRY_API_KEY",))
    api_secret: Secret = setting("", parsers.secret, "registry API secret", env=("SCHEMA_REGISTRY_API_SECRET",))
    api_secret_file: str = setting(
        "",
        parsers.text,
        "read the registry API secret from this file, as sasl_password_file",
        env=("SCHEMA_REGISTRY_API_SECRET_FILE",),
    )


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The metrics and health endpoint; ``port`` 0 turns it off."""

    host: str = setting("0.0.0.0", parsers.text, "address the metrics endpoint listens on")
    port: int = setting(
        0,
        parsers.port,
        "serve /metrics, /healthz and /readyz on this TCP port (0: off)",
        flag="--http-port",
        metavar="PORT",
    )


def section(kind: type[S]) -> S:
    """A ``[table]`` of settings, declared by the fields of ``kind``."""
    placeholder: S = field(metadata={_SECTION: kind})
    return placeholder


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs, validated."""

    run: RunSettings = section(RunSettings)
    entities: EntitySettings = section(EntitySettings)
    amounts: AmountSettings = section(AmountSettings)
    engine: EngineSettings = section(EngineSettings)
    file: FileSettings = section(FileSettings)
    kafka: KafkaSettings = section(KafkaSettings)
    schema_registry: RegistrySettings = section(RegistrySettings)
    http: HttpSettings = section(HttpSettings)
    anomalies: AnomalySettings = section(AnomalySettings)
    timing: Timing = setting(
        "sequential",
        parsers.choice(Timing),
        "sequential: each delay counts from the previous "
        "status; parallel: every delay counts from the start (the original's behaviour)",
        flag="--timing",
        metavar=_metavar(Timing),
    )
    statuses: Mapping[str, Status] = structured("[statuses]: delay, topic, partitions")
    workflows: tuple[Workflow, ...] = structured("[[workflows]]: steps and weight")
    plugins: tuple[str, ...] = structured("plugins: 'package.module:attribute' paths")
    phases: tuple[Phase, ...] = structured("[[phases]]: the timeline of incidents and campaigns, by start")
    source: str = ""  # set by the loader: the config file read, if any

    @property
    def injects_anomalies(self) -> bool:
        """True when any anomaly can be injected: set for the run, or in any phase."""
        return self.anomalies.enabled or any(phase.anomalies for phase in self.phases)

    @property
    def ground_truth_topic(self) -> str:
        """The topic (file) of the events a run with anomalies deliberately does not emit; "" without anomalies."""
        return self.kafka.topic_prefix + GROUND_TRUTH if self.injects_anomalies else ""


def _tagged(kind: type[DataclassInstance]) -> list[tuple[str, str, object]]:
    """Each declared field of the dataclass ``kind``: its name, how it is declared, and its declaration."""
    return [(f.name, tag, f.metadata[tag]) for f in fields(kind) for tag in _TAGS if tag in f.metadata]


def _section(declared: object) -> type[DataclassInstance] | None:
    """The dataclass a ``section()`` field was declared with, else None."""
    return declared if isinstance(declared, type) and is_dataclass(declared) else None


def _bound(declared: Declaration, name: str, prefix: str) -> Declaration:
    return replace(declared, key=prefix + (declared.key or name), attr=name)


def declarations() -> tuple[Declaration, ...]:
    """Every scalar setting, in the order of the dataclasses."""
    found: list[Declaration] = []
    for name, _, declared in _tagged(Settings):
        kind = _section(declared)
        if isinstance(declared, Declaration):
            found.append(_bound(declared, name, ""))
        elif kind is not None:
            found += [_bound(d, leaf, name + ".") for leaf, _, d in _tagged(kind) if isinstance(d, Declaration)]
    return tuple(found)


def structured_keys() -> tuple[str, ...]:
    """The dotted keys of tables and arrays that each have a parser of their own."""
    found: list[str] = []
    for name, tag, declared in _tagged(Settings):
        kind = _section(declared)
        if tag == _STRUCTURED:
            found.append(name)
        elif kind is not None:
            found += [f"{name}.{leaf}" for leaf, leaf_tag, _ in _tagged(kind) if leaf_tag == _STRUCTURED]
    return tuple(found)


def sections() -> dict[str, type[DataclassInstance]]:
    """Each ``[table]`` name and the dataclass it fills."""
    found = {name: _section(declared) for name, _, declared in _tagged(Settings)}
    return {name: kind for name, kind in found.items() if kind is not None}


#: The environment variable that hands a ``--processes`` child the pipe it reports its
#: figures on (set by the parent, never by a user).
REPORT_FD = "SYNTHPAY_REPORT_FD"
#: ``SYNTHPAY_*`` environment variables that are not settings; any other ``SYNTHPAY_*`` name
#: that is no setting's is refused as a typo. The configuration files to read, the scenario
#: to run, a ``--processes`` child's report pipe; and those of the development scripts and tests (CONTRIBUTING.md):
#: the test services' ports and paths, the integration tests' cluster, keeping the services
#: up, the test plugin's report file, the length of the soak test.
NOT_SETTINGS: tuple[str, ...] = (
    "SYNTHPAY_CONFIG",
    "SYNTHPAY_SCENARIO",
    REPORT_FD,
    "SYNTHPAY_KEEP_SERVICES",
    "SYNTHPAY_TEST_REPORT",
    "SYNTHPAY_SOAK_S",
)
#: Families of ``SYNTHPAY_*`` variables that are not settings, by prefix (as NOT_SETTINGS).
NOT_SETTINGS_PREFIXES: tuple[str, ...] = ("SYNTHPAY_SVC_", "SYNTHPAY_IT_")
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
#: Accepted range of a status delay (``statuses.X.delay_ms``, ``DELAY_<STATUS>``).
DELAY_MS = parsers.whole(0, 86_400_000)
#: Accepted ranges of a drawn delay's parameters, a phase's times and rates, a delay scale.
DELAY_PARAMETER_MS = parsers.number(0, 86_400_000)
PHASE_SECONDS = parsers.number(0, 31_536_000)
PHASE_DURATION_S = parsers.number(0, 31_536_000, exclusive=True)
PHASE_RATE = parsers.number(0, 1_000_000)
DELAY_SCALE = parsers.number(0, 1_000)
#: The most [[phases]] a run may have: each costs its own workflow mix, routes and counters.
MAX_PHASES = 1_000
#: Accepted range of a topic's partitions and of a workflow's weight.
PARTITIONS = parsers.whole(1, 10_000)
WEIGHT = parsers.whole(0, 1_000_000)
#: What late and duplicated events wait when [anomalies] gives no delay table.
DEFAULT_LATE_DELAY = Delay("exponential", (30_000.0,))
DEFAULT_DUPLICATE_DELAY = Delay("uniform", (0.0, 5_000.0))
