"""Configuration: every setting declared once (settings), read and checked (parsers), loaded
from the layers into one frozen ``Settings`` (loader) with its tables (tables) and the rules
that tie settings together (rules), and shown as a reference table (reference).

The loader's entry points are re-exported here: ``config.load(...)`` is how callers read it.
"""

from synthpay.config.errors import ConfigError
from synthpay.config.loader import FLAGS, Loaded, describe, env_names, load, load_with_origins

__all__ = ["FLAGS", "ConfigError", "Loaded", "describe", "env_names", "load", "load_with_origins"]
