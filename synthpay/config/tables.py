"""The tables and arrays that each have a parser of their own.

``[statuses]`` (and the ``DELAY_<STATUS>`` variables), ``[[workflows]]``, ``[[phases]]``,
delay tables, ``plugins`` and ``[kafka.config]``: each raw value as a layer gave it in, a
typed value out, or a :class:`ConfigError` that names the entry at fault.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

from synthpay.config import parsers
from synthpay.config.errors import ConfigError, Given, checked, did_you_mean, quoted
from synthpay.config.parsers import Parser
from synthpay.config.settings import (
    DEFAULT_STATUSES,
    DEFAULT_WORKFLOWS,
    DELAY_MS,
    DELAY_PARAMETER_MS,
    DELAY_SCALE,
    MAX_PHASES,
    PARTITIONS,
    PHASE_DURATION_S,
    PHASE_RATE,
    PHASE_SECONDS,
    PROBABILITY,
    WEIGHT,
)
from synthpay.model import delays
from synthpay.model.anomalies import KINDS
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Status, Workflow

T = TypeVar("T")

#: A status's default topic is ``payment-<name lowered>``, which must be a topic name.
_STATUS_NAME_MAX = parsers.TOPIC_MAX - len("payment-")
#: Longer than any librdkafka property or Kafka topic config name.
_PROPERTY_NAME_MAX = 100
_PHASE_KEYS = ("name", "at_s", "duration_s", "rate", "rate_end", "weights", "delay_scale", "anomalies")


def as_table(raw: object) -> dict[str, object] | None:
    """``raw`` when it is a table (TOML keys are always strings), else None."""
    if not isinstance(raw, dict):
        return None
    table: dict[str, object] = raw
    return table


def as_array(raw: object) -> list[object] | None:
    """``raw`` when it is an array, else None."""
    if not isinstance(raw, list):
        return None
    array: list[object] = raw
    return array


def status_specs(layers: Sequence[Given], env_delays: Mapping[str, Given]) -> dict[str, dict[str, Given]]:
    """``[statuses]`` over the defaults, each layer's over the ones before it entry by entry, then
    ``DELAY_<STATUS>`` (by upper-case name) over all of them: each status's fields, not yet checked.

    Each field keeps the layer that gave it, so an error names the file its value came from.
    """
    specs: dict[str, dict[str, Given]] = {
        name: {
            "delay_ms": Given(delay, "default", f"statuses.{name}.delay_ms", False),
            "partitions": Given(parts, "default", f"statuses.{name}.partitions", False),
        }
        for name, delay, parts in DEFAULT_STATUSES
    }
    defined_in: dict[str, str] = {}  # the file that added each status the defaults do not have
    for table in layers:
        _merge_status_table(specs, defined_in, table)
    by_upper = {name.upper(): name for name in specs}
    for upper, value in env_delays.items():
        if upper not in by_upper:
            raise ConfigError(
                f"{value.name} ({value.origin}): there is no status {quoted(upper)}; expected DELAY_ and one of "
                f"{', '.join(name.upper() for name in specs)}"
            )
        # A fixed delay from the environment replaces a distribution from the file.
        specs[by_upper[upper]].pop("delay", None)
        specs[by_upper[upper]]["delay_ms"] = value
    for name, spec in specs.items():
        spec.setdefault("partitions", Given(1, "default", f"statuses.{name}.partitions", False))
        spec.setdefault("topic", Given(f"payment-{name.lower()}", "default", f"statuses.{name}.topic", False))
        if "delay" not in spec:
            # A status added without a delay: "missing" names the file that added it.
            spec.setdefault(
                "delay_ms", Given(None, defined_in.get(name, "default"), f"statuses.{name}.delay_ms", False)
            )
    return specs


def statuses(specs: Mapping[str, Mapping[str, Given]]) -> dict[str, Status]:
    """Each status of :func:`status_specs`, checked."""
    built: dict[str, Status] = {}
    for name, spec in specs.items():
        status = _status(name, spec)
        if any(other.topic == status.topic for other in built.values()):
            raise ConfigError(
                f"statuses.{name}.topic = {quoted(status.topic)}: expected a topic name no other status uses"
            )
        built[name] = status
    return built


def check_statuses_used(layers: Sequence[Given], workflows: Sequence[Workflow]) -> None:
    """A status a ``[statuses]`` table adds that no workflow steps through is an error.

    Such a status only makes an empty topic (or file), and is almost always a misspelt
    status, whose settings then silently apply to nothing. The original's statuses stay
    allowed unused, as they always were: a configuration with workflows of its own need not
    use them all. A phase picks among the workflows, so a status is used only by being a step.
    """
    used = list(dict.fromkeys(name for workflow in workflows for name in workflow.steps))
    defaults = {name for name, _, _ in DEFAULT_STATUSES}
    for table in layers:
        for name in as_table(table.raw) or ():
            if name in defaults or name in used:
                continue
            close = did_you_mean(name, used)
            guess = f"did you mean {quoted(close)}? " if close else ""
            raise ConfigError(
                f"statuses.{name} ({table.origin}): no workflow steps through this status; {guess}"
                f"expected one of the statuses [[workflows]] use ({', '.join(used)}), or a workflow using it"
            )


def _merge_status_table(specs: dict[str, dict[str, Given]], defined_in: dict[str, str], table: Given) -> None:
    given = as_table(table.raw)
    if given is None:
        raise ConfigError(f"statuses ({table.origin}): expected a table of statuses")
    for name, raw in given.items():
        # First: every later line names the status, and must stay a line.
        if not 1 <= len(name) <= _STATUS_NAME_MAX or not name.replace("_", "").isalnum():
            raise ConfigError(
                f"statuses.{quoted(name)}: expected a status name of 1 to {_STATUS_NAME_MAX} letters, digits and _"
            )
        spec = as_table(raw)
        if spec is None:
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
        if name not in specs:
            defined_in[name] = table.origin
        merged = specs.setdefault(name, {})
        # delay and delay_ms are one setting spelled two ways: the later layer's spelling wins.
        for key, other in (("delay", "delay_ms"), ("delay_ms", "delay")):
            if key in spec:
                merged.pop(other, None)
        merged.update({key: Given(value, table.origin, f"statuses.{name}.{key}", False) for key, value in spec.items()})


def _status(name: str, spec: Mapping[str, Given]) -> Status:
    drawn: delays.Delay | None = None
    if "delay" in spec:  # a fixed distribution is a delay_ms by another name
        drawn = delay(f"statuses.{name}.delay", spec["delay"].raw, spec["delay"])
        delay_ms = int(drawn.params[0]) if drawn.fixed else int(drawn.quantile(0.5) + 0.5)
        if drawn.fixed:
            drawn = None
    else:
        delay_ms = _field(f"statuses.{name}.delay_ms", spec["delay_ms"], DELAY_MS, None)
    parts = _field(f"statuses.{name}.partitions", spec["partitions"], PARTITIONS, None)
    topic = _field(f"statuses.{name}.topic", spec["topic"], parsers.topic, None)
    return Status(name=name, delay_ms=delay_ms, topic=topic, partitions=parts, delay=drawn)


def _field(key: str, raw: object, parse: Parser[T], table: Given | None) -> T:
    """One entry of a table; ``raw`` is a :class:`Given` when a layer of its own set it."""
    value = raw if isinstance(raw, Given) else Given(raw, table.origin if table else "default", key, False)
    if value.raw is None:
        raise ConfigError(f"{key} ({value.origin}): missing; expected a value")
    return checked(parse, value)


def workflows(table: Given | None, known: Mapping[str, Status]) -> tuple[Workflow, ...]:
    """``[[workflows]]``: steps through ``known`` statuses, each with a weight and an optional name."""
    if table is None:
        return tuple(Workflow(steps, weight) for steps, weight in DEFAULT_WORKFLOWS)
    specs = as_array(table.raw)
    if not specs:
        raise ConfigError(f"workflows ({table.origin}): expected one or more [[workflows]] tables")
    built: list[Workflow] = []
    for i, spec in enumerate(specs):
        workflow = _workflow(f"workflows[{i}]", spec, table, known)
        if any(wf.name == workflow.name for wf in built):
            raise ConfigError(
                f"workflows[{i}].name = {quoted(workflow.name)} ({table.origin}): expected a name no other workflow has"
            )
        built.append(workflow)
    if sum(wf.weight for wf in built) == 0:
        raise ConfigError(f"workflows ({table.origin}): the weights sum to 0; expected at least one weight >= 1")
    return tuple(built)


def _workflow(where: str, raw: object, table: Given, known: Mapping[str, Status]) -> Workflow:
    spec = as_table(raw)
    if spec is None:
        raise ConfigError(f"{where} ({table.origin}): expected a table with steps and weight")
    unknown = set(spec) - {"steps", "weight", "name", "delays"}
    if unknown:
        raise ConfigError(
            f"{table.origin}: unknown setting '{where}.{sorted(unknown)[0]}'; "
            "accepted here: delays, name, steps, weight"
        )
    steps = _strings(spec.get("steps"))
    if not steps:
        raise ConfigError(
            f"{where}.steps = {quoted(spec.get('steps'))} ({table.origin}): expected a non-empty list of status names"
        )
    for name in steps:
        if name not in known:
            raise ConfigError(
                f"{where}.steps: unknown status {quoted(name)} ({table.origin}); accepted: {', '.join(known)}"
            )
    if len(set(steps)) != len(steps):
        raise ConfigError(f"{where}.steps = {quoted(list(steps))} ({table.origin}): expected each status at most once")
    weight = _field(f"{where}.weight", spec.get("weight", 1), WEIGHT, table)
    name = _field(f"{where}.name", spec.get("name", ""), parsers.text, table)
    if "delays" not in spec:
        return Workflow(steps, weight, name)
    return Workflow(steps, weight, name, _workflow_delays(f"{where}.delays", spec["delays"], steps, table))


def _workflow_delays(key: str, raw: object, steps: tuple[str, ...], table: Given) -> Mapping[str, delays.Delay]:
    """A workflow's own delays: ``{ <status> = <ms> or { dist = ..., ... } }``, each status one of its steps."""
    given = as_table(raw)
    if given is None:
        raise ConfigError(
            f"{key} = {quoted(raw)} ({table.origin}): expected a table such as "
            f'{{ {steps[-1]} = {{ dist = "lognormal", median_ms = 800, p99_ms = 5000 }} }}'
        )
    own: dict[str, delays.Delay] = {}
    for status, spec in given.items():
        if status not in steps:
            raise ConfigError(
                f"{key}.{quoted(status)} ({table.origin}): the workflow has no status {quoted(status)}; "
                f"expected one of its steps: {', '.join(steps)}"
            )
        if isinstance(spec, dict):
            drawn = delay(f"{key}.{status}", spec, table)
            # A fixed delay is a delay in ms by another name, as in [statuses].
            own[status] = delays.fixed(int(drawn.params[0])) if drawn.fixed else drawn
        else:
            own[status] = delays.fixed(_field(f"{key}.{status}", spec, DELAY_MS, table))
    return MappingProxyType(own)


def _strings(raw: object) -> tuple[str, ...] | None:
    """``raw`` when it is an array of strings, else None."""
    items = as_array(raw)
    if items is None:
        return None
    strings = tuple(item for item in items if isinstance(item, str))
    return strings if len(strings) == len(items) else None


def delay(
    key: str,
    raw: object,
    table: Given | None,
    names: Mapping[str, tuple[str, ...]] = delays.PARAMETERS,
    parse: Parser[float] = DELAY_PARAMETER_MS,
) -> delays.Delay:
    """A ``delay = { dist = ..., ... }`` table, its parameters spelled ``names`` and each read by ``parse``."""
    origin = table.origin if table else "default"
    kinds = ", ".join(names)
    spec = as_table(raw)
    if spec is None:
        example = ", ".join(f"{name} = {value}" for name, value in zip(names["lognormal"], (800, 5000)))
        raise ConfigError(
            f'{key} = {quoted(raw)} ({origin}): expected a table such as {{ dist = "lognormal", {example} }}'
        )
    dist = spec.get("dist")
    if not isinstance(dist, str) or dist not in names:
        raise ConfigError(f"{key}.dist = {quoted(dist)} ({origin}): expected one of {kinds}")
    params = names[dist]
    unknown = set(spec) - {"dist", *params}
    if unknown:
        raise ConfigError(
            f"{origin}: unknown setting '{key}.{sorted(unknown)[0]}' for dist = {quoted(dist)}; "
            f"accepted here: dist, {', '.join(params)}"
        )
    values = {name: _field(f"{key}.{name}", spec.get(name), parse, table) for name in params}
    problem = delays.check(dist, values, names)
    if problem:
        bad = problem.split()[0]
        raise ConfigError(f"{key}.{bad} = {values[bad]:g} ({origin}): expected {problem}")
    return delays.Delay(dist, tuple(values[name] for name in params))


def phases(table: Given | None, workflows: tuple[Workflow, ...], statuses: Mapping[str, Status]) -> tuple[Phase, ...]:
    """``[[phases]]``: the timeline, sorted by start; overlapping phases are an error."""
    if table is None:
        return ()
    specs = as_array(table.raw)
    if specs is None:
        raise ConfigError(f"phases ({table.origin}): expected [[phases]] tables")
    if len(specs) > MAX_PHASES:
        raise ConfigError(f"phases ({table.origin}): {len(specs):,} [[phases]]; expected at most {MAX_PHASES:,}")
    built: list[Phase] = []
    for i, spec in enumerate(specs):
        built.append(_phase(i, spec, table, built, workflows, statuses))
    ordered = sorted(built, key=lambda p: p.at_s)
    for before, after in itertools.pairwise(ordered):
        if before.at_s + before.duration_s > after.at_s:
            raise ConfigError(
                f"phases ({table.origin}): {quoted(before.name)} (at_s {before.at_s:g} for {before.duration_s:g} s) "
                f"overlaps {quoted(after.name)} (at_s {after.at_s:g}); expected phases one after another"
            )
    return tuple(ordered)


def _phase(
    i: int,
    raw: object,
    table: Given,
    earlier: list[Phase],
    workflows: tuple[Workflow, ...],
    statuses: Mapping[str, Status],
) -> Phase:
    where = f"phases[{i}]"
    spec = as_table(raw)
    if spec is None:
        raise ConfigError(f"{where} ({table.origin}): expected a table with name, at_s and duration_s")
    unknown = set(spec) - set(_PHASE_KEYS)
    if unknown:
        raise ConfigError(
            f"{table.origin}: unknown setting '{where}.{sorted(unknown)[0]}'; accepted here: {', '.join(_PHASE_KEYS)}"
        )
    name = _field(f"{where}.name", spec.get("name"), parsers.text, table)
    if not name or any(p.name == name for p in earlier):
        raise ConfigError(f"{where}.name = {quoted(name)} ({table.origin}): expected a name no other phase has")
    where = f"phases[{i}] ({quoted(name)})"
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
    key: str, raw: object, names: list[str], parse: Parser[T], table: Given, example: str
) -> Mapping[str, T] | None:
    if raw is None:
        return None
    given = as_table(raw)
    if given is None:
        raise ConfigError(
            f"{key} = {quoted(raw)} ({table.origin}): expected a table such as {{ {quoted(names[0])} = {example} }}"
        )
    for name in given:
        if name not in names:
            raise ConfigError(f"{key}: {quoted(name)} ({table.origin}) names nothing; accepted: {', '.join(names)}")
    return MappingProxyType({name: _field(f"{key}.{name}", value, parse, table) for name, value in given.items()})


def plugins(table: Given | None) -> tuple[str, ...]:
    """``plugins``: the 'package.module:attribute' paths, not yet imported."""
    if table is None:
        return ()
    paths = _strings(table.raw)
    if paths is None:
        raise ConfigError(
            f"plugins = {quoted(table.raw)} ({table.origin}): expected a list of 'package.module:attribute' strings"
        )
    return paths


def kafka_config(
    layers: Sequence[Given], key: str = "kafka.config", what: str = "librdkafka settings"
) -> Mapping[str, str]:
    """``[kafka.config]`` (librdkafka settings) or ``[kafka.topic_config]``: each value as the string Kafka takes.

    Each layer's table goes over the ones before it, entry by entry.
    """
    out: dict[str, str] = {}
    for table in layers:
        given = as_table(table.raw)
        if given is None:
            raise ConfigError(f"{key} ({table.origin}): expected a table of {what}")
        for name, raw in given.items():
            if len(name) > _PROPERTY_NAME_MAX:  # no such property; the lines naming it must stay lines
                raise ConfigError(
                    f"{key}.{quoted(name)} ({table.origin}): expected a property name of at most "
                    f"{_PROPERTY_NAME_MAX} characters"
                )
            if isinstance(raw, bool):
                out[name] = "true" if raw else "false"
            elif isinstance(raw, (int, float, str)):
                out[name] = str(raw)
            else:
                raise ConfigError(f"{key}.{name} ({table.origin}): expected a string, number or boolean")
    return MappingProxyType(out)
