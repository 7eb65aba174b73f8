"""The Grafana dashboard asks only for metrics a real synthpay run serves."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import REPO_DIR
from http_support import families, free_port, http_get, serving_run, wait_until_ready

DASHBOARD = REPO_DIR / "deploy" / "grafana-dashboard.json"
#: Every series the dashboard charts is synthpay's own.
METRIC = re.compile(r"\bsynthpay_[a-z_]+\b")


def queries(node: Any) -> Iterator[str]:
    """Every PromQL expression in the dashboard: panel targets and template variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


#: A run with [anomalies] and a phase: what only such a run serves is charted too.
SCENARIO = """
[anomalies]
duplicate = 0.5

[[phases]]
name = "surge"
at_s = 0
duration_s = 3600
"""


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The sample names of a /metrics scrape of a real run (continuous, null sink, anomalies, a phase)."""
    port = free_port()
    cwd = tmp_path_factory.mktemp("run")
    (cwd / "config.toml").write_text(SCENARIO)
    proc = serving_run(cwd, port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, proc)
        deadline = time.monotonic() + 15
        # Anomaly counters have samples once the first is injected, a moment after ready.
        while "synthpay_anomalies_total" not in (names := set(families(http_get(base + "/metrics")[1]))):
            assert time.monotonic() < deadline and proc.poll() is None, "no anomaly was ever injected"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        proc.kill()
    return names


def test_every_metric_the_dashboard_queries_is_served(dashboard: dict[str, Any], scraped: set[str]) -> None:
    found = [(expr, name) for expr in queries(dashboard) for name in METRIC.findall(expr)]
    assert len({name for _, name in found}) >= 12
    missing = [(expr, name) for expr, name in found if name not in scraped]
    assert not missing, f"not in a real scrape: {missing}"


def test_every_panel_queries_synthpay_through_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"] and all(METRIC.search(t["expr"]) for t in panel["targets"]), panel["title"]
        assert all('instance=~"$instance"' in t["expr"] for t in panel["targets"]), panel["title"]


def test_the_dashboard_covers_what_the_issue_asks_for(dashboard: dict[str, Any]) -> None:
    charted = set(METRIC.findall(" ".join(queries(dashboard))))
    assert {
        "synthpay_events_emitted_total",
        "synthpay_events_produced_total",
        "synthpay_events_delivered_total",
        "synthpay_events_failed_total",
        "synthpay_payments_in_flight",
        "synthpay_scheduling_lag_max_seconds",
        "synthpay_rate_target_payments_per_second",
        "synthpay_rate_achieved_payments_per_second",
        "synthpay_sink_queue_messages",
        "synthpay_healthy",
        "synthpay_anomalies_total",
        "synthpay_phase_active",
        "synthpay_draining",
    } <= charted


def test_the_import_dialog_asks_for_the_prometheus_data_source_and_the_dashboard_uses_it(
    dashboard: dict[str, Any],
) -> None:
    assert dashboard["__inputs"] == [
        {
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "The Prometheus data source that scrapes synthpay's /metrics",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }
    ]
    # Import puts the chosen data source where ${DS_PROMETHEUS} is: the picker's default,
    # which every panel and the instance variable query through.
    text = json.dumps(dashboard)
    assert text.count("${DS_PROMETHEUS}") == 1
    picker = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
    assert picker["type"] == "datasource" and picker["current"]["value"] == "${DS_PROMETHEUS}"


def test_the_dashboard_requires_every_panel_type_it_uses(dashboard: dict[str, Any]) -> None:
    required = {(r["type"], r["id"]) for r in dashboard["__requires"]}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} <= required
    used = {("panel", p["type"]) for p in dashboard["panels"]}
    assert used and used == {r for r in required if r[0] == "panel"}
