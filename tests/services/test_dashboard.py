"""The Grafana dashboard asks only for metrics a real synthpay run serves."""

from __future__ import annotations

import json
import re
import signal
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


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The sample names of one /metrics scrape of a real run (continuous, null sink)."""
    port = free_port()
    proc = serving_run(tmp_path_factory.mktemp("run"), port)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, proc)
        names = set(families(http_get(base + "/metrics")[1]))
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
    } <= charted
