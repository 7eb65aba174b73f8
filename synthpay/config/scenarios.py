"""Named scenarios: TOML configuration layers shipped in packages, found by name.

A scenario is a ``NAME.toml`` file in a scenario package: synthpay's own
(``synthpay.scenarios``), then the package each installed ``synthpay.scenarios`` entry
point names, so a scenario of a later package replaces one of the same name (as a plugin
may replace a built-in sink). Its first line, a comment, is its one-line description.

Finding a package's files imports the package (its ``__init__``, if it has one), so this
runs only for ``--scenario`` and ``synthpay scenarios``, never for a plain configuration.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib.metadata import entry_points
from importlib.resources import files
from importlib.resources.abc import Traversable

from synthpay.config.errors import ConfigError, quoted

BUILTINS = "synthpay.scenarios"
ENTRY_POINT_GROUP = "synthpay.scenarios"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario: its name, its file and where it comes from."""

    name: str
    path: Traversable  # a file on disk, unless the package is zipped
    #: "built-in", or the entry point that named its package: "entry point 'x' (package)".
    provider: str

    @property
    def description(self) -> str:
        """The file's first line when it is a comment, else nothing."""
        first = self.text().partition("\n")[0].strip()
        return first.lstrip("#").strip() if first.startswith("#") else ""

    @property
    def origin(self) -> str:
        """How error lines and ``validate``'s origins name the layer: ``scenario NAME (PATH)``."""
        return f"scenario {self.name} ({self.path})"

    def text(self) -> str:
        """The TOML as shipped."""
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--scenario {self.name}: cannot read {quoted(str(self.path))}: {exc}") from None


def available() -> dict[str, Scenario]:
    """Every scenario by name, sorted by name; a later package's replaces an earlier one's."""
    found: dict[str, Scenario] = {}
    for package, provider in [
        (BUILTINS, "built-in"),
        *((ep.value, f"entry point {quoted(ep.name)} ({ep.value})") for ep in entry_points(group=ENTRY_POINT_GROUP)),
    ]:
        for path in _files(package, provider):
            name = path.name.removesuffix(".toml")
            found[name] = Scenario(name, path, provider)
    return dict(sorted(found.items()))


def find(name: str, origin: str) -> Scenario:
    """The scenario called ``name``; ConfigError naming the close names and every name when there is none.

    ``origin`` says who asked for it (``--scenario`` or ``SYNTHPAY_SCENARIO``).
    """
    known = available()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"{origin} = {quoted(name)}: no such scenario; {hint}expected one of {', '.join(known)} (synthpay scenarios)"
    )


def _files(package: str, provider: str) -> list[Traversable]:
    """The package's ``*.toml`` files."""
    try:
        return [p for p in files(package).iterdir() if p.name.endswith(".toml") and p.is_file()]
    except Exception as exc:  # importing a plugin's package can fail in any way; the user needs one line
        raise ConfigError(f"scenarios of {provider}: cannot read package {quoted(package)} ({exc})") from None
