"""verify's consumer setup, without a broker."""

from __future__ import annotations

import logging

from conftest import settings_for

from synthpay.verify.consume import Cluster


def handlers() -> dict[str, list[logging.Handler]]:
    """Every logger's handlers, by name."""
    loggers = [logging.root, *logging.Logger.manager.loggerDict.values()]
    return {x.name: list(x.handlers) for x in loggers if isinstance(x, logging.Logger)}


def test_setting_up_consumers_adds_no_logging_handlers() -> None:
    settings = settings_for(None, {"kafka.bootstrap_servers": "127.0.0.1:1"})
    before = handlers()
    for _ in range(2):
        Cluster(settings).consumer.close()
    assert handlers() == before
