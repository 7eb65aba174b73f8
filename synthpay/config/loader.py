"""Loading the configuration: every layer into one validated, frozen :class:`Settings`.

Precedence, lowest first: built-in defaults < ``config.toml`` (or the ``--config`` files, each
over the ones before it) < the ``--scenario`` < ``.env`` file < environment < command-line flags. What each
setting is (default, parser, names) is declared once, in :mod:`synthpay.config.settings`;
this module only reads the layers and applies those declarations, then hands the tables to
:mod:`synthpay.config.tables` and the settings that depend on each other to
:mod:`synthpay.config.rules`. Anything wrong raises :class:`ConfigError` with one line that
names the setting, where it came from, the bad value and what is accepted. Loading runs no
plugin code (but for importing the package of a ``--scenario``, see
:mod:`synthpay.config.scenarios`): the command line resolves plugins and sinks from ``settings.plugins``."""

from __future__ import annotations

import io
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypedDict, TypeVar, Unpack

from synthpay.config import rules, scenarios, tables
from synthpay.config.errors import ConfigError, Given, checked, did_you_mean, quoted
from synthpay.config.parsers import Secret
from synthpay.config.settings import (
    DEFAULT_DUPLICATE_DELAY,
    DEFAULT_LATE_DELAY,
    NOT_SETTINGS,
    NOT_SETTINGS_PREFIXES,
    Settings,
    declarations,
    sections,
    structured_keys,
)
from synthpay.model.delays import Delay
from synthpay.model.workflow import Status

if TYPE_CHECKING:
    pass

S = TypeVar("S")

_DECLARED = declarations()
_PREFIX = "SYNTHPAY_"
_BY_KEY = {d.key: d for d in _DECLARED}
_STRUCTURED = structured_keys()
#: Spellings of DELAY_* that the original's README used for the same status.
_DELAY_ALIASES = {"CANCELLED": "CANCELED"}
#: Tables that several config files merge entry by entry; any other setting a later file replaces whole.
_MERGED = ("statuses", "kafka.config", "kafka.topic_config")
#: Nesting a TOML document may have; deeper is an error, not a RecursionError.
_MAX_TOML_DEPTH = 32

FLAGS: Mapping[str, str] = MappingProxyType({d.flag: d.key for d in _DECLARED if d.flag})


@dataclass(frozen=True, slots=True)
class _Layers:
    """What the layers gave, each value with where it came from; later layers overwrite earlier ones."""

    values: dict[str, Given]  # by dotted key: every declared setting, its default at least
    tables: dict[str, list[Given]] = field(default_factory=dict)  # by dotted key: each file's table or array
    delays: dict[str, Given] = field(default_factory=dict)  # DELAY_<STATUS> by upper-case status name


@dataclass(frozen=True, slots=True)
class Loaded:
    """The settings, and where each value came from (what ``synthpay validate`` shows besides)."""

    settings: Settings
    #: By dotted key, the layer that gave the value: "default", a config file's name, the
    #: .env file, "environment" or "command line". Every scalar setting and every table or
    #: array has one; so has each entry of a table the files merge ([statuses], [kafka.config]).
    origins: Mapping[str, str]


class Sources(TypedDict, total=False):
    """Where the layers come from: the keyword arguments of :func:`load_with_origins`."""

    config_path: str | Sequence[str] | None
    scenario: str | None
    env: Mapping[str, str] | None
    flags: Mapping[str, object] | None
    env_file: str | None
    cwd: Path | None
    read_files: bool


def load(**sources: Unpack[Sources]) -> Settings:
    """Build the settings from every layer; raise ConfigError on the first problem."""
    return load_with_origins(**sources).settings


def load_with_origins(
    *,
    config_path: str | Sequence[str] | None = None,
    scenario: str | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, object] | None = None,
    env_file: str | None = None,
    cwd: Path | None = None,
    read_files: bool = True,
) -> Loaded:
    """The settings from every layer, with where each value came from; ConfigError on the first problem.

    ``config_path`` is one TOML file or several, each layered over the ones before it (see
    :func:`_apply_toml`); without it, ``$SYNTHPAY_CONFIG`` (paths separated by ``os.pathsep``),
    else ``./config.toml`` if there is one. ``scenario`` (else ``$SYNTHPAY_SCENARIO``) names a
    scenario to layer over them all.
    """
    cwd = cwd or Path.cwd()
    environ = dict(os.environ if env is None else env)
    layers = _Layers({d.key: Given(d.default, "default", d.key, False) for d in _DECLARED})

    named = [config_path] if isinstance(config_path, str) else list(config_path or ())
    named = [name for name in named if name] or environ.get("SYNTHPAY_CONFIG", "").split(os.pathsep)
    paths = _config_files([name for name in named if name], cwd) if read_files else []
    for path, origin in paths:
        _apply_toml(_read_toml(path), origin, layers)
    chosen = _scenario(scenario, environ) if read_files else None
    if chosen is not None:
        _apply_toml(_parse_toml(chosen.text(), chosen.path.name), chosen.origin, layers)
    dotenv = _read_dotenv(env_file, cwd) if read_files else {}
    for layer_name, layer in ((dotenv_origin(env_file), dotenv), ("environment", environ)):
        _apply_env(layer, layer_name, layers)
    for key, raw in (flags or {}).items():
        if raw is not None:
            layers.values[key] = Given(raw, "command line", _BY_KEY[key].flag or key, isinstance(raw, str))

    parsed = {key: checked(_BY_KEY[key].parse, value) for key, value in layers.values.items()}
    _read_secret_files(parsed, layers.values, environ.get("CREDENTIALS_DIRECTORY"), cwd)
    specs = tables.status_specs(layers.tables.get("statuses", []), layers.delays)
    # The scenario ranks above every file (config.rules reads the layers' order from here).
    source = os.pathsep.join([*(str(path) for path, _ in paths), *([str(chosen.path)] if chosen else [])])
    built = _build(parsed, layers, tables.statuses(specs), source)
    tables.check_statuses_used(layers.tables.get("statuses", []), built.workflows)
    settings = rules.apply(built, layers.values)
    return Loaded(_with_independent_tables(settings, layers.tables), _origins(layers, specs))


def _origins(layers: _Layers, specs: Mapping[str, Mapping[str, Given]]) -> Mapping[str, str]:
    found = {key: given.origin for key, given in layers.values.items()}
    for key in _STRUCTURED:
        given = layers.tables.get(key, [])
        found[key] = given[-1].origin if given else "default"
        if key in _MERGED and key != "statuses":
            # Checked by now: each is a table.
            found.update(
                {f"{key}.{name}": table.origin for table in given for name in tables.as_table(table.raw) or ()}
            )
    found.update({f"statuses.{name}.{entry}": g.origin for name, spec in specs.items() for entry, g in spec.items()})
    return MappingProxyType(found)


def dotenv_origin(env_file: str | None) -> str:
    """How errors name the .env layer."""
    return env_file or ".env"


def _read_secret_files(
    parsed: dict[str, object], values: dict[str, Given], credentials_dir: str | None, cwd: Path
) -> None:
    """Fill each secret from its ``<key>_file`` setting when that is given.

    A relative path is resolved against ``$CREDENTIALS_DIRECTORY`` when systemd set it
    (``LoadCredential=``), else against the working directory. The secret then comes from
    the layer that named its file.
    """
    for setting in _DECLARED:
        if not setting.secret:
            continue
        file_key = setting.key + "_file"
        name = parsed[file_key]
        if not isinstance(name, str) or not name:
            continue
        if parsed[setting.key]:
            raise ConfigError(
                f"{values[setting.key].name} ({values[setting.key].origin}) and {values[file_key].name} "
                f"({values[file_key].origin}): expected one of them, not both"
            )
        parsed[setting.key] = Secret(_read_secret(name, values[file_key], Path(credentials_dir or cwd)))
        values[setting.key] = values[file_key]


def _read_secret(name: str, value: Given, base: Path) -> str:
    path = base / name  # an absolute name replaces base
    try:
        # A trailing newline comes from editors and `echo`, never from the secret itself.
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:
        reason = "not UTF-8 text"
    raise ConfigError(f"{value.name} = {quoted(name)} ({value.origin}): cannot read {quoted(str(path))}: {reason}")


def _config_files(named: Sequence[str], cwd: Path) -> list[tuple[Path, str]]:
    """Each file to read, in order, with how error lines name it: its file name, or the path as
    given when two of the files share a name."""
    if not named:
        default = cwd / "config.toml"
        return [(default, default.name)] if default.is_file() else []
    found = []
    for name in named:
        path = cwd / name  # an absolute name replaces cwd
        if not path.is_file():
            raise ConfigError(f"--config: {quoted(name)} is not a readable file")
        found.append(path)
    shared = {path.name for path in found if [p.name for p in found].count(path.name) > 1}
    return [(path, name if path.name in shared else path.name) for path, name in zip(found, named, strict=True)]


def _scenario(flag: str | None, environ: Mapping[str, str]) -> scenarios.Scenario | None:
    """The scenario ``--scenario`` (else ``SYNTHPAY_SCENARIO``) names, if one does."""
    if flag:
        return scenarios.find(flag, "--scenario")
    named = environ.get("SYNTHPAY_SCENARIO", "").strip()
    return scenarios.find(named, "SYNTHPAY_SCENARIO") if named else None


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {quoted(str(path))}: {exc.strerror}") from None
    try:
        text = content.decode()
    except UnicodeDecodeError as exc:  # tomllib decodes the whole file before parsing
        raise ConfigError(f"{path.name}: invalid TOML: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return _parse_toml(text, path.name)


def _parse_toml(text: str, name: str) -> dict[str, object]:
    """The document ``text``, which error lines call ``name``."""
    expected = f"tables or arrays nested more than {_MAX_TOML_DEPTH} deep; expected a synthpay configuration"
    try:
        doc: dict[str, object] = tomllib.loads(text)
    except RecursionError:
        # The parser gave up part way: there is no key to name.
        raise ConfigError(f"{name}: {expected}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: invalid TOML: {exc}") from None
    where = _too_deep(doc, _MAX_TOML_DEPTH)
    if where is not None:
        raise ConfigError(f"{name}: {_key_path(where)}: {expected}")
    return doc


def _too_deep(value: object, limit: int) -> list[str | int] | None:
    """The keys and indexes down to where ``value`` nests more than ``limit`` deep, or None; never looks deeper.

    Dotted keys and table headers nest without recursing in the parser, so a document can be
    far deeper than Python's recursion limit.
    """
    if limit < 1:
        return []
    table, array = tables.as_table(value), tables.as_array(value)
    children = table.items() if table is not None else enumerate(array) if array is not None else ()
    for step, child in children:
        below = _too_deep(child, limit - 1)
        if below is not None:
            return [step, *below]
    return None


#: How much of a key path an error line quotes.
_KEY_PATH_SHOWN = 80


def _key_path(steps: Sequence[str | int]) -> str:
    """``a.b[0].c`` for the keys and indexes ``steps``, cut to a readable prefix."""
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps).lstrip(".")
    return text if len(text) <= _KEY_PATH_SHOWN else f"{text[:_KEY_PATH_SHOWN]}... ({len(steps)} levels down)"


def _read_dotenv(env_file: str | None, cwd: Path) -> dict[str, str]:
    """The original reads ``.env`` from its working directory; values never override the real environment."""
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    path = Path(env_file) if env_file else cwd / ".env"
    if not path.is_absolute():
        path = cwd / path
    if not path.is_file():
        if env_file:
            raise ConfigError(f"--env-file: {quoted(env_file)} is not a readable file")
        return {}
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--env-file: cannot read {quoted(str(path))}: {exc}") from None
    for binding in parse_stream(io.StringIO(content)):
        # The line itself is never shown: it may hold a secret.
        if binding.error:
            problem = "cannot parse it"
        elif binding.key is not None and binding.value is None:
            problem = "a name without '=' sets nothing"
        else:
            continue
        # The parser counts the blank lines before a binding as part of it.
        text = binding.original.string
        line = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
        raise ConfigError(
            f"{dotenv_origin(env_file)} line {line}: {problem}; expected NAME=value, a comment or an empty line"
        )
    loaded = dotenv_values(stream=io.StringIO(content))
    return {k: v for k, v in loaded.items() if v is not None}


def _apply_toml(doc: Mapping[str, object], origin: str, layers: _Layers) -> None:
    """One file's settings over what the files before it gave.

    A setting the file gives replaces the earlier one, a whole array included (``[[phases]]``,
    ``[[workflows]]``, ``plugins``, ``arrival_curve``; a delay table is one value too). The
    tables of :data:`_MERGED` are merged entry by entry instead: a status the file names keeps
    the fields it does not give.
    """

    def walk(table: Mapping[str, object], prefix: str) -> None:
        for name, raw in table.items():
            key = f"{prefix}{name}"
            if key in _STRUCTURED:
                given = Given(raw, origin, key, False)
                layers.tables[key] = [*layers.tables.get(key, []), given] if key in _MERGED else [given]
            elif key in _BY_KEY:
                layers.values[key] = Given(raw, origin, key, False)
            elif any(k.startswith(key + ".") for k in (*_BY_KEY, *_STRUCTURED)):
                inner = tables.as_table(raw)
                if inner is None:
                    raise ConfigError(f"{origin}: {key} = {quoted(raw)}: expected a table [{key}]")
                walk(inner, key + ".")
            else:
                raise ConfigError(f"{origin}: unknown setting {quoted(key)}; accepted here: {_siblings(prefix)}")

    walk(doc, "")


def _siblings(prefix: str) -> str:
    names = sorted({k[len(prefix) :].split(".")[0] for k in (*_BY_KEY, *_STRUCTURED) if k.startswith(prefix)})
    return ", ".join(names)


def _apply_env(env: Mapping[str, str], origin: str, layers: _Layers) -> None:
    _check_variable_names(env, origin)
    for setting in _DECLARED:
        for name in setting.env:
            if name in env:
                layers.values[setting.key] = Given(env[name], origin, name, True)
                break
    for name, raw in env.items():
        if name.startswith("DELAY_"):
            layers.delays[_DELAY_ALIASES.get(name[6:], name[6:])] = Given(raw, origin, name, True)


#: The SYNTHPAY_* names of the settings, by what follows the prefix: what a misspelt one is compared with.
_OWN_VARIABLES = {name[len(_PREFIX) :]: name for d in _DECLARED for name in d.env if name.startswith(_PREFIX)}


def _check_variable_names(env: Mapping[str, str], origin: str) -> None:
    """A ``SYNTHPAY_*`` variable that is no setting's, nor one of :data:`NOT_SETTINGS`, is a typo.

    The value is never shown: it may be a secret. Other names are left alone: the
    environment is shared, and ``.env`` may hold the original generator's variables.
    """
    for name in env:
        if not name.startswith(_PREFIX) or name[len(_PREFIX) :] in _OWN_VARIABLES:
            continue
        if name in NOT_SETTINGS or name.startswith(NOT_SETTINGS_PREFIXES):
            continue
        close = did_you_mean(name[len(_PREFIX) :], _OWN_VARIABLES)
        guess = f"did you mean {_OWN_VARIABLES[close]}? " if close else ""
        raise ConfigError(
            f"{quoted(name)} ({origin}): no such setting; {guess}expected {_PREFIX}<TABLE>_<KEY> of a setting in "
            "docs/reference/configuration.md, or one of the other SYNTHPAY_ names listed there"
        )


def _build(parsed: Mapping[str, object], layers: _Layers, statuses: Mapping[str, Status], source: str) -> Settings:
    """The settings as parsed, with the tables the rules read; the other tables as if not given."""
    workflows = tables.workflows(_last(layers.tables, "workflows"), statuses)
    phases = tables.phases(_last(layers.tables, "phases"), workflows, statuses)
    by_table: dict[str, dict[str, object]] = {name: {} for name in sections()}
    top: dict[str, object] = {}
    for d in _DECLARED:
        table, _, _ = d.key.rpartition(".")
        (by_table[table] if table else top)[d.attr] = parsed[d.key]
    by_table["kafka"].update(config=tables.kafka_config([]), topic_config=tables.kafka_config([]))
    by_table["anomalies"].update(late_delay=DEFAULT_LATE_DELAY, duplicate_delay=DEFAULT_DUPLICATE_DELAY)
    return _construct(
        Settings,
        {
            **{name: _construct(kind, by_table[name]) for name, kind in sections().items()},
            **top,
            "statuses": MappingProxyType(statuses),
            "workflows": workflows,
            "plugins": tables.plugins(None),
            "phases": phases,
            "source": source,
        },
    )


def _last(given: Mapping[str, Sequence[Given]], key: str) -> Given | None:
    """What the last file to give ``key`` gave, if any did."""
    layers = given.get(key)
    return layers[-1] if layers else None


def _with_independent_tables(settings: Settings, given: Mapping[str, Sequence[Given]]) -> Settings:
    """``settings`` with ``[kafka.config]``, the anomaly delays and ``plugins`` as given.

    No rule reads these, and they are checked after the rules as they always were: of
    several problems in one configuration, the one reported first stays the same.
    """
    anomalies = settings.anomalies
    return replace(
        settings,
        kafka=replace(
            settings.kafka,
            config=tables.kafka_config(given.get("kafka.config", [])),
            topic_config=tables.kafka_config(
                given.get("kafka.topic_config", []), "kafka.topic_config", "topic configs"
            ),
        ),
        anomalies=replace(
            anomalies,
            late_delay=_anomaly_delay("late_delay", given, anomalies.late_delay),
            duplicate_delay=_anomaly_delay("duplicate_delay", given, anomalies.duplicate_delay),
        ),
        plugins=tables.plugins(_last(given, "plugins")),
    )


def _anomaly_delay(name: str, given: Mapping[str, Sequence[Given]], default: Delay) -> Delay:
    table = _last(given, f"anomalies.{name}")
    return tables.delay(f"anomalies.{name}", table.raw, table) if table else default


def _construct(kind: Callable[..., S], values: Mapping[str, object]) -> S:
    """``kind`` built from its fields' values by name.

    Each value is what the field's declared parser (or table parser) yields, and
    :func:`~synthpay.config.settings.setting` ties a field's type to its parser's: this
    keyword call is the one place that relies on it rather than on mypy.
    """
    return kind(**values)


def env_names() -> dict[str, tuple[str, ...]]:
    """Every setting's environment names, canonical first (for the tests and the deployment checks)."""
    return {d.key: d.env for d in _DECLARED}


__all__ = ["FLAGS", "ConfigError", "Loaded", "env_names", "load", "load_with_origins"]
