"""Extension points: a registry of named sinks, fed by plugins.

A plugin is ``package.module:attribute`` naming a callable ``register(registry)``.
Plugins come from three places, all through :func:`load_plugin`: synthpay's own built-ins
(``synthpay.sinks:register``), installed packages' ``synthpay.plugins`` entry points,
and the ``plugins`` list in ``config.toml``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from synthpay.config.errors import quoted

if TYPE_CHECKING:
    from synthpay.sinks.base import Sink, SinkContext

#: Opens a sink in the I/O thread.
SinkFactory = Callable[["SinkContext"], "Sink"]

BUILTINS = "synthpay.sinks:register"
ENTRY_POINT_GROUP = "synthpay.plugins"


class PluginError(Exception):
    """A plugin could not be loaded; the message is one line meant for the user."""


class Registry:
    """Sink factories by name. Filled while loading plugins, read-only afterwards by convention."""

    __slots__ = ("_sinks",)

    def __init__(self) -> None:
        self._sinks: dict[str, SinkFactory] = {}

    def add_sink(self, name: str, factory: SinkFactory) -> None:
        """Make ``factory`` available as ``sink = "<name>"``; a later plugin may replace a built-in."""
        if not name or not isinstance(name, str):
            raise PluginError(f"a plugin registered a sink with an invalid name {quoted(name)}")
        self._sinks[name] = factory

    def sink(self, name: str) -> SinkFactory:
        """The factory registered under ``name`` (the ``run.sink`` setting)."""
        if name not in self._sinks:
            raise PluginError(
                f"run.sink / --sink / SYNTHPAY_SINK = {quoted(name)}: expected one of "
                f"{', '.join(repr(n) for n in self.sink_names())}"
            )
        return self._sinks[name]

    def sink_names(self) -> tuple[str, ...]:
        """Every registered sink name, sorted."""
        return tuple(sorted(self._sinks))


def load_plugin(path: str, registry: Registry, *, origin: str) -> None:
    """Import ``package.module:attribute`` and call it with the registry."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{origin}: {quoted(path)} is not a plugin path; expected 'package.module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import can fail in any way; the user needs one line
        raise PluginError(f"{origin}: cannot import {quoted(module_name)} for plugin {quoted(path)} ({exc})") from None
    target = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise PluginError(
                f"{origin}: plugin {quoted(path)}: {quoted(module_name)} has no attribute {quoted(attr)}"
            ) from None
    if not callable(target):
        raise PluginError(f"{origin}: plugin {quoted(path)} is not callable; expected register(registry)")
    try:
        target(registry)
    except PluginError as exc:  # e.g. from Registry.add_sink: say which plugin did it
        raise PluginError(f"{origin}: plugin {quoted(path)}: {exc}") from None
    except Exception as exc:
        raise PluginError(f"{origin}: plugin {quoted(path)} failed to register: {exc}") from None


def load_registry(config_plugins: Iterable[str]) -> Registry:
    """Built-ins, then installed entry points, then the config file's plugins (later ones win)."""
    registry = Registry()
    load_plugin(BUILTINS, registry, origin="built-in")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        load_plugin(ep.value, registry, origin=f"entry point {quoted(ep.name)}")
    for i, path in enumerate(config_plugins):
        load_plugin(path, registry, origin=f"plugins[{i}]")
    return registry
