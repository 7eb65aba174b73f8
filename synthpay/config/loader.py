"""Loading the configuration: every layer into one validated, frozen :class:`Settings`.

Precedence, lowest first: built-in defaults < ``config.toml`` (or ``--config``) < ``.env``
file < environment < command-line flags. What each setting is (default, parser, names)
is declared once, in :mod:`synthpay.config.settings`; this module only reads the layers and
applies those declarations. Anything wrong raises :class:`ConfigError` with one line that
names the setting, where it came from, the bad value and what is accepted. Loading runs
no plugin code: the command line resolves plugins and sinks from ``settings.plugins``.
"""

from __future__ import annotations

import io
import itertools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from synthpay.config import parsers
from synthpay.config.clocks import profile
from synthpay.config.errors import ConfigError
from synthpay.config.parsers import Parser
from synthpay.config.settings import (
    DEFAULT_DUPLICATE_DELAY,
    DEFAULT_LATE_DELAY,
    DEFAULT_STATUSES,
    DEFAULT_WORKFLOWS,
    DELAY_MS,
    DELAY_PARAMETER_MS,
    DELAY_SCALE,
    PARTITIONS,
    PHASE_DURATION_S,
    PHASE_RATE,
    PHASE_SECONDS,
    PROBABILITY,
    WEIGHT,
    Declaration,
    Secret,
    Settings,
    declarations,
    sections,
    structured_keys,
)
from synthpay.model import delays
from synthpay.model.anomalies import KINDS
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Status, Workflow

_DECLARED = declarations()
_BY_KEY = {d.key: d for d in _DECLARED}
_STRUCTURED = structured_keys()
#: Spellings of DELAY_* that the original's README used for the same status.
_DELAY_ALIASES = {"CANCELLED": "CANCELED"}
#: Nesting a TOML document may have; deeper is an error, not a RecursionError.
_MAX_TOML_DEPTH = 32

FLAGS: Mapping[str, str] = MappingProxyType({d.flag: d.key for d in _DECLARED if d.flag})


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
    values: dict[str, _Value] = {d.key: _Value(d.default, "default", d.key, False) for d in _DECLARED}
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
    return _build(parsed, values, structured, str(path) if path else "")


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
    for setting in _DECLARED:
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
    too_deep = (
        f"{path.name}: tables or arrays nested more than {_MAX_TOML_DEPTH} deep; expected a synthpay configuration"
    )
    try:
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except RecursionError:
        raise ConfigError(too_deep) from None
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file before parsing
        raise ConfigError(f"{path.name}: invalid TOML: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if _deeper_than(doc, _MAX_TOML_DEPTH):
        raise ConfigError(too_deep)
    return doc


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` deep; never looks deeper than that.

    Dotted keys and table headers nest without recursing in the parser, so a document can be
    far deeper than Python's recursion limit.
    """
    if limit < 1:
        return True
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_deeper_than(child, limit - 1) for child in children)


def _read_dotenv(env_file: str | None, cwd: Path) -> dict[str, str]:
    """The original reads ``.env`` from its working directory; values never override the real environment."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    path = Path(env_file) if env_file else cwd / ".env"
    if not path.is_absolute():
        path = cwd / path
    if not path.is_file():
        if env_file:
            raise ConfigError(f"--env-file: {env_file!r} is not a readable file")
        return {}
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--env-file: cannot read {str(path)!r}: {exc}") from None
    for binding in parse_stream(io.StringIO(content)):
        if binding.error:
            # The line itself is not shown: it may hold a secret.
            raise ConfigError(
                f"{dotenv_origin(env_file)} line {binding.original.line}: cannot parse it; "
                "expected NAME=value, a comment or an empty line"
            )
    loaded = dotenv_values(stream=io.StringIO(content))
    return {k: v for k, v in loaded.items() if v is not None}


def _apply_toml(doc: Mapping[str, Any], origin: str, values: dict[str, _Value], structured: dict[str, _Value]) -> None:
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
    names = sorted({k[len(prefix) :].split(".")[0] for k in (*_BY_KEY, *_STRUCTURED) if k.startswith(prefix)})
    return ", ".join(names)


def _apply_env(env: Mapping[str, str], origin: str, values: dict[str, _Value], structured: dict[str, _Value]) -> None:
    for setting in _DECLARED:
        for name in setting.env:
            if name in env:
                values[setting.key] = _Value(env[name], origin, name, True)
                break
    by_status = {
        _DELAY_ALIASES.get(name[6:], name[6:]): _Value(raw, origin, name, True)
        for name, raw in env.items()
        if name.startswith("DELAY_")
    }
    if by_status:
        previous = structured.get("env.delays")
        merged = dict(previous.raw) if previous else {}
        merged.update(by_status)
        structured["env.delays"] = _Value(merged, origin, "DELAY_*", True)


def _parse(setting: Declaration, value: _Value) -> Any:
    return _checked(setting.parse, value, secret=setting.secret)


def _checked(parse: Parser[Any], value: _Value, *, secret: bool = False) -> Any:
    try:
        return parse(value.raw, value.text)
    except ValueError as exc:
        shown = "'***'" if secret else repr(value.raw)
        raise ConfigError(f"{value.name} = {shown} ({value.origin}): expected {exc}") from None


def _build(
    parsed: dict[str, Any], values: Mapping[str, _Value], structured: Mapping[str, _Value], source: str
) -> Settings:
    statuses = _statuses(structured.get("statuses"), structured.get("env.delays"))
    workflows = _workflows(structured.get("workflows"), statuses)
    phases = _phases(structured.get("phases"), workflows, statuses)
    _cross_field(parsed, values, statuses, phases)
    tables: dict[str, dict[str, Any]] = {name: {} for name in sections()}
    top: dict[str, Any] = {}
    for d in _DECLARED:
        value = Secret(parsed[d.key]) if d.secret else parsed[d.key]
        table, _, _ = d.key.rpartition(".")
        (tables[table] if table else top)[d.attr] = value
    tables["run"]["sink_is_default"] = parsed["run.sink_is_default"]
    tables["kafka"]["config"] = _kafka_config(structured.get("kafka.config"))
    for name, default in (("late_delay", DEFAULT_LATE_DELAY), ("duplicate_delay", DEFAULT_DUPLICATE_DELAY)):
        given = structured.get(f"anomalies.{name}")
        tables["anomalies"][name] = _delay(f"anomalies.{name}", given.raw, given) if given else default
    return Settings(
        **{name: kind(**tables[name]) for name, kind in sections().items()},
        **top,
        statuses=MappingProxyType(statuses),
        workflows=workflows,
        plugins=_plugins(structured.get("plugins")),
        phases=phases,
        source=source,
    )


def _given(values: Mapping[str, _Value], key: str) -> str:
    """How a setting was given, for an error: ``NUM_WORKERS = '0' (environment)``."""
    value = values[key]
    return f"{value.name} = {value.raw!r} ({value.origin})"


def _cross_field(
    parsed: dict[str, Any], values: Mapping[str, _Value], statuses: Mapping[str, Status], phases: tuple[Phase, ...]
) -> None:
    """Every check and default that involves more than one setting, in one place."""
    parsed["run.sink_is_default"] = not parsed["run.sink"]
    if not parsed["run.sink"]:
        parsed["run.sink"] = "kafka" if parsed["kafka.bootstrap_servers"] else "file"
    if parsed["run.mode"] == "continuous" or parsed["run.payments"] == 0:
        parsed["run.mode"], parsed["run.payments"] = "continuous", 0
    parsed["engine.batch_size"] = parsed["engine.batch_size"] or profile(parsed["run.clock"]).batch_size
    parsed["file.dir"] = parsed["file.dir"] or "."
    if parsed["run.instance_index"] >= parsed["run.instance_count"]:
        raise ConfigError(
            f"{_given(values, 'run.instance_index')}: expected a whole number below "
            f"run.instance_count ({parsed['run.instance_count']})"
        )
    if parsed["run.sink"] == "kafka" and not parsed["kafka.bootstrap_servers"]:
        raise ConfigError(
            "run.sink = 'kafka' needs kafka.bootstrap_servers (KAFKA_BOOTSTRAP_SERVERS), e.g. localhost:9092"
        )
    if any(s.topic == parsed["entities.banks_topic"] for s in statuses.values()):
        raise ConfigError(f"{_given(values, 'entities.banks_topic')}: expected a topic no status uses")
    # A rate that changes over time is a multiple of the run's: a run paced by workers has none.
    if not parsed["run.rate"]:
        if parsed["run.arrival_curve"]:
            raise ConfigError(f"{_given(values, 'run.arrival_curve')}: expected a run.rate > 0 for it to multiply")
        for phase in phases:
            if phase.rate is not None or phase.rate_end is not None:
                raise ConfigError(
                    f"phases ({phase.name!r}).rate is set but run.rate = 0; expected a run.rate > 0 "
                    "(outside phases the run's rate applies)"
                )


def _statuses(table: _Value | None, env_delays: _Value | None) -> dict[str, Status]:
    specs: dict[str, dict[str, Any]] = {
        name: {"delay_ms": delay, "partitions": parts} for name, delay, parts in DEFAULT_STATUSES
    }
    if table is not None:
        if not isinstance(table.raw, dict):
            raise ConfigError(f"statuses ({table.origin}): expected a table of statuses")
        for name, spec in table.raw.items():
            if not isinstance(spec, dict):
                raise ConfigError(f"statuses.{name} ({table.origin}): expected a table such as {{ delay_ms = 100 }}")
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
            if upper not in by_upper:
                raise ConfigError(
                    f"{value.name} ({value.origin}): there is no status {upper!r}; expected DELAY_ and one of "
                    f"{', '.join(name.upper() for name in specs)}"
                )
            # A fixed delay from the environment replaces a distribution from the file.
            specs[by_upper[upper]].pop("delay", None)
            specs[by_upper[upper]]["delay_ms"] = _Value(value.raw, value.origin, value.name, True)

    statuses: dict[str, Status] = {}
    topics: set[str] = set()
    for name, spec in specs.items():
        if not name or not name.replace("_", "").isalnum():
            raise ConfigError(f"statuses.{name!r}: expected a status name of letters, digits and _")
        drawn: delays.Delay | None = None
        if "delay" in spec:  # a fixed distribution is a delay_ms by another name
            drawn = _delay(f"statuses.{name}.delay", spec["delay"], table)
            delay = int(drawn.params[0]) if drawn.fixed else int(drawn.quantile(0.5) + 0.5)
            if drawn.fixed:
                drawn = None
        else:
            delay = _field(f"statuses.{name}.delay_ms", spec.get("delay_ms"), DELAY_MS, table)
        parts = _field(f"statuses.{name}.partitions", spec.get("partitions", 1), PARTITIONS, table)
        topic = _field(f"statuses.{name}.topic", spec.get("topic", f"payment-{name.lower()}"), parsers.topic, table)
        if topic in topics:
            raise ConfigError(f"statuses.{name}.topic = {topic!r}: expected a topic name no other status uses")
        topics.add(topic)
        statuses[name] = Status(name=name, delay_ms=delay, topic=topic, partitions=parts, delay=drawn)
    return statuses


def _field(key: str, raw: Any, parse: Parser[Any], table: _Value | None) -> Any:
    value = raw if isinstance(raw, _Value) else _Value(raw, table.origin if table else "default", key, False)
    if value.raw is None:
        raise ConfigError(f"{key} ({value.origin}): missing; expected a value")
    return _checked(parse, value)


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
                    f"{where}.steps: unknown status {name!r} ({table.origin}); accepted: {', '.join(statuses)}"
                )
        if len(set(steps)) != len(steps):
            raise ConfigError(f"{where}.steps = {steps!r} ({table.origin}): expected each status at most once")
        weight = _field(f"{where}.weight", spec.get("weight", 1), WEIGHT, table)
        name = _field(f"{where}.name", spec.get("name", ""), parsers.text, table)
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
        raise ConfigError(
            f'{key} = {raw!r} ({origin}): expected a table such as {{ dist = "lognormal", '
            "median_ms = 800, p99_ms = 5000 }"
        )
    dist = raw.get("dist")
    if not isinstance(dist, str) or dist not in delays.PARAMETERS:
        raise ConfigError(f"{key}.dist = {dist!r} ({origin}): expected one of {kinds}")
    names = delays.PARAMETERS[dist]
    unknown = set(raw) - {"dist", *names}
    if unknown:
        raise ConfigError(
            f"{origin}: unknown setting '{key}.{sorted(unknown)[0]}' for dist = {dist!r}; "
            f"accepted here: dist, {', '.join(names)}"
        )
    values = {name: _field(f"{key}.{name}", raw.get(name), DELAY_PARAMETER_MS, table) for name in names}
    problem = delays.check(dist, values)
    if problem:
        bad = problem.split()[0]
        raise ConfigError(f"{key}.{bad} = {values[bad]:g} ({origin}): expected {problem}")
    return delays.Delay(dist, tuple(values[name] for name in names))


_PHASE_KEYS = ("name", "at_s", "duration_s", "rate", "rate_end", "weights", "delay_scale", "anomalies")


def _phases(table: _Value | None, workflows: tuple[Workflow, ...], statuses: Mapping[str, Status]) -> tuple[Phase, ...]:
    """``[[phases]]``: the timeline, sorted by start; overlapping phases are an error."""
    if table is None:
        return ()
    if not isinstance(table.raw, list):
        raise ConfigError(f"phases ({table.origin}): expected [[phases]] tables")
    phases: list[Phase] = []
    for i, spec in enumerate(table.raw):
        phases.append(_phase(i, spec, table, phases, workflows, statuses))
    ordered = sorted(phases, key=lambda p: p.at_s)
    for before, after in itertools.pairwise(ordered):
        if before.at_s + before.duration_s > after.at_s:
            raise ConfigError(
                f"phases ({table.origin}): {before.name!r} (at_s {before.at_s:g} for {before.duration_s:g} s) "
                f"overlaps {after.name!r} (at_s {after.at_s:g}); expected phases one after another"
            )
    return tuple(ordered)


def _phase(
    i: int,
    spec: Any,
    table: _Value,
    earlier: list[Phase],
    workflows: tuple[Workflow, ...],
    statuses: Mapping[str, Status],
) -> Phase:
    where = f"phases[{i}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} ({table.origin}): expected a table with name, at_s and duration_s")
    unknown = set(spec) - set(_PHASE_KEYS)
    if unknown:
        raise ConfigError(
            f"{table.origin}: unknown setting '{where}.{sorted(unknown)[0]}'; accepted here: {', '.join(_PHASE_KEYS)}"
        )
    name = _field(f"{where}.name", spec.get("name"), parsers.text, table)
    if not name or any(p.name == name for p in earlier):
        raise ConfigError(f"{where}.name = {name!r} ({table.origin}): expected a name no other phase has")
    where = f"phases[{i}] ({name!r})"
    optional = {
        key: _field(f"{where}.{key}", spec[key], PHASE_RATE, table) for key in ("rate", "rate_end") if key in spec
    }
    phase = Phase(
        name=name,
        at_s=_field(f"{where}.at_s", spec.get("at_s"), PHASE_SECONDS, table),
        duration_s=_field(f"{where}.duration_s", spec.get("duration_s"), PHASE_DURATION_S, table),
        rate=optional.get("rate"),
        rate_end=optional.get("rate_end"),
        weights=_phase_table(
            f"{where}.weights", spec.get("weights"), [wf.name for wf in workflows], WEIGHT, table, "2"
        ),
        delay_scale=_phase_table(
            f"{where}.delay_scale", spec.get("delay_scale"), list(statuses), DELAY_SCALE, table, "2"
        ),
        anomalies=_phase_table(f"{where}.anomalies", spec.get("anomalies"), list(KINDS), PROBABILITY, table, "0.05"),
    )
    if phase.weights and not sum(phase.weights.get(wf.name, wf.weight) for wf in workflows):
        raise ConfigError(f"{where}.weights ({table.origin}): the weights sum to 0; expected at least one >= 1")
    return phase


def _phase_table(
    key: str, raw: Any, names: list[str], parse: Parser[Any], table: _Value, example: str
) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{key} = {raw!r} ({table.origin}): expected a table such as {{ {names[0]!r} = {example} }}")
    for name in raw:
        if name not in names:
            raise ConfigError(f"{key}: {name!r} ({table.origin}) names nothing; accepted: {', '.join(names)}")
    return MappingProxyType({name: _field(f"{key}.{name}", value, parse, table) for name, value in raw.items()})


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
            return {f: plain(getattr(obj, f)) for f in obj.__dataclass_fields__}
        return obj

    described: dict[str, Any] = plain(settings)
    described["kafka"]["config"] = {k: ("***" if _looks_secret(k) else v) for k, v in settings.kafka.config.items()}
    return described


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in ("password", "secret", "key.pem", "token", "oauthbearer.config"))


def env_names() -> dict[str, tuple[str, ...]]:
    """Every setting's environment names, canonical first (for the tests and the deployment checks)."""
    return {d.key: d.env for d in _DECLARED}


__all__ = ["FLAGS", "ConfigError", "describe", "env_names", "load"]
