"""Every default and check that involves more than one setting, in one place.

They run on the built, typed :class:`Settings`; ``given`` is only there to quote a value
back to the user as a layer gave it, so an error line names the setting where it was set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import PurePath
from types import MappingProxyType

from synthpay.config.clocks import profile
from synthpay.config.errors import ConfigError, Given
from synthpay.config.parsers import TOPIC_MAX
from synthpay.config.settings import Clock, Settings, declarations

_DEFAULT_PAYMENTS = next(d.default for d in declarations() if d.key == "run.payments")


def apply(settings: Settings, given: Mapping[str, Given]) -> Settings:
    """``settings`` with the defaults that depend on other settings filled in, once every check passed.

    ``engine.batch_size`` left at 0 takes the clock's (:mod:`synthpay.config.clocks`);
    ``kafka.topic_prefix`` goes before every topic name, so whatever reads a topic from the
    settings (sinks, registry subjects, the summary's plan and so verify) sees the final name.
    """
    completed = _defaults(_backfill(settings, given))
    _check_instances(completed, given)
    _check_sink(completed)
    _check_topics(completed, given)
    _check_rates(completed, given)
    return completed


def _backfill(settings: Settings, given: Mapping[str, Given]) -> Settings:
    """A backfill runs under the virtual clock and, in batch mode, covers the whole span it names.

    ``run.start`` and ``run.clock = "real"`` say otherwise about where the event time
    begins: set in a later layer than the backfill (``--scenario flash-sale --clock
    real``) they win, as any later layer does; set in the same layer they conflict. A batch
    backfill ends starting payments at now (unless ``run.duration`` says otherwise) and is
    not capped by ``run.payments`` at its default (the shipped config.toml spells the
    default out, so the value tells, not the layer), only by another count.
    """
    run = settings.run
    if not run.backfill_s:
        return settings
    backfill = given["run.backfill"]
    files = settings.source.split(os.pathsep) if settings.source else []
    if run.start_ms is not None:
        why = "(a backfill ends now; --start fixes where the event time begins)"
        if _later(given["run.start"], backfill, files, why):
            return replace(settings, run=replace(run, backfill_s=0.0, clock=_clock_for_start(run.clock, given)))
        run = replace(run, start_ms=None)
    if run.clock == "real" and _later(given["run.clock"], backfill, files, "(a backfill runs under the virtual clock)"):
        return replace(settings, run=replace(run, backfill_s=0.0))
    batch = run.mode == "batch" and run.payments != 0
    return replace(
        settings,
        run=replace(
            run,
            clock="virtual",
            duration_s=run.duration_s or (run.backfill_s if batch else 0.0),
            payments=0 if batch and run.payments == _DEFAULT_PAYMENTS else run.payments,
        ),
    )


def _clock_for_start(clock: Clock, given: Mapping[str, Given]) -> Clock:
    """A start that overrides a backfill keeps its virtual clock, unless a clock was given."""
    return clock if given["run.clock"].origin != "default" else "virtual"


#: How layers rank, lowest first; configuration files (then a scenario) rank between 1 and 2, in their order.
_RANKS = {"default": 0.0, "environment": 3.0, "command line": 4.0}


def _rank(value: Given, files: list[str]) -> float:
    """The layer ``value`` came from, as a number; ``files`` are the configuration files read, in order."""
    if value.origin in _RANKS:
        return _RANKS[value.origin]
    for index, path in enumerate(files):
        # A file is named by its name, or by its path when two files share a name; a
        # scenario (the last, when there is one) as "scenario NAME (PATH)".
        if value.origin in (path, PurePath(path).name) or value.origin.endswith(f" ({path})"):
            return 1 + (index + 1) / (len(files) + 1)
    return 2.0  # the .env file


def _later(other: Given, backfill: Given, files: list[str], why: str) -> bool:
    """Whether ``other`` was given in a later layer than the backfill; in the same one they conflict."""
    if _rank(other, files) == _rank(backfill, files):
        raise ConfigError(f"{backfill} and {other}: expected one of them, not both {why}")
    return _rank(other, files) > _rank(backfill, files)


def _defaults(settings: Settings) -> Settings:
    run = settings.run
    continuous = run.mode == "continuous" or (run.payments == 0 and not run.backfill_s)
    prefix = settings.kafka.topic_prefix
    return replace(
        settings,
        statuses=MappingProxyType({name: replace(s, topic=prefix + s.topic) for name, s in settings.statuses.items()}),
        entities=replace(settings.entities, banks_topic=prefix + settings.entities.banks_topic),
        run=replace(
            run,
            sink=run.sink or ("kafka" if settings.kafka.bootstrap_servers else "file"),
            sink_is_default=not run.sink,
            mode="continuous" if continuous else run.mode,
            payments=0 if continuous else run.payments,
        ),
        engine=replace(settings.engine, batch_size=settings.engine.batch_size or profile(run.clock).batch_size),
        file=replace(settings.file, dir=settings.file.dir or "."),
    )


def _check_instances(settings: Settings, given: Mapping[str, Given]) -> None:
    if settings.run.instance_index >= settings.run.instance_count:
        raise ConfigError(
            f"{given['run.instance_index']}: expected a whole number below "
            f"run.instance_count ({settings.run.instance_count})"
        )


def _check_sink(settings: Settings) -> None:
    if settings.run.sink == "kafka" and not settings.kafka.bootstrap_servers:
        raise ConfigError(
            "run.sink = 'kafka' needs kafka.bootstrap_servers (KAFKA_BOOTSTRAP_SERVERS), e.g. localhost:9092"
        )


def _check_topics(settings: Settings, given: Mapping[str, Given]) -> None:
    # Prefixed or not, two names collide exactly when they did before the prefix.
    if any(s.topic == settings.entities.banks_topic for s in settings.statuses.values()):
        raise ConfigError(f"{given['entities.banks_topic']}: expected a topic no status uses")
    names = [settings.entities.banks_topic, *(s.topic for s in settings.statuses.values())]
    if settings.ground_truth_topic in names:
        taken = "entities.banks_topic" if settings.ground_truth_topic == names[0] else "statuses.*.topic"
        raise ConfigError(
            f"{taken} = {settings.ground_truth_topic!r}: expected a topic other than the ground truth's "
            "of a run with anomalies"
        )
    longest = max(names, key=len)
    if len(longest) > TOPIC_MAX:
        raise ConfigError(
            f"{given['kafka.topic_prefix']}: expected a prefix that keeps every topic name within "
            f"{TOPIC_MAX} characters; it makes {longest[:40]!r}... {len(longest)} long"
        )


def _check_rates(settings: Settings, given: Mapping[str, Given]) -> None:
    # A rate that changes over time is a multiple of the run's: a run paced by workers has none.
    if settings.run.rate:
        return
    if settings.run.arrival_curve:
        raise ConfigError(f"{given['run.arrival_curve']}: expected a run.rate > 0 for it to multiply")
    for phase in settings.phases:
        if phase.rate is not None or phase.rate_end is not None:
            raise ConfigError(
                f"phases ({phase.name!r}).rate is set but run.rate = 0; expected a run.rate > 0 "
                "(outside phases the run's rate applies)"
            )
