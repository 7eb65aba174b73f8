"""A topic's rules for record timestamps and retention, judged against the event times of a run.

Kafka stamps synthpay's records with their event time (CreateTime). Its broker refuses a
record stamped more than ``message.timestamp.after.max.ms`` ahead of its clock or more than
``message.timestamp.before.max.ms`` behind it, and deletes records whose stamp is older than
``retention.ms`` within minutes. A backfill of old history can fall foul of each. The
judging here is pure (rules, span and now in; breaches out) so it can be tested over the
whole input space; reading the rules from the cluster is the only I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from confluent_kafka.admin import AdminClient, ConfigResource  # type: ignore[attr-defined]

from synthpay.model.span import EventSpan

if TYPE_CHECKING:
    from synthpay.config.settings import Settings

#: Kafka's "no limit" for message.timestamp.before.max.ms (Long.MAX_VALUE).
_LONG_MAX = (1 << 63) - 1
_HOUR_MS = 3_600_000
#: The topic configs that decide whether a run's records are kept and accepted.
RETENTION = "retention.ms"
TIMESTAMP_TYPE = "message.timestamp.type"
AFTER_MAX = "message.timestamp.after.max.ms"
BEFORE_MAX = "message.timestamp.before.max.ms"
CLEANUP = "cleanup.policy"


@dataclass(frozen=True, slots=True)
class TopicRules:
    """What a topic does with a record's timestamp; None is "no limit"."""

    #: Records stamped longer ago than this are deleted (None: kept, or only compacted).
    retention_ms: int | None
    #: message.timestamp.type = LogAppendTime: the broker stamps records itself, accepts any
    #: time and keeps them by append time.
    append_time: bool
    #: Records stamped more than this ahead of the broker's clock are refused.
    after_max_ms: int | None
    #: Records stamped more than this behind the broker's clock are refused.
    before_max_ms: int | None


@dataclass(frozen=True, slots=True)
class Breach:
    """One rule of a topic that would delete or refuse some of a run's records."""

    #: The topic config (e.g. "retention.ms").
    rule: str
    #: Its value on the topic.
    value_ms: int
    #: The least value that keeps and accepts the whole run.
    needed_ms: int


def history_ms(span: EventSpan, now_ms: int) -> int:
    """How old the run's first event is when it is produced: 0 when it is produced live."""
    if span.live_from_ms is not None and span.live_from_ms <= span.first_ms:
        return 0  # the real clock: every event is produced at its own time
    return max(0, now_ms - span.first_ms)


def lead_ms(span: EventSpan, now_ms: int) -> int:
    """How far ahead of now the run's latest known event time is (the first's, when the last is unknown)."""
    latest = span.first_ms if span.last_ms is None else max(span.first_ms, span.last_ms)
    return max(0, latest - now_ms)


def breaches(rules: TopicRules, span: EventSpan, now_ms: int) -> tuple[Breach, ...]:
    """The rules that would delete or refuse records of a run covering ``span``, produced from ``now_ms``."""
    if rules.append_time:
        return ()  # the broker's own stamps are neither too old nor ahead
    age, ahead = history_ms(span, now_ms), lead_ms(span, now_ms)
    found = []
    if rules.retention_ms is not None and age > rules.retention_ms:
        found.append(Breach(RETENTION, rules.retention_ms, age))
    if rules.before_max_ms is not None and age > rules.before_max_ms:
        found.append(Breach(BEFORE_MAX, rules.before_max_ms, age))
    if rules.after_max_ms is not None and ahead > rules.after_max_ms:
        found.append(Breach(AFTER_MAX, rules.after_max_ms, ahead))
    return tuple(found)


def keeping_retention(default_ms: int | None, span: EventSpan, now_ms: int) -> int | None:
    """A retention that keeps the run as long after it as ``default_ms`` promises; None when the default does.

    The age of the oldest event plus the default, rounded up to a whole hour.
    """
    age = history_ms(span, now_ms)
    if default_ms is None or age <= default_ms:
        return None
    return math.ceil((age + default_ms) / _HOUR_MS) * _HOUR_MS


def rules_of(config: Mapping[str, str | None]) -> TopicRules:
    """The rules in a topic's configs (names as on a topic, values as the admin client gives them)."""
    retention = _ms(config.get(RETENTION))
    if "delete" not in (config.get(CLEANUP) or "delete"):
        retention = None  # compaction only: nothing is deleted for its age
    return TopicRules(
        retention_ms=retention,
        append_time=(config.get(TIMESTAMP_TYPE) or "").lower() == "logappendtime",
        after_max_ms=_ms(config.get(AFTER_MAX)),
        before_max_ms=_ms(config.get(BEFORE_MAX)),
    )


def broker_topic_defaults(config: Mapping[str, str | None]) -> dict[str, str | None]:
    """A new topic's configs as a broker's settings (``log.*``) make them."""
    retention: str | None = config.get("log.retention.ms")
    for unit, factor in (("minutes", 60_000), ("hours", _HOUR_MS)):
        value = config.get(f"log.retention.{unit}")
        if retention is None and value is not None and value.lstrip("-").isdigit():
            retention = str(int(value) * factor if int(value) >= 0 else -1)
    return {
        RETENTION: retention,
        TIMESTAMP_TYPE: config.get("log.message.timestamp.type"),
        AFTER_MAX: config.get("log.message.timestamp.after.max.ms"),
        BEFORE_MAX: config.get("log.message.timestamp.before.max.ms"),
    }


def with_overrides(rules: TopicRules, overrides: Mapping[str, str]) -> TopicRules:
    """``rules`` with the configs a topic is created with; a value the broker would refuse is left to it."""
    values = {RETENTION: rules.retention_ms, AFTER_MAX: rules.after_max_ms, BEFORE_MAX: rules.before_max_ms}
    for key in values:
        if key in overrides and overrides[key].strip().lstrip("-").isdigit():
            values[key] = _ms(overrides[key])
    append = rules.append_time
    if TIMESTAMP_TYPE in overrides:
        append = overrides[TIMESTAMP_TYPE].strip().lower() == "logappendtime"
    if "delete" not in overrides.get(CLEANUP, "delete"):
        values[RETENTION] = None
    return replace(
        rules,
        retention_ms=values[RETENTION],
        append_time=append,
        after_max_ms=values[AFTER_MAX],
        before_max_ms=values[BEFORE_MAX],
    )


def _ms(value: str | None) -> int | None:
    """A config value in ms; None for no limit (negative, Long.MAX_VALUE, unset or unreadable)."""
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    number = int(value)
    return None if number < 0 or number >= _LONG_MAX else number


# -- reading from the cluster


def read_topics(admin: AdminClient, names: list[str], timeout_s: float) -> dict[str, TopicRules]:
    """The effective rules of existing topics. Raises KafkaException when the cluster will not say."""
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    if not resources:
        return {}
    futures = admin.describe_configs(resources, request_timeout=timeout_s)
    return {res.name: rules_of(_values(future.result())) for res, future in futures.items()}


def read_broker(admin: AdminClient, timeout_s: float) -> TopicRules:
    """The rules a topic the broker creates gets by default. Raises KafkaException when it will not say."""
    meta = admin.list_topics(timeout=timeout_s)
    broker = meta.controller_id if meta.controller_id in meta.brokers else next(iter(meta.brokers))
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
    config = admin.describe_configs([resource], request_timeout=timeout_s)[resource].result()
    return rules_of(broker_topic_defaults(_values(config)))


def _values(config: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: entry.value for name, entry in config.items()}


# -- wording


def human_ms(ms: int) -> str:
    """A duration for people: '7d', '2h30m', '1.5s'."""
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:g}s"
    parts = []
    rest = ms // 1000
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts[:2])


def iso(ms: int) -> str:
    """An epoch-ms time as UTC ISO 8601, to the second."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span_text(span: EventSpan) -> str:
    """The run's event times, e.g. '2026-11-30T03:00:00Z .. 2026-12-07T03:00:00Z'."""
    last = "open-ended" if span.last_ms is None else iso(span.last_ms)
    return f"{iso(span.first_ms)} .. {last}"


_EFFECT = {
    RETENTION: "would delete the run's oldest records within minutes",
    BEFORE_MAX: "would refuse the run's oldest records",
    AFTER_MAX: "would refuse the run's latest records",
}


def refusal(topic: str, breach: Breach, span: EventSpan, now_ms: int, fix: str) -> str:
    """One line: the topic, the rule and its value, the run's event times, and ``fix``."""
    how = (
        f"the latest {human_ms(lead_ms(span, now_ms))} ahead of now"
        if breach.rule == AFTER_MAX
        else f"the oldest {human_ms(history_ms(span, now_ms))} old"
    )
    return (
        f"kafka: topic {topic!r} {_EFFECT[breach.rule]}: its {breach.rule} = {breach.value_ms} "
        f"({human_ms(breach.value_ms)}), but the run's event time spans {span_text(span)} ({how}); {fix}"
    )


def suggested(breach: Breach) -> str:
    """A value of the rule that keeps and accepts the run: no limit for retention, else the need plus an hour."""
    if breach.rule == RETENTION:
        return "-1"
    return str((math.ceil(breach.needed_ms / _HOUR_MS) + 1) * _HOUR_MS)


def fix(topic: str, breach: Breach, created: bool, settings: Settings) -> str:
    """What to change so the run fits: the topic's rule, or the run's event times."""
    value = suggested(breach)
    if created:
        change = f'set [kafka.topic_config] "{breach.rule}" = "{value}"'
    else:
        change = (
            f"kafka-configs --bootstrap-server {settings.kafka.bootstrap_servers} --alter --entity-type topics "
            f"--entity-name {topic} --add-config {breach.rule}={value}"
        )
    if breach.rule == AFTER_MAX:
        run = "drop --start (a backfill then ends now)" if settings.run.start_ms is not None else "a shorter run"
    else:
        run = "a shorter --backfill" if settings.run.start_ms is None else "a later --start"
    return f"fix: {change}, or {run}"


def blamed(rules: TopicRules | None, span: EventSpan | None, latest_ms: int, now_ms: int) -> tuple[str, int | None]:
    """The limit behind records refused part way (a delivery report does not say), and its value if known.

    before.max.ms when the run's first event is beyond it and its latest is not beyond
    after.max.ms; else after.max.ms, the limit a run whose event time outruns the clock meets.
    """
    after = None if rules is None else rules.after_max_ms
    before = None if rules is None else rules.before_max_ms
    too_old = span is not None and before is not None and now_ms - span.first_ms > before
    if too_old and not (after is not None and latest_ms - now_ms > after):
        return BEFORE_MAX, before
    return AFTER_MAX, after


def refused_midway(
    topic: str,
    error: str,
    rules: TopicRules | None,
    span: EventSpan | None,
    latest_ms: int,
    now_ms: int,
    bootstrap: str,
) -> str:
    """One line for records the broker refused during the run: the limit, how far the run went, the fix."""
    rule, limit = blamed(rules, span, latest_ms, now_ms)
    if rule == BEFORE_MAX and span is not None:
        reach = f"its first event time {iso(span.first_ms)} is {human_ms(now_ms - span.first_ms)} old"
        run = "a shorter --backfill or a later --start"
    else:
        reach = f"its event time reached {iso(latest_ms)}, {human_ms(max(0, latest_ms - now_ms))} ahead of the clock"
        run = "drop --start (a backfill then ends now)"
    known = f" = {limit} ({human_ms(limit)})" if limit is not None else ""
    return (
        f"kafka: the broker refused the run's records on topic {topic!r} ({error}): {reach}, beyond the "
        f"topic's {rule}{known}; stopped producing; fix: kafka-configs --bootstrap-server {bootstrap} --alter "
        f"--entity-type topics --entity-name {topic} --add-config {rule}=<more>, or {run}"
    )
