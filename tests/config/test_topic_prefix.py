"""kafka.topic_prefix: before every topic synthpay writes, banks included, or refused in one line."""

from __future__ import annotations

import pytest
from conftest import defaults_only

from synthpay import config
from synthpay.config.errors import ConfigError


def test_the_prefix_goes_before_every_topic_banks_included() -> None:
    plain = defaults_only()
    prefixed = defaults_only({"kafka.topic_prefix": "staging."})
    assert prefixed.entities.banks_topic == "staging.banks"
    assert {name: s.topic for name, s in prefixed.statuses.items()} == {
        name: "staging." + s.topic for name, s in plain.statuses.items()
    }


def test_the_prefix_goes_before_a_topic_given_by_name() -> None:
    settings = config.load(
        env={"SYNTHPAY_KAFKA_TOPIC_PREFIX": "x-"},
        flags={"entities.banks_topic": "my-banks"},
        read_files=False,
    )
    assert settings.entities.banks_topic == "x-my-banks"


@pytest.mark.parametrize("prefix", ["a/b", "stg prefix.", "ü-"])
def test_a_prefix_with_a_character_kafka_refuses_is_one_line(prefix: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(env={"SYNTHPAY_KAFKA_TOPIC_PREFIX": prefix}, read_files=False)
    assert str(info.value) == (
        f"SYNTHPAY_KAFKA_TOPIC_PREFIX = {prefix!r} (environment): expected empty, or letters, digits, '.', '_' "
        "or '-' that leave every topic name within 249 characters"
    )


def test_a_prefix_that_makes_a_name_too_long_is_refused_naming_the_prefix() -> None:
    prefix = "p" * 230  # the longest status topics (17) stay within 249; the 20-character banks topic does not
    with pytest.raises(ConfigError) as info:
        config.load(flags={"kafka.topic_prefix": prefix, "entities.banks_topic": "b" * 20}, env={}, read_files=False)
    message = str(info.value)
    assert message.startswith(
        f"--topic-prefix = '{prefix[:40]}'... (230 characters) (command line): expected a prefix that keeps every topic"
    )
    assert message.endswith("... 250 long") and "\n" not in message


def test_a_banks_topic_a_status_uses_is_still_refused_with_a_prefix() -> None:
    with pytest.raises(ConfigError) as info:
        config.load(
            flags={"kafka.topic_prefix": "stg.", "entities.banks_topic": "payment-failed"}, env={}, read_files=False
        )
    assert str(info.value) == "entities.banks_topic = 'payment-failed' (command line): expected a topic no status uses"
