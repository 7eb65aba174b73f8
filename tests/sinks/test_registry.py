"""Plugin sinks loaded from a config file, and backpressure from a slow one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import PLUGIN, START, Collected, make_engine, run_to_end, subprocess_env

from synthpay import cli, config
from synthpay.sinks.registry import PluginError, Registry, load_plugin, load_registry


def write_config(directory: Path, sink: str, *, payments: int, extra: str = "", plugins: str = PLUGIN) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""
plugins = ["{plugins}"]
[run]
sink = "{sink}"
payments = {payments}
clock = "virtual"
start = "{START}"
seed = 8
{extra}
"""
    )
    return path


def test_collecting_plugin_sink_from_a_config_file_gets_every_event(tmp_path: Path, collected: Collected) -> None:
    write_config(tmp_path, "collect", payments=1000)
    settings = config.load(env={}, cwd=tmp_path)
    assert settings.plugins == (PLUGIN,)
    assert load_registry(settings.plugins).sink_names() == (
        "collect",
        "failing",
        "failing-flush",
        "file",
        "kafka",
        "null",
        "slow",
        "stdout",
    )
    summary = run_to_end(make_engine(settings))
    events = collected.EVENTS
    assert collected.CLOSED == ["collect"]
    assert summary.ok and summary.sink == "collect"
    assert len(events) == summary.events_total == summary.delivered
    by_topic = Counter(topic for topic, _, _ in events)
    assert {t: c["delivered"] for t, c in summary.topics.items() if c["delivered"]} == dict(by_topic)
    assert by_topic["payment-initiated"] == 1000
    # Nothing is duplicated: (topic, key) is unique for payments.
    payment_keys = [(t, k) for t, k, _ in events if t != "banks"]
    assert len(payment_keys) == len(set(payment_keys))
    # The sink sees events in time order.
    assert [ts for _, _, ts in events] == sorted(ts for _, _, ts in events)


def test_plugin_sink_in_a_real_process(tmp_path: Path) -> None:
    write_config(tmp_path, "collect", payments=400)
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "synthpay", "run", "--summary-json", "s.json"],
        cwd=tmp_path,
        env=subprocess_env(SYNTHPAY_TEST_REPORT=str(report)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    seen = json.loads(report.read_text())
    assert seen["sink"] == "collect"
    assert seen["total"] == summary["delivered"] == summary["events_total"]
    assert seen["topics"] == {t: c["delivered"] for t, c in summary["topics"].items() if c["delivered"]}
    assert "sink collect" in proc.stdout


@pytest.mark.parametrize("batch_size", [50, 100, 250])
def test_slow_sink_backpressure_bounds_memory_and_loses_nothing(
    tmp_path: Path, collected: Collected, batch_size: int
) -> None:
    write_config(
        tmp_path,
        "slow",
        payments=1200,
        extra=f"workers = 400\n[engine]\nbatch_size = {batch_size}\n",
    )
    settings = config.load(env={}, cwd=tmp_path)
    engine = make_engine(settings)
    collected.PROBE = lambda: engine.stats.events
    summary = run_to_end(engine)

    bound = 2 * batch_size
    assert collected.OUTSTANDING, "the sink never sampled"
    peak = max(collected.OUTSTANDING)
    # Bounded: never more than the batch being written and the one being filled ...
    assert peak <= bound, (peak, bound)
    # ... and the bound was really tested: a whole batch was waiting on the slow sink.
    assert peak >= batch_size, (peak, bound)
    assert max(collected.BATCHES) <= batch_size
    # Lossless: every event emitted reached the sink, exactly once.
    assert summary.ok
    assert len(collected.EVENTS) == sum(collected.BATCHES) == summary.events_total == summary.delivered
    assert summary.payments_completed == 1200
    assert Counter(t for t, _, _ in collected.EVENTS)["payment-initiated"] == 1200
    # Backpressure does not bend event time: events still in time order at the sink.
    stamps = [ts for _, _, ts in collected.EVENTS]
    assert stamps == sorted(stamps)


def test_registry_and_plugin_loading(collected: Collected) -> None:
    registry = load_registry(())
    assert registry.sink_names() == ("file", "kafka", "null", "stdout")
    load_plugin("plugins_for_tests:replace_null", registry, origin="test")
    assert registry.sink("null") is collected.CollectingSink  # a plugin may replace a built-in
    with pytest.raises(PluginError) as info:
        load_plugin("plugins_for_tests:bad_name", Registry(), origin="test")
    assert str(info.value) == (
        "test: plugin 'plugins_for_tests:bad_name': a plugin registered a sink with an invalid name ''"
    )
    with pytest.raises(PluginError, match=r"^test: ':register' is not a plugin path"):
        load_plugin(":register", Registry(), origin="test")
    with pytest.raises(PluginError, match=r"^test: 'plugins_for_tests:' is not a plugin path"):
        load_plugin("plugins_for_tests:", Registry(), origin="test")


def test_plugin_replacing_a_builtin_sink_via_config(tmp_path: Path, collected: Collected) -> None:
    write_config(tmp_path, "null", payments=50, plugins="plugins_for_tests:replace_null")
    summary = run_to_end(make_engine(config.load(env={}, cwd=tmp_path)))
    assert len(collected.EVENTS) == summary.delivered == summary.events_total


def test_plugin_errors_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(tmp_path, "collect", payments=1, plugins="plugins_for_tests:broken")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["validate"]) == 2
    assert capsys.readouterr().err == (
        "synthpay: config error: plugins[0]: plugin 'plugins_for_tests:broken' failed to register: boom in register\n"
    )


def test_loading_the_configuration_runs_no_plugin_code(tmp_path: Path) -> None:
    write_config(tmp_path, "collect", payments=1, plugins="plugins_for_tests:broken")
    settings = config.load(env={}, cwd=tmp_path)
    assert settings.plugins == ("plugins_for_tests:broken",) and settings.run.sink == "collect"
