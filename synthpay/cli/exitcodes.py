"""The exit codes of every ``synthpay`` command, and of each ``--processes`` child."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a ``synthpay`` process tells its caller.

    OK (0): ``run`` delivered every event it emitted (a stop may have cut payments and
    held-back anomalies, which the summary counts); ``validate`` found the configuration valid;
    ``verify`` passed every check.
    FAILED (1): the run failed or left events undelivered; ``verify`` found a check failing
    or could not use the cluster.
    USAGE (2): bad configuration or usage, or a sink that refused these settings: one line
    on stderr, never a traceback; running again unchanged would fail the same way.
    """

    OK = 0
    FAILED = 1
    USAGE = 2
