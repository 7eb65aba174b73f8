"""Judging a topic's retention and timestamp limits against a run's event times (pure functions)."""

from __future__ import annotations

from conftest import defaults_only
from hypothesis import given
from hypothesis import strategies as st

from synthpay.config.clocks import profile
from synthpay.model.span import EventSpan
from synthpay.sinks.kafka import _linger_ms
from synthpay.sinks.topic_rules import (
    AFTER_MAX,
    BEFORE_MAX,
    RETENTION,
    Breach,
    TopicRules,
    blamed,
    breaches,
    broker_topic_defaults,
    fix,
    human_ms,
    keeping_retention,
    refusal,
    refused_midway,
    rules_of,
    with_overrides,
)

NOW = 1_800_000_000_000
DAY = 86_400_000
WEEK = 7 * DAY
KAFKA_DEFAULTS = TopicRules(retention_ms=WEEK, append_time=False, after_max_ms=3_600_000, before_max_ms=None)

limits = st.none() | st.integers(0, 400 * DAY)
rules = st.builds(TopicRules, limits, st.booleans(), limits, limits)
times = st.integers(NOW - 400 * DAY, NOW + 400 * DAY)


@st.composite
def spans(draw: st.DrawFn) -> EventSpan:
    first = draw(times)
    last = draw(st.none() | st.integers(first, NOW + 400 * DAY))
    live = draw(st.none() | st.sampled_from([first, NOW]))
    return EventSpan(first, last, live)


def backfill(age_ms: int) -> EventSpan:
    """A backfill of ``age_ms`` ending now, handing over to the real clock."""
    return EventSpan(NOW - age_ms, NOW, live_from_ms=NOW)


@given(rules, spans())
def test_append_time_topics_keep_and_accept_everything(topic: TopicRules, span: EventSpan) -> None:
    assert breaches(TopicRules(topic.retention_ms, True, topic.after_max_ms, topic.before_max_ms), span, NOW) == ()


@given(limits, st.integers(0, 400 * DAY))
def test_retention_breached_exactly_when_the_oldest_event_is_older(retention: int | None, age: int) -> None:
    found = breaches(TopicRules(retention, False, None, None), backfill(age), NOW)
    expected = [(RETENTION, retention, age)] if retention is not None and age > retention else []
    assert [(b.rule, b.value_ms, b.needed_ms) for b in found] == expected


@given(limits, st.integers(0, 400 * DAY))
def test_before_max_breached_exactly_when_the_oldest_event_is_older(before: int | None, age: int) -> None:
    found = breaches(TopicRules(None, False, None, before), backfill(age), NOW)
    expected = [(BEFORE_MAX, before, age)] if before is not None and age > before else []
    assert [(b.rule, b.value_ms, b.needed_ms) for b in found] == expected


@given(limits, st.integers(-DAY, 400 * DAY), st.booleans())
def test_after_max_judged_on_the_last_event_or_else_the_first(after: int | None, lead: int, known: bool) -> None:
    span = EventSpan(NOW - DAY, NOW + lead, None) if known else EventSpan(NOW + lead, None, None)
    found = breaches(TopicRules(None, False, after, None), span, NOW)
    expected = [(AFTER_MAX, after, lead)] if after is not None and lead > after else []
    assert [(b.rule, b.value_ms, b.needed_ms) for b in found] == expected


@given(limits, limits, st.integers(0, DAY))
def test_a_real_clock_run_is_never_too_old(retention: int | None, before: int | None, since: int) -> None:
    # Every event of a real-clock run is produced at its own time, however long ago it started.
    span = EventSpan(NOW - since, NOW - since, live_from_ms=NOW - since)
    assert breaches(TopicRules(retention, False, None, before), span, NOW) == ()


@given(st.integers(1, 400 * DAY), st.integers(0, 400 * DAY))
def test_a_kept_retention_keeps_the_run_as_long_after_it_as_the_default(default: int, age: int) -> None:
    kept = keeping_retention(default, backfill(age), NOW)
    if age <= default:
        assert kept is None
    else:
        assert kept is not None and kept >= age + default
        assert breaches(TopicRules(kept, False, None, None), backfill(age), NOW) == ()


def test_a_week_long_backfill_on_a_week_default_gets_two_weeks_and_an_hour() -> None:
    assert keeping_retention(WEEK, backfill(WEEK + 1000), NOW) == 2 * WEEK + 3_600_000


def test_no_retention_needed_where_nothing_expires() -> None:
    assert keeping_retention(None, backfill(400 * DAY), NOW) is None


def test_topic_configs_read_with_kafkas_no_limit_values() -> None:
    read = rules_of(
        {
            "retention.ms": "-1",
            "message.timestamp.type": "LogAppendTime",
            "message.timestamp.after.max.ms": "1000",
            "message.timestamp.before.max.ms": "9223372036854775807",
        }
    )
    assert read == TopicRules(None, True, 1000, None)


def test_a_compacted_topic_deletes_nothing_for_its_age() -> None:
    assert rules_of({"retention.ms": "60000", "cleanup.policy": "compact"}).retention_ms is None
    assert rules_of({"retention.ms": "60000", "cleanup.policy": "compact,delete"}).retention_ms == 60000


def test_broker_retention_in_hours_minutes_or_ms() -> None:
    assert broker_topic_defaults({"log.retention.hours": "168"})[RETENTION] == str(WEEK)
    assert broker_topic_defaults({"log.retention.hours": "168", "log.retention.minutes": "10"})[RETENTION] == "600000"
    assert broker_topic_defaults({"log.retention.ms": "5", "log.retention.minutes": "10"})[RETENTION] == "5"


def test_kafka_4_broker_defaults_read_as_its_documented_limits() -> None:
    broker = {
        "log.retention.ms": None,
        "log.retention.minutes": None,
        "log.retention.hours": "168",
        "log.message.timestamp.type": "CreateTime",
        "log.message.timestamp.after.max.ms": "3600000",
        "log.message.timestamp.before.max.ms": "9223372036854775807",
    }
    assert rules_of(broker_topic_defaults(broker)) == KAFKA_DEFAULTS


def test_topic_config_overrides_the_broker_defaults() -> None:
    created = with_overrides(
        KAFKA_DEFAULTS, {"retention.ms": "-1", "message.timestamp.before.max.ms": "1000", "segment.ms": "10"}
    )
    assert created == TopicRules(None, False, 3_600_000, 1000)


def test_an_unreadable_override_is_left_to_the_broker_to_refuse() -> None:
    assert with_overrides(KAFKA_DEFAULTS, {"retention.ms": "a week"}) == KAFKA_DEFAULTS


def test_durations_read_as_people_write_them() -> None:
    assert [human_ms(ms) for ms in (5, 1500, 60_000, WEEK, WEEK + 3_600_000 + 1000)] == [
        "5ms",
        "1.5s",
        "1m",
        "7d",
        "7d1h",
    ]


def test_a_refusal_names_topic_rule_value_span_and_fix() -> None:
    settings = defaults_only({"run.backfill": "7d", "kafka.bootstrap_servers": "b:9092"})
    breach = Breach(RETENTION, 60_000, WEEK)
    line = refusal("pay", breach, backfill(WEEK), NOW, fix("pay", breach, False, settings))
    assert "'pay'" in line and "retention.ms = 60000 (1m)" in line and "7d old" in line
    assert "--entity-name pay --add-config retention.ms=-1" in line and "shorter --backfill" in line
    assert "\n" not in line


def test_a_refusal_on_a_new_topic_points_at_the_topic_config() -> None:
    settings = defaults_only({"run.start": "2030-01-01T00:00:00Z"})
    line = fix("pay", Breach(AFTER_MAX, 1000, 300_000), True, settings)
    assert (
        line
        == 'fix: set [kafka.topic_config] "message.timestamp.after.max.ms" = "7200000", or drop --start (a backfill then ends now)'
    )


def test_records_refused_ahead_of_the_clock_blame_after_max() -> None:
    topic = TopicRules(WEEK, False, 1000, None)
    assert blamed(topic, EventSpan(NOW - 1000, None), NOW + 60_000, NOW) == (AFTER_MAX, 1000)


def test_records_refused_for_their_age_blame_before_max() -> None:
    topic = TopicRules(None, False, 3_600_000, DAY)
    assert blamed(topic, backfill(WEEK), NOW, NOW) == (BEFORE_MAX, DAY)


def test_records_refused_midway_in_one_line() -> None:
    line = refused_midway("pay", "INVALID_RECORD", TopicRules(None, False, 1000, None), None, NOW + 60_000, NOW, "b:1")
    assert "message.timestamp.after.max.ms = 1000 (1s)" in line and "1m ahead" in line and "stopped producing" in line
    assert "\n" not in line


def test_a_backfill_that_goes_on_live_lingers_as_the_real_clock() -> None:
    live = EventSpan(NOW - WEEK, NOW, live_from_ms=NOW)
    real, virtual = profile("real").linger_ms, profile("virtual").linger_ms
    assert real < virtual
    assert _linger_ms(defaults_only({"run.clock": "virtual", "run.mode": "continuous"}), live) == real
    assert _linger_ms(defaults_only({"run.clock": "virtual", "run.mode": "batch"}), live) == virtual
    assert (
        _linger_ms(defaults_only({"run.clock": "virtual", "run.mode": "continuous"}), EventSpan(NOW, None)) == virtual
    )
