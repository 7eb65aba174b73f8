"""Every default and check that involves more than one setting, in one place.

They run on the built, typed :class:`Settings`; ``given`` is only there to quote a value
back to the user as a layer gave it, so an error line names the setting where it was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from synthpay.config.clocks import profile
from synthpay.config.errors import ConfigError, Given
from synthpay.config.parsers import TOPIC_MAX
from synthpay.config.settings import Settings


def apply(settings: Settings, given: Mapping[str, Given]) -> Settings:
    """``settings`` with the defaults that depend on other settings filled in, once every check passed.

    ``engine.batch_size`` left at 0 takes the clock's (:mod:`synthpay.config.clocks`);
    ``kafka.topic_prefix`` goes before every topic name, so whatever reads a topic from the
    settings (sinks, registry subjects, the summary's plan and so verify) sees the final name.
    """
    completed = _defaults(settings)
    _check_instances(completed, given)
    _check_sink(completed)
    _check_topics(completed, given)
    _check_rates(completed, given)
    return completed


def _defaults(settings: Settings) -> Settings:
    run = settings.run
    continuous = run.mode == "continuous" or run.payments == 0
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
