"""The effective configuration as config.toml would write it: what ``synthpay validate`` prints.

Every setting is under its TOML key (``run.start``, not the field ``start_ms``), in the form
its parser reads (an ISO time, a duration such as ``1h30m``, a delay as its
``{ dist = ..., median_ms = ... }`` table; statuses, workflows and phases as their tables),
and as it takes effect: the sink and batch size the rules chose, the security protocol
used, topic names with their prefix. Secrets, and [kafka.config] entries that look like
one, are shown as ``***``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

from synthpay.config.settings import Declaration, Settings, declarations
from synthpay.model.delays import Delay
from synthpay.model.timeline import Phase
from synthpay.model.workflow import Status, Workflow

#: JSON-ready data.
Plain = str | int | float | bool | None | list["Plain"] | dict[str, "Plain"]


def describe(settings: Settings) -> dict[str, Plain]:
    """Every setting by TOML key, as written, secrets masked."""
    shown: dict[str, Plain] = {}
    for declared in declarations():
        _put(shown, declared.key, _scalar(settings, declared))
    kafka, anomalies = settings.kafka, settings.anomalies
    _put(shown, "kafka.config", {k: "***" if _looks_secret(k) else v for k, v in kafka.config.items()})
    _put(shown, "kafka.topic_config", dict(kafka.topic_config))
    _put(shown, "anomalies.late_delay", _delay(anomalies.late_delay))
    _put(shown, "anomalies.duplicate_delay", _delay(anomalies.duplicate_delay))
    shown["statuses"] = {name: _status(status) for name, status in settings.statuses.items()}
    shown["workflows"] = [_workflow(wf) for wf in settings.workflows]
    shown["plugins"] = list(settings.plugins)
    shown["phases"] = [_phase(phase) for phase in settings.phases]
    return shown


def _scalar(settings: Settings, declared: Declaration) -> Plain:
    if declared.key == "kafka.security_protocol":
        return settings.kafka.protocol  # empty means "chosen for you": show the choice
    table, _, _ = declared.key.rpartition(".")
    value = getattr(getattr(settings, table) if table else settings, declared.attr)
    written = declared.parse.write(value)
    if written is None or isinstance(written, (str, int, float, list, dict)):
        return written
    raise TypeError(f"{declared.key}: no plain form for a {type(written).__name__}")


def _put(shown: dict[str, Plain], key: str, value: Plain) -> None:
    """``value`` at the dotted ``key``, in its table."""
    *tables, leaf = key.split(".")
    for name in tables:
        inner = shown.setdefault(name, {})
        if not isinstance(inner, dict):
            raise TypeError(f"{key}: {name} is a value and a table")
        shown = inner
    shown[leaf] = value


def _number(value: float) -> int | float:
    """A whole number as TOML writes one: ``400``, not ``400.0``."""
    return int(value) if value.is_integer() else value


def _delay(delay: Delay) -> dict[str, Plain]:
    return {k: _number(v) if isinstance(v, float) else v for k, v in delay.describe().items()}


def _status(status: Status) -> dict[str, Plain]:
    timing: dict[str, Plain] = {"delay": _delay(status.delay)} if status.delay else {"delay_ms": status.delay_ms}
    return {**timing, "topic": status.topic, "partitions": status.partitions}


def _workflow(workflow: Workflow) -> dict[str, Plain]:
    shown: dict[str, Plain] = {"name": workflow.name, "steps": list(workflow.steps), "weight": workflow.weight}
    if workflow.delays:  # only where it has delays of its own, as a file would say it
        shown["delays"] = {status: _delay(delay) for status, delay in workflow.delays.items()}
    return shown


def _phase(phase: Phase) -> dict[str, Plain]:
    shown: dict[str, Plain] = {}
    for f in fields(phase):
        value = getattr(phase, f.name)
        if isinstance(value, Mapping):
            shown[f.name] = dict(value)
        elif value is not None:
            shown[f.name] = value
    return shown


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in ("password", "secret", "key.pem", "token", "oauthbearer.config"))
