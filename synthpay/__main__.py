"""``python -m synthpay``."""

from synthpay.cli import entry

entry()
