"""Configuration: every setting declared once (settings), read and checked (parsers), loaded
from the layers into one frozen ``Settings`` (loader) with its tables (tables) and the rules
that tie settings together (rules), shown as a reference table (reference) and, for
``synthpay validate``, as config.toml would write them (written).

The loader's entry points are re-exported here: ``config.load(...)`` is how callers read it.
"""

from synthpay.config.errors import ConfigError
from synthpay.config.loader import FLAGS, Loaded, env_names, load, load_with_origins
from synthpay.config.written import describe

__all__ = ["FLAGS", "ConfigError", "Loaded", "describe", "env_names", "load", "load_with_origins"]
