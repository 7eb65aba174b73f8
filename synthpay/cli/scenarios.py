"""``synthpay scenarios``: the named scenarios, a line each, or one scenario's TOML."""

from __future__ import annotations

import sys

from synthpay.cli.exitcodes import ExitCode
from synthpay.config import scenarios
from synthpay.config.errors import ConfigError


def command(name: str | None) -> ExitCode:
    """List every scenario, or print the one called ``name``; a name there is none of is a usage error."""
    try:
        if name is not None:
            sys.stdout.write(scenarios.find(name, "synthpay scenarios").text())
            return ExitCode.OK
        found = scenarios.available()
    except ConfigError as exc:
        print(f"synthpay: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    width = max((len(n) for n in found), default=0)
    for scenario in found.values():
        provider = "" if scenario.provider == "built-in" else f" [{scenario.provider}]"
        print(f"{scenario.name:<{width}}  {scenario.description}{provider}".rstrip())
    print("Run one with `synthpay run --scenario NAME`; print it with `synthpay scenarios NAME`.", file=sys.stderr)
    return ExitCode.OK
