"""The one error configuration raises."""


class ConfigError(Exception):
    """A setting is wrong; the message is one line meant for the user."""
