"""Property-based fuzzing of the configuration loader: whatever the input, Settings or one ConfigError line.

A traceback instead of a one-line error is a bug (it is what the CLI would print). Plugin
paths are left out of the generated documents on purpose: a random ``module:attribute``
would import and call arbitrary code.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthpay import config
from synthpay.config.errors import ConfigError
from synthpay.config.settings import DEFAULT_STATUSES, Settings

SECTION_LEAVES: dict[str, list[str]] = {}
for _key in config.env_names():
    if "." in _key:
        SECTION_LEAVES.setdefault(_key.split(".")[0], []).append(_key.split(".", 1)[1])
SECTION_LEAVES["kafka"].append("config")  # [kafka.config]: librdkafka settings
STATUS_NAMES = [name for name, _, _ in DEFAULT_STATUSES]
ENV_NAMES = sorted(
    {n for names in config.env_names().values() for n in names}
    | {f"DELAY_{s.upper()}" for s in STATUS_NAMES}
    | {"DELAY_CANCELLED", "DELAY_", "DELAY_X"}
)
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "0", "-1", "kafka", "virtual", "parallel", "1e3", "nan", "2026-01-31T09:00:00Z"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3),
    max_leaves=6,
)
statuses = st.dictionaries(
    st.sampled_from(STATUS_NAMES) | st.text(min_size=1, max_size=8),
    st.dictionaries(st.sampled_from(["delay_ms", "partitions", "topic", "colour"]), values, max_size=3) | values,
    max_size=4,
)
workflows = st.lists(
    st.fixed_dictionaries(
        {"steps": st.lists(st.sampled_from(STATUS_NAMES) | st.text(max_size=6), max_size=4)},
        optional={"weight": values, "extra": values},
    )
    | values,
    max_size=3,
)
# Mostly known keys, so most documents get past "unknown setting" to the value checks.
documents = st.fixed_dictionaries(
    {},
    optional={
        **{
            section: st.dictionaries(st.sampled_from(leaves), values, max_size=4) | values
            for section, leaves in SECTION_LEAVES.items()
        },
        "timing": values,
        "statuses": statuses | values,
        "workflows": workflows | values,
    },
).flatmap(
    lambda doc: (
        st.just(doc)
        | st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "plugins"), values, max_size=2).map(
            lambda x: {**x, **doc}
        )
    )
)


def toml(value: Any) -> str:
    """A TOML inline value (JSON strings are TOML basic strings, mostly: the fuzz welcomes the rest)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in value.items()) + " }"


def load_file(content: bytes, env: dict[str, str] | None = None) -> None:
    """Load ``content`` as config.toml; only Settings or a one-line ConfigError may come out."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.toml").write_bytes(content)
        outcome(lambda: config.load(env=env or {}, cwd=Path(tmp)))


def outcome(load: Any) -> None:
    try:
        assert isinstance(load(), Settings)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)


@FUZZ
@given(documents)
def test_random_toml_documents(doc: dict[str, Any]) -> None:
    text = "\n".join(f"{json.dumps(k, ensure_ascii=False)} = {toml(v)}" for k, v in doc.items()) + "\n"
    load_file(text.encode())


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_as_config_file(content: bytes) -> None:
    load_file(content)


@FUZZ
@given(st.dictionaries(st.sampled_from(ENV_NAMES), st.text(max_size=20).filter(lambda v: "\x00" not in v), max_size=6))
def test_random_environment(env: dict[str, str]) -> None:
    env.pop("SYNTHPAY_CONFIG", None)  # a path: covered by the file fuzzers
    outcome(lambda: config.load(env=env, read_files=False))
