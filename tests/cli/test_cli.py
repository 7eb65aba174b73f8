"""The command line: runs, summaries, bad configuration, help, determinism, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import START, payment_events, read_avro, subprocess_env

from synthpay import cli, config

PY = [sys.executable, "-m", "synthpay"]
STATUSES = ["Initiated", "Validated", "Accounted", "Completed", "Failed", "Rejected", "Canceled"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- a run and its summary


def test_run_prints_tables_and_writes_a_consistent_summary(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["run", "--payments", "200", "--clock", "virtual", "--seed", "3", "--summary-json", "s.json"], capsys
    )
    assert code == 0, err
    assert "Traceback" not in err
    summary = json.loads((in_tmp / "s.json").read_text())
    for key in ("workflows", "statuses", "events_total", "delivered", "failed", "elapsed_s"):
        assert key in summary
    assert sum(summary["workflows"].values()) == 200
    assert (
        summary["events_total"]
        == sum(summary["statuses"].values()) + summary["banks_created"] + summary["bank_updates"]
    )
    assert summary["delivered"] == summary["events_total"] and summary["failed"] == 0 and summary["ok"] is True
    assert summary["seed"] == 3 and summary["sink"] == "file" and summary["clock"] == "virtual"
    assert isinstance(summary["elapsed_s"], float) and summary["elapsed_s"] >= 0

    # The tables: headers, every workflow and status with its count, and TOTAL lines.
    for header in ("WORKFLOW", "COUNT", "STATUS", "PRODUCED EVENTS", "BANKS", "DELIVERY", "TOTAL"):
        assert header in out
    lines = out.splitlines()

    def row(name: str) -> int:
        found = [ln for ln in lines if ln.startswith(f"| {name} ")]
        assert found, name
        return int(found[0].rsplit("|", 2)[1])

    for label, count in summary["workflows"].items():
        assert row(label) == count
    for status in STATUSES:
        assert row(status) == summary["statuses"][status]
    totals = [int(ln.rsplit("|", 2)[1]) for ln in lines if ln.startswith("| TOTAL ")]
    assert totals == [
        200,
        sum(summary["statuses"].values()),
        summary["banks_created"] + summary["bank_updates"],
        summary["events_total"],
    ]
    assert "Generating... [200] payments took" in out

    # The default sink (no bootstrap servers): Avro files in ./out/<run id>, agreeing with the summary.
    records = read_avro(in_tmp / "out" / summary["run_id"])
    assert sum(len(r) for r in records.values()) == summary["delivered"]
    for status in STATUSES:
        assert len(records[f"payment-{status.lower()}"]) == summary["statuses"][status]
    assert len(payment_events(records)) == 200
    # Logs are JSON lines on stderr.
    events = [json.loads(line)["event"] for line in err.splitlines()]
    assert events[0] == "run_start" and "embedded_default" in events and events[-1] == "run_end"


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synthpay")
    assert "run" in out and "validate" in out and "generate events" in out

    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: synthpay run")
    for flag in ("--config", "--env-file", *config.FLAGS):
        assert flag in out
    for hint in ("NUM_PAYMENTS", "NUM_WORKERS", "byte-identical", "SIGTERM", "sequential", "parallel"):
        assert hint in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "synthpay: error: the following arguments are required: command (see synthpay --help)"),
        (
            ["frobnicate"],
            "synthpay: error: argument command: invalid choice: 'frobnicate' (choose from 'run', "
            "'validate', 'preview', 'verify', 'fit', 'compare', 'scenarios', 'schema') (see synthpay --help)",
        ),
        (["run", "--bogus"], "synthpay: error: unrecognized arguments: --bogus (see synthpay --help)"),
        (
            ["run", "--payments"],
            "synthpay: error: argument --payments: expected one argument (see synthpay run --help)",
        ),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err == message + "\n"


# --- bad configuration: one line on stderr, exit 2, no traceback, for validate and run

# The accepted keys are whatever the shipped config.toml lists (it lists every setting).
_SHIPPED = tomllib.loads((Path(__file__).resolve().parents[2] / "config.toml").read_text())
ACCEPTED_TOP = ", ".join(sorted(_SHIPPED))
ACCEPTED_RUN = ", ".join(sorted(_SHIPPED["run"]))
ACCEPTED_KAFKA = ", ".join(sorted(_SHIPPED["kafka"]))
ALL_STATUSES = ", ".join(STATUSES)

# (id, config.toml text or None, environment, extra flags, the stderr line after "synthpay: config error: ")
BAD = [
    (
        "unknown-top-level-key",
        "payment = 5\n",
        {},
        [],
        f"config.toml: unknown setting 'payment'; accepted here: {ACCEPTED_TOP}",
    ),
    (
        "unknown-section-key",
        "[run]\npaymentz = 5\n",
        {},
        [],
        f"config.toml: unknown setting 'run.paymentz'; accepted here: {ACCEPTED_RUN}",
    ),
    (
        "unknown-nested-key",
        "[kafka]\nbootstrap = 'x'\n",
        {},
        [],
        f"config.toml: unknown setting 'kafka.bootstrap'; accepted here: {ACCEPTED_KAFKA}",
    ),
    (
        "unknown-status-key",
        "[statuses]\nFailed = { delays = 5 }\n",
        {},
        [],
        "config.toml: unknown setting 'statuses.Failed.delays'; accepted here: delay, delay_ms, partitions, topic",
    ),
    ("section-not-a-table", "run = 5\n", {}, [], "config.toml: run = 5: expected a table [run]"),
    (
        "non-numeric-NUM_PAYMENTS",
        None,
        {"NUM_PAYMENTS": "many"},
        [],
        "NUM_PAYMENTS = 'many' (environment): expected a whole number from 0 to 1_000_000_000_000",
    ),
    (
        "negative-NUM_WORKERS",
        None,
        {"NUM_WORKERS": "-4"},
        [],
        "NUM_WORKERS = '-4' (environment): expected a whole number from 1 to 1_000_000",
    ),
    (
        "zero-workers-flag",
        None,
        {},
        ["--workers", "0"],
        "--workers = '0' (command line): expected a whole number from 1 to 1_000_000",
    ),
    (
        "zero-workers-toml",
        "[run]\nworkers = 0\n",
        {},
        [],
        "run.workers = 0 (config.toml): expected a whole number from 1 to 1_000_000",
    ),
    (
        "float-payments-toml",
        "[run]\npayments = 1.5\n",
        {},
        [],
        "run.payments = 1.5 (config.toml): expected a whole number from 0 to 1_000_000_000_000",
    ),
    (
        "bad-delay-env",
        None,
        {"DELAY_CANCELED": "-1"},
        [],
        "DELAY_CANCELED = '-1' (environment): expected a whole number from 0 to 86_400_000",
    ),
    (
        "weights-sum-to-zero",
        '[[workflows]]\nsteps = ["Initiated", "Failed"]\nweight = 0\n'
        '[[workflows]]\nsteps = ["Initiated"]\nweight = 0\n',
        {},
        [],
        "workflows (config.toml): the weights sum to 0; expected at least one weight >= 1",
    ),
    (
        "negative-weight",
        '[[workflows]]\nsteps = ["Initiated"]\nweight = -1\n',
        {},
        [],
        "workflows[0].weight = -1 (config.toml): expected a whole number from 0 to 1_000_000",
    ),
    (
        "unknown-status-in-workflow",
        '[[workflows]]\nsteps = ["Initiated", "Settled"]\nweight = 1\n',
        {},
        [],
        f"workflows[0].steps: unknown status 'Settled' (config.toml); accepted: {ALL_STATUSES}",
    ),
    (
        "empty-steps",
        "[[workflows]]\nsteps = []\nweight = 1\n",
        {},
        [],
        "workflows[0].steps = [] (config.toml): expected a non-empty list of status names",
    ),
    (
        "duplicate-status",
        '[[workflows]]\nsteps = ["Initiated", "Validated", "Initiated"]\n',
        {},
        [],
        "workflows[0].steps = ['Initiated', 'Validated', 'Initiated'] (config.toml): expected each status at most once",
    ),
    (
        "unknown-workflow-key",
        '[[workflows]]\nsteps = ["Initiated"]\nweigth = 1\n',
        {},
        [],
        "config.toml: unknown setting 'workflows[0].weigth'; accepted here: delays, name, steps, weight",
    ),
    (
        "invalid-toml",
        "[run\npayments = 1\n",
        {},
        [],
        "config.toml: invalid TOML: Expected ']' at the end of a table declaration (at line 1, column 5)",
    ),
    ("missing-config-file", None, {}, ["--config", "missing.toml"], "--config: 'missing.toml' is not a readable file"),
    ("bad-clock", None, {}, ["--clock", "wall"], "--clock = 'wall' (command line): expected one of 'real', 'virtual'"),
    (
        "bad-start",
        None,
        {},
        ["--start", "yesterday"],
        "--start = 'yesterday' (command line): expected an ISO 8601 time from 1970 to 9999 such as 2026-01-31T09:00:00Z, or empty for now",
    ),
    (
        "bad-seed",
        None,
        {},
        ["--seed", "-1"],
        "--seed = '-1' (command line): expected a whole number from 0 to 9_223_372_036_854_775_807, or empty for a random seed",
    ),
    (
        "bad-timing-flag",
        None,
        {},
        ["--timing", "random"],
        "--timing = 'random' (command line): expected one of 'sequential', 'parallel'",
    ),
    (
        "bad-timing-toml",
        'timing = "together"\n',
        {},
        [],
        "timing = 'together' (config.toml): expected one of 'sequential', 'parallel'",
    ),
    (
        "bad-timing-env",
        None,
        {"SYNTHPAY_TIMING": "x"},
        [],
        "SYNTHPAY_TIMING = 'x' (environment): expected one of 'sequential', 'parallel'",
    ),
    (
        "plugin-without-colon",
        'plugins = ["plugins_for_tests.register"]\n',
        {},
        [],
        "plugins[0]: 'plugins_for_tests.register' is not a plugin path; expected 'package.module:attribute'",
    ),
    (
        "plugin-missing-module",
        'plugins = ["no_such_module_xyz:register"]\n',
        {},
        [],
        "plugins[0]: cannot import 'no_such_module_xyz' for plugin 'no_such_module_xyz:register' "
        "(No module named 'no_such_module_xyz')",
    ),
    (
        "plugin-missing-attribute",
        'plugins = ["plugins_for_tests:nope"]\n',
        {},
        [],
        "plugins[0]: plugin 'plugins_for_tests:nope': 'plugins_for_tests' has no attribute 'nope'",
    ),
    (
        "plugin-not-callable",
        'plugins = ["plugins_for_tests:not_callable"]\n',
        {},
        [],
        "plugins[0]: plugin 'plugins_for_tests:not_callable' is not callable; expected register(registry)",
    ),
    (
        "plugin-register-fails",
        'plugins = ["plugins_for_tests:broken"]\n',
        {},
        [],
        "plugins[0]: plugin 'plugins_for_tests:broken' failed to register: boom in register",
    ),
    (
        "plugins-not-a-list",
        'plugins = "plugins_for_tests:register"\n',
        {},
        [],
        "plugins = 'plugins_for_tests:register' (config.toml): expected a list of 'package.module:attribute' strings",
    ),
    (
        "unknown-sink-flag",
        None,
        {},
        ["--sink", "kafak"],
        "run.sink / --sink / SYNTHPAY_SINK = 'kafak': expected one of 'file', 'kafka', 'null', 'stdout'",
    ),
    (
        "unknown-sink-toml",
        '[run]\nsink = "s3"\n',
        {},
        [],
        "run.sink / --sink / SYNTHPAY_SINK = 's3': expected one of 'file', 'kafka', 'null', 'stdout'",
    ),
    (
        "bad-security-protocol",
        None,
        {"KAFKA_SECURITY_PROTOCOL": "TLS", "KAFKA_SASL_PASSWORD": "pw-123"},
        [],
        "KAFKA_SECURITY_PROTOCOL = 'TLS' (environment): expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL "
        "(or empty for automatic)",
    ),
    (
        "secret-of-the-wrong-type",
        "[kafka]\nsasl_password = 987654321\n",
        {},
        [],
        "kafka.sasl_password = '***' (config.toml): expected a string",
    ),
    (
        "registry-secret-of-the-wrong-type",
        "[schema_registry]\napi_secret = [987654321]\n",
        {},
        [],
        "schema_registry.api_secret = '***' (config.toml): expected a string",
    ),
    (
        "banks-topic-clash",
        '[entities]\nbanks_topic = "payment-failed"\n',
        {},
        [],
        "entities.banks_topic = 'payment-failed' (config.toml): expected a topic no status uses",
    ),
    (
        "bad-codec",
        '[file]\ncodec = "snappy"\n',
        {},
        [],
        "file.codec = 'snappy' (config.toml): expected one of 'deflate', 'null'",
    ),
    # Gaps the reliability issue asked for: structure, types, ranges, unreadable files.
    (
        "workflows-empty-list",
        "workflows = []\n",
        {},
        [],
        "workflows (config.toml): expected one or more [[workflows]] tables",
    ),
    (
        "workflow-not-a-table",
        "workflows = [5]\n",
        {},
        [],
        "workflows[0] (config.toml): expected a table with steps and weight",
    ),
    ("statuses-not-a-table", "statuses = 5\n", {}, [], "statuses (config.toml): expected a table of statuses"),
    (
        "status-not-a-table",
        "[statuses]\nFailed = 5\n",
        {},
        [],
        "statuses.Failed (config.toml): expected a table such as { delay_ms = 100 }",
    ),
    (
        "status-bad-name",
        '[statuses]\n"Bad-Name" = { delay_ms = 5 }\n',
        {},
        [],
        "statuses.'Bad-Name': expected a status name of 1 to 241 letters, digits and _",
    ),
    (
        "status-topic-clash",
        '[statuses]\nFailed = { topic = "payment-rejected" }\n',
        {},
        [],
        "statuses.Rejected.topic = 'payment-rejected': expected a topic name no other status uses",
    ),
    (
        "status-zero-partitions",
        "[statuses]\nFailed = { partitions = 0 }\n",
        {},
        [],
        "statuses.Failed.partitions = 0 (config.toml): expected a whole number from 1 to 10_000",
    ),
    (
        "status-delay-not-a-number",
        '[statuses]\nFailed = { delay_ms = "soon" }\n',
        {},
        [],
        "statuses.Failed.delay_ms = 'soon' (config.toml): expected a whole number from 0 to 86_400_000",
    ),
    (
        "new-status-without-delay",
        "[statuses]\nSettled = { partitions = 2 }\n",
        {},
        [],
        "statuses.Settled.delay_ms (config.toml): missing; expected a value",
    ),
    (
        "payments-boolean",
        "[run]\npayments = true\n",
        {},
        [],
        "run.payments = True (config.toml): expected a whole number from 0 to 1_000_000_000_000",
    ),
    (
        "replication-factor-zero",
        "[kafka]\nreplication_factor = 0\n",
        {},
        [],
        "kafka.replication_factor = 0 (config.toml): expected -1 (the broker's default) or a whole number from 1 to 32",
    ),
    (
        "flush-timeout-negative",
        "[kafka]\nflush_timeout_s = -1\n",
        {},
        [],
        "kafka.flush_timeout_s = -1 (config.toml): expected a number from 0 to 3_600",
    ),
    (
        "kafka-config-nested-table",
        '[kafka.config]\n"linger.ms" = { a = 1 }\n',
        {},
        [],
        "kafka.config.linger.ms (config.toml): expected a string, number or boolean",
    ),
    ("kafka-section-not-a-table", "kafka = [1]\n", {}, [], "config.toml: kafka = [1]: expected a table [kafka]"),
    (
        "banks-topic-empty",
        '[entities]\nbanks_topic = ""\n',
        {},
        [],
        "entities.banks_topic = '' (config.toml): expected a topic name of 1 to 249 letters, digits, '.', '_' or '-' "
        "(not '.' or '..')",
    ),
    (
        "topic-that-is-a-path",
        '[statuses]\nFailed = { topic = "../escaped" }\n',
        {},
        [],
        "statuses.Failed.topic = '../escaped' (config.toml): expected a topic name of 1 to 249 letters, digits, '.', "
        "'_' or '-' (not '.' or '..')",
    ),
    (
        "start-of-the-wrong-type",
        "[run]\nstart = 5\n",
        {},
        [],
        "run.start = 5 (config.toml): expected an ISO 8601 time from 1970 to 9999 such as 2026-01-31T09:00:00Z, or empty for now",
    ),
    (
        "bad-log-level",
        None,
        {},
        ["--log-level", "loud"],
        "--log-level = 'loud' (command line): expected one of 'debug', 'info', 'warning', 'error'",
    ),
    (
        "bad-log-format",
        None,
        {"SYNTHPAY_RUN_LOG_FORMAT": "pretty"},
        [],
        "SYNTHPAY_RUN_LOG_FORMAT = 'pretty' (environment): expected one of 'auto', 'json', 'console'",
    ),
    (
        "negative-summary-interval",
        None,
        {},
        ["--summary-interval", "-2"],
        "--summary-interval = '-2' (command line): expected a number from 0.1 to 86_400",
    ),
    (
        "infinite-grace",
        None,
        {"SYNTHPAY_RUN_SHUTDOWN_GRACE_S": "inf"},
        [],
        "SYNTHPAY_RUN_SHUTDOWN_GRACE_S = 'inf' (environment): expected a number from 0 to 3_600",
    ),
    (
        "negative-batch-size",
        None,
        {"SYNTHPAY_ENGINE_BATCH_SIZE": "-1"},
        [],
        "SYNTHPAY_ENGINE_BATCH_SIZE = '-1' (environment): expected a whole number from 0 to 1_000_000",
    ),
    (
        "empty-NUM_SOURCES",
        None,
        {"NUM_SOURCES": ""},
        [],
        "NUM_SOURCES = '' (environment): expected a whole number from 1 to 100_000",
    ),
    (
        "exponent-NUM_WORKERS",
        None,
        {"NUM_WORKERS": "1e3"},
        [],
        "NUM_WORKERS = '1e3' (environment): expected a whole number from 1 to 1_000_000",
    ),
    (
        "bad-clock-env",
        None,
        {"SYNTHPAY_CLOCK": "fast"},
        [],
        "SYNTHPAY_CLOCK = 'fast' (environment): expected one of 'real', 'virtual'",
    ),
    (
        "plugins-of-the-wrong-type",
        "plugins = [1]\n",
        {},
        [],
        "plugins = [1] (config.toml): expected a list of 'package.module:attribute' strings",
    ),
    ("config-is-a-directory", None, {}, ["--config", "."], "--config: '.' is not a readable file"),
    ("env-file-is-a-directory", None, {}, ["--env-file", "."], "--env-file: '.' is not a readable file"),
    (
        "config-not-utf8",
        b"[run]\npayments = 1 # \xff\xfe\n",
        {},
        [],
        "config.toml: invalid TOML: not UTF-8 (invalid start byte at byte 21)",
    ),
    (
        "kafka-sink-without-servers",
        None,
        {},
        ["--sink", "kafka"],
        "run.sink = 'kafka' needs kafka.bootstrap_servers (KAFKA_BOOTSTRAP_SERVERS), e.g. localhost:9092",
    ),
    (
        "instance-index-out-of-range",
        None,
        {"JOB_COMPLETION_INDEX": "4"},
        ["--instance-count", "4"],
        "JOB_COMPLETION_INDEX = '4' (environment): expected a whole number below run.instance_count (4)",
    ),
    (
        "negative-rate",
        None,
        {},
        ["--rate", "-5"],
        "--rate = '-5' (command line): expected 0 (as fast as the workers allow) or a number from 0.001 to 1_000_000",
    ),
    (
        "bad-arrivals",
        None,
        {},
        ["--arrivals", "bursty"],
        "--arrivals = 'bursty' (command line): expected one of 'poisson', 'constant'",
    ),
    (
        "bad-mode",
        '[run]\nmode = "forever"\n',
        {},
        [],
        "run.mode = 'forever' (config.toml): expected one of 'batch', 'continuous'",
    ),
    # Every number has an upper bound: none of these may start a run that floods or hangs.
    (
        "huge-processes",
        None,
        {},
        ["--processes", "100000"],
        "--processes = '100000' (command line): expected a whole number from 1 to 64",
    ),
    (
        "huge-NUM_SOURCES",
        None,
        {"NUM_SOURCES": "1000000000"},
        [],
        "NUM_SOURCES = '1000000000' (environment): expected a whole number from 1 to 100_000",
    ),
    (
        "huge-DELAY",
        None,
        {"DELAY_COMPLETED": "99999999999"},
        [],
        "DELAY_COMPLETED = '99999999999' (environment): expected a whole number from 0 to 86_400_000",
    ),
    (
        "tiny-summary-interval",
        None,
        {},
        ["--summary-interval", "1e-9"],
        "--summary-interval = '1e-9' (command line): expected a number from 0.1 to 86_400",
    ),
    (
        "huge-shutdown-grace",
        None,
        {},
        ["--shutdown-grace", "1e12"],
        "--shutdown-grace = '1e12' (command line): expected a number from 0 to 3_600",
    ),
    (
        "huge-rate",
        None,
        {},
        ["--rate", "1e9", "--arrivals", "constant"],
        "--rate = '1e9' (command line): expected 0 (as fast as the workers allow) or a number from 0.001 to 1_000_000",
    ),
    (
        "rate-too-slow-to-end",
        None,
        {},
        ["--rate", "1e-7"],
        "--rate = '1e-7' (command line): expected 0 (as fast as the workers allow) or a number from 0.001 to 1_000_000",
    ),
    (
        "largest-float-rate",
        None,
        {},
        ["--rate", "1e308"],
        "--rate = '1e308' (command line): expected 0 (as fast as the workers allow) or a number from 0.001 to "
        "1_000_000",
    ),
    (
        "huge-toml-workers",
        "[run]\nworkers = 9223372036854775807\n",
        {},
        [],
        "run.workers = 9223372036854775807 (config.toml): expected a whole number from 1 to 1_000_000",
    ),
    (
        "huge-partitions",
        "[statuses]\nFailed = { partitions = 1000000 }\n",
        {},
        [],
        "statuses.Failed.partitions = 1000000 (config.toml): expected a whole number from 1 to 10_000",
    ),
    # Input that used to be ignored, or to end in a traceback.
    (
        "DELAY-of-no-status",
        None,
        {"DELAY_SETTLED": "5"},
        [],
        "DELAY_SETTLED (environment): there is no status 'SETTLED'; expected DELAY_ and one of INITIATED, "
        "VALIDATED, ACCOUNTED, COMPLETED, FAILED, REJECTED, CANCELED",
    ),
    (
        "deeply-nested-toml",
        "x = " + "[" * 20_000 + "]" * 20_000 + "\n",
        {},
        [],
        "config.toml: tables or arrays nested more than 32 deep; expected a synthpay configuration",
    ),
    (
        "deep-dotted-keys",
        ".".join(f"k{i}" for i in range(3000)) + " = 1\n",
        {},
        [],
        "config.toml: k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15.k16.k17.k18.k19.k20.k21.k2... "
        "(32 levels down): tables or arrays nested more than 32 deep; expected a synthpay configuration",
    ),
    (
        "registry-url-not-http",
        None,
        {"SCHEMA_REGISTRY_ENDPOINT": "ftp://registry:8081"},
        [],
        "SCHEMA_REGISTRY_ENDPOINT = 'ftp://registry:8081' (environment): expected an http:// or https:// URL such "
        "as http://localhost:8081",
    ),
    (
        "registry-url-without-scheme",
        '[schema_registry]\nurl = "localhost:8081"\n',
        {},
        [],
        "schema_registry.url = 'localhost:8081' (config.toml): expected an http:// or https:// URL such as "
        "http://localhost:8081",
    ),
    (
        "registry-url-bad-port",
        None,
        {"SCHEMA_REGISTRY_ENDPOINT": "http://registry:99999"},
        [],
        "SCHEMA_REGISTRY_ENDPOINT = 'http://registry:99999' (environment): expected an http:// or https:// URL "
        "such as http://localhost:8081",
    ),
    (
        "unknown-sasl-mechanism",
        None,
        {"KAFKA_SASL_MECHANISMS": "PLAN"},
        [],
        "KAFKA_SASL_MECHANISMS = 'PLAN' (environment): expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
        "GSSAPI, OAUTHBEARER",
    ),
    (
        "start-before-1970",
        None,
        {},
        ["--start", "1969-12-31T23:59:59Z"],
        "--start = '1969-12-31T23:59:59Z' (command line): expected an ISO 8601 time from 1970 to 9999 such as "
        "2026-01-31T09:00:00Z, or empty for now",
    ),
    (
        "negative-backfill",
        None,
        {},
        ["--backfill=-5m"],
        "--backfill = '-5m' (command line): expected a duration such as 90m, 6h, 7d, 1h30m or 45 (seconds), "
        "at most 365d; 0 or empty for none",
    ),
    (
        "unparsable-backfill",
        None,
        {"SYNTHPAY_RUN_BACKFILL": "a week"},
        [],
        "SYNTHPAY_RUN_BACKFILL = 'a week' (environment): expected a duration such as 90m, 6h, 7d, 1h30m or 45 "
        "(seconds), at most 365d; 0 or empty for none",
    ),
    (
        "backfill-and-start",
        None,
        {},
        ["--backfill", "1h", "--start", "2026-01-01T00:00:00Z"],
        "--backfill = '1h' (command line) and --start = '2026-01-01T00:00:00Z' (command line): expected one of "
        "them, not both (a backfill ends now; --start fixes where the event time begins)",
    ),
    (
        "backfill-on-the-real-clock",
        None,
        {},
        ["--backfill", "1h", "--clock", "real"],
        "--backfill = '1h' (command line) and --clock = 'real' (command line): expected one of them, not both "
        "(a backfill runs under the virtual clock)",
    ),
    (
        "zero-processes",
        None,
        {"SYNTHPAY_RUN_PROCESSES": "0"},
        [],
        "SYNTHPAY_RUN_PROCESSES = '0' (environment): expected a whole number from 1 to 64",
    ),
    (
        "lognormal-median-below-a-microsecond",
        '[statuses.Failed]\ndelay = { dist = "lognormal", median_ms = 1e-300, p99_ms = 86400000 }\n',
        {},
        [],
        "statuses.Failed.delay.median_ms = 1e-300 (config.toml): expected median_ms >= 0.001",
    ),
    # Python reads bytes that are not UTF-8 as lone surrogates: refused, never shown.
    (
        "run-id-not-utf8",
        None,
        {"SYNTHPAY_RUN_RUN_ID": "run\udcff"},
        [],
        "SYNTHPAY_RUN_RUN_ID (environment): not valid UTF-8 text; expected a string",
    ),
    (
        "client-id-not-utf8",
        None,
        {"KAFKA_CLIENT_ID": "syn\udcff"},
        [],
        "KAFKA_CLIENT_ID (environment): not valid UTF-8 text; expected a string of at most 32_767 bytes",
    ),
    (
        "bootstrap-not-utf8",
        None,
        {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092\udcff"},
        [],
        "KAFKA_BOOTSTRAP_SERVERS (environment): not valid UTF-8 text; expected a string",
    ),
    (
        "sasl-password-not-utf8",
        None,
        {"KAFKA_SASL_USERNAME": "alice", "KAFKA_SASL_PASSWORD": "pw-123\udcff"},
        [],
        "KAFKA_SASL_PASSWORD (environment): not valid UTF-8 text; expected a string",
    ),
    (
        "registry-key-not-utf8",
        None,
        {"SCHEMA_REGISTRY_API_KEY": "key\udcff", "SCHEMA_REGISTRY_API_SECRET": "987654321"},
        [],
        "SCHEMA_REGISTRY_API_KEY (environment): not valid UTF-8 text; expected a string",
    ),
    (
        "run-id-flag-not-utf8",
        None,
        {},
        ["--run-id", "run\udcff"],
        "--run-id (command line): not valid UTF-8 text; expected a string",
    ),
    (
        "client-id-beyond-kafka",
        None,
        {"KAFKA_CLIENT_ID": "c" * 100_000},
        [],
        f"KAFKA_CLIENT_ID = '{'c' * 40}'... (100_000 characters) (environment): expected a string of at most "
        "32_767 bytes",
    ),
    (
        "client-id-beyond-kafka-in-bytes",
        None,
        {"KAFKA_CLIENT_ID": "\u00e9" * 16_384},
        [],
        "KAFKA_CLIENT_ID = '" + "\u00e9" * 40 + "'... (16_384 characters) (environment): expected a string of at most "
        "32_767 bytes",
    ),
    (
        "status-name-of-100-kb",
        f"[statuses]\n{'S' * 100_000} = {{ foo = 1 }}\n",
        {},
        [],
        f"statuses.'{'S' * 40}'... (100_000 characters): expected a status name of 1 to 241 letters, digits and _",
    ),
    (
        "kafka-config-name-of-100-kb",
        f'[kafka.config]\n"{"p" * 100_000}" = 1\n',
        {},
        [],
        f"kafka.config.'{'p' * 40}'... (100_000 characters) (config.toml): expected a property name of at most 100 "
        "characters",
    ),
    (
        "plugin-path-of-100-kb",
        f'plugins = ["{"m" * 100_000}"]\n',
        {},
        [],
        f"plugins[0]: '{'m' * 40}'... (100_000 characters) is not a plugin path; expected 'package.module:attribute'",
    ),
    (
        "topic-name-of-100-kb",
        f'[statuses.Failed]\ntopic = "{"t" * 100_000}"\n',
        {},
        [],
        f"statuses.Failed.topic = '{'t' * 40}'... (100_000 characters) (config.toml): expected a topic name of 1 to "
        "249 letters, digits, '.', '_' or '-' (not '.' or '..')",
    ),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("case", "toml", "env", "flags", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_config(
    in_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    case: str,
    toml: str | bytes | None,
    env: dict[str, str],
    flags: list[str],
    message: str,
) -> None:
    if toml is not None:
        (in_tmp / "config.toml").write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli([command, *flags], capsys)
    assert (code, out) == (2, "")
    assert err == f"synthpay: config error: {message}\n"
    assert "pw-123" not in err and "987654321" not in err  # secrets are never echoed
    assert not (in_tmp / "out").exists()  # nothing ran


@pytest.mark.parametrize(
    "case",
    ["invalid-toml", "plugin-missing-module", "non-numeric-NUM_PAYMENTS", "config-not-utf8", "run-id-not-utf8"],
)
def test_bad_config_in_a_real_process(tmp_path: Path, case: str) -> None:
    _, toml, env, flags, message = next(b for b in BAD if b[0] == case)
    if toml is not None:
        (tmp_path / "config.toml").write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    proc = subprocess.run(
        [*PY, "run", *flags], cwd=tmp_path, env=subprocess_env(**env), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr == f"synthpay: config error: {message}\n"
    assert "Traceback" not in proc.stderr


def test_validate_prints_the_effective_config_with_secrets_masked(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2-kafka")
    monkeypatch.setenv("SCHEMA_REGISTRY_API_SECRET", "hunter2-registry")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "alice")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVER", "broker:9092")
    (in_tmp / ".env").write_text("NUM_PAYMENTS=12\n")
    code, out, err = run_cli(["validate", "--workers", "3"], capsys)
    assert (code, err) == (0, "")
    assert "hunter2" not in out
    described = json.loads(out)
    assert described["kafka"]["sasl_password"] == "***"
    assert described["schema_registry"]["api_secret"] == "***"
    assert described["kafka"]["sasl_username"] == "alice"
    assert described["kafka"]["bootstrap_servers"] == "broker:9092"
    assert described["run"]["sink"] == "kafka"
    assert (described["run"]["payments"], described["run"]["workers"]) == (12, 3)
    assert described["sinks_available"] == ["file", "kafka", "null", "stdout"]
    assert [wf["weight"] for wf in described["workflows"]] == [1, 2, 1, 1, 1, 9, 2, 1]


def _blocker(in_tmp: Path, kind: str) -> str:
    """An --out that can be no directory to write in, of the given kind."""
    if kind == "file":
        (in_tmp / "blocker").write_text("")
    elif kind == "fifo":
        os.mkfifo(in_tmp / "blocker")
    elif kind == "symlink-loop":
        (in_tmp / "blocker").symlink_to("loop")
        (in_tmp / "loop").symlink_to("blocker")
    else:
        return kind
    return "blocker"


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("file", "it is not a directory"),
        ("fifo", "it is not a directory"),
        ("/dev/null", "it is not a directory"),
        ("symlink-loop", "a symbolic link to no directory"),
        ("/proc/self", "cannot create a file in it: No such file or directory"),
        ("blocker/sub", "cannot make it: Not a directory"),
    ],
)
def test_out_that_can_be_no_directory_is_refused_naming_it(
    in_tmp: Path, capsys: pytest.CaptureFixture[str], kind: str, why: str
) -> None:
    if kind == "blocker/sub":
        _blocker(in_tmp, "file")
    out = _blocker(in_tmp, kind)
    code, stdout, err = run_cli(["run", "--payments", "3", "--clock", "virtual", "--out", out], capsys)
    assert (code, stdout) == (2, "")
    assert err.splitlines()[-1] == (
        f"synthpay: error: --out / file.dir = '{out}': {why}; expected a directory this run can create files in, "
        "or a path where one can be made"
    )


# --- sinks through the CLI


def test_stdout_sink_emits_json_lines(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        [
            "run",
            "--sink",
            "stdout",
            "--payments",
            "150",
            "--clock",
            "virtual",
            "--seed",
            "5",
            "--start",
            START,
            "--summary-json",
            "s.json",
        ],
        capsys,
    )
    assert code == 0, err
    summary = json.loads((in_tmp / "s.json").read_text())
    lines = out.splitlines()
    assert len(lines) == summary["events_total"] == summary["delivered"]
    parsed = [json.loads(line) for line in lines]
    assert any(msg["topic"] != "banks" for msg in parsed)
    counts: dict[str, int] = {}
    for msg in parsed:
        assert set(msg) == {"topic", "key", "timestamp", "value", "headers"}
        assert msg["key"] == msg["value"]["id"]
        assert msg["headers"]["run_id"] == summary["run_id"]
        counts[msg["topic"]] = counts.get(msg["topic"], 0) + 1
        if msg["topic"] != "banks":
            assert msg["timestamp"] == msg["value"]["ts"]
            assert msg["topic"] == "payment-" + msg["value"]["status"].lower()
    assert {t: v["delivered"] for t, v in summary["topics"].items()} == counts
    assert "TOTAL" in err  # the tables go to stderr when stdout carries the events
    assert not (in_tmp / "out").exists()


def test_null_sink_via_cli(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["run", "--sink", "null", "--payments", "300", "--clock", "virtual", "--summary-json", "s.json"], capsys
    )
    assert code == 0, err
    summary = json.loads((in_tmp / "s.json").read_text())
    assert summary["delivered"] == summary["events_total"] > 300
    assert sum(summary["workflows"].values()) == 300
    assert "TOTAL" in out and not (in_tmp / "out").exists()


# --- determinism


def _seeded_run(cwd: Path, out: str, seed: str, *extra: str) -> None:
    code = cli.main(
        ["run", "--payments", "1500", "--clock", "virtual", "--seed", seed, "--start", START, "--out", out, *extra]
    )
    assert code == 0


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.avro"))}


@pytest.mark.parametrize("timing", ["sequential", "parallel"])
def test_same_seed_gives_byte_identical_files(in_tmp: Path, capsys: pytest.CaptureFixture[str], timing: str) -> None:
    _seeded_run(in_tmp, "a", "11", "--timing", timing)
    _seeded_run(in_tmp, "b", "11", "--timing", timing)
    _seeded_run(in_tmp, "c", "12", "--timing", timing)
    a, b, c = _files(in_tmp / "a"), _files(in_tmp / "b"), _files(in_tmp / "c")
    assert len(a) == 8 and sum(len(v) for v in a.values()) > 100_000
    assert a == b
    assert set(a) == set(c)
    assert all(a[name] != c[name] for name in a)


def test_same_seed_in_separate_processes(tmp_path: Path) -> None:
    for out in ("x", "y"):
        proc = subprocess.run(
            [*PY, "run", "--payments", "300", "--clock", "virtual", "--seed", "4", "--start", START, "--out", out],
            cwd=tmp_path,
            env=subprocess_env(),
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    assert _files(tmp_path / "x") == _files(tmp_path / "y") != {}


# --- SIGTERM


def test_sigterm_stops_a_continuous_real_clock_run_cleanly(tmp_path: Path) -> None:
    env = subprocess_env(**{f"DELAY_{s.upper()}": "50" for s in STATUSES}, UPDATE_BANKS_INTERVAL="100")
    proc = subprocess.Popen(
        [
            *PY,
            "run",
            "--payments",
            "0",
            "--workers",
            "20",
            "--clock",
            "real",
            "--sink",
            "file",
            "--out",
            "out",
            "--summary-interval",
            "0.2",
            "--shutdown-grace",
            "5",
            "--summary-json",
            "s.json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        progress: dict[str, Any] = {}
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "synthpay exited before reporting progress"
            record = json.loads(line)
            if record["event"] == "progress" and record["events"] > 50:
                progress = record
                break
        assert progress, "no progress line"
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=15)
        took = time.monotonic() - began
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "Traceback" not in rest
    assert proc.returncode == 0, rest
    assert took < 5
    logged = [json.loads(line)["event"] for line in rest.splitlines()]
    assert "signal" in logged and "stopping" in logged and logged[-1] == "run_end"
    for header in ("WORKFLOW", "STATUS", "TOTAL", "DELIVERY"):
        assert header in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["ok"] and summary["payments_cut"] == 0
    assert summary["payments_started"] == summary["payments_completed"] > 0
    assert summary["events_total"] >= progress["events"]
    records = read_avro(tmp_path / "out")
    assert sum(len(r) for r in records.values()) == summary["delivered"] == summary["events_total"]
    # Every payment that started finished its workflow before the process exited.
    finished = payment_events(records)
    assert len(finished) == summary["payments_started"]
    assert sum(summary["workflows"].values()) == len(finished)


def test_second_signal_cuts_in_flight_payments(tmp_path: Path) -> None:
    # Long delays so payments are still in flight; a second SIGTERM ends the grace at once.
    env = subprocess_env(DELAY_INITIATED="10", DELAY_VALIDATED="60000", DELAY_FAILED="60000", DELAY_REJECTED="60000")
    proc = subprocess.Popen(
        [
            *PY,
            "run",
            "--payments",
            "0",
            "--workers",
            "10",
            "--clock",
            "real",
            "--sink",
            "file",
            "--out",
            "out",
            "--summary-interval",
            "0.2",
            "--summary-json",
            "s.json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        while True:
            line = proc.stderr.readline()
            assert line
            if json.loads(line)["event"] == "progress":
                break
        proc.send_signal(signal.SIGTERM)
        while json.loads(proc.stderr.readline())["event"] != "stopping":
            pass
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "Traceback" not in rest
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["payments_cut"] == 10 and summary["payments_completed"] == 0
    assert proc.returncode == 0
    records = read_avro(tmp_path / "out")
    assert sum(len(r) for r in records.values()) == summary["delivered"] == summary["events_total"]
    assert len(records["payment-initiated"]) == 10
    assert "10 cut short" in out


# --- your own topics, layered configs


def test_a_prefixed_run_names_its_files_and_its_plan_after_the_prefixed_topics(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--clock", "virtual", "--payments", "20", "--seed", "1", "--start", START, "--sink", "file"]
    code, _, err = run_cli([*argv, "--topic-prefix", "stg.", "--summary-json", "s.json"], capsys)
    assert code == 0, err
    topics = ["stg.banks", *(f"stg.payment-{s.lower()}" for s in STATUSES)]
    assert sorted(p.name for p in (in_tmp / "out" / "latest").glob("*.avro")) == sorted(f"{t}.avro" for t in topics)
    plan = json.loads((in_tmp / "s.json").read_text())["plan"]
    assert [plan["banks_topic"], *(plan["statuses"][s]["topic"] for s in STATUSES)] == topics


def test_a_prefix_kafka_would_refuse_is_one_line_and_exit_2(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["run", "--clock", "virtual", "--payments", "3", "--topic-prefix", "my/"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "synthpay: config error: --topic-prefix = 'my/' (command line): expected empty, or letters, digits, "
        "'.', '_' or '-' that leave every topic name within 249 characters\n"
    )
    assert not (in_tmp / "out").exists()


def test_validate_names_the_file_each_value_came_from(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "mine.toml").write_text('[run]\nworkers = 7\npayments = 5\n[statuses]\nFailed = { topic = "f" }\n')
    (in_tmp / "scenario.toml").write_text("[run]\npayments = 9\n[[phases]]\nname = 'p'\nat_s = 0\nduration_s = 1\n")
    code, out, err = run_cli(
        ["validate", "--config", "mine.toml", "--config", "scenario.toml", "--topic-prefix", "stg."], capsys
    )
    assert (code, err) == (0, "")
    described = json.loads(out)
    assert (described["run"]["workers"], described["run"]["payments"]) == (7, 9)
    assert described["statuses"]["Failed"]["topic"] == "stg.f"  # the names synthpay will write to
    origins = described["origins"]
    assert (origins["run.workers"], origins["run.payments"], origins["run.clock"]) == (
        "mine.toml",
        "scenario.toml",
        "default",
    )
    assert (origins["statuses.Failed.topic"], origins["phases"], origins["kafka.topic_prefix"]) == (
        "mine.toml",
        "scenario.toml",
        "command line",
    )


def test_a_bad_value_in_the_second_config_names_that_file(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "mine.toml").write_text("[run]\nworkers = 7\n")
    (in_tmp / "scenario.toml").write_text("[run]\nworkers = 0\n")
    code, out, err = run_cli(["run", "--config", "mine.toml", "--config", "scenario.toml"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "synthpay: config error: run.workers = 0 (scenario.toml): expected a whole number from 1 to 1_000_000\n"
    )
