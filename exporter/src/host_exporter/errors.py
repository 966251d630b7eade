"""The one error a bad flag, config key or file becomes: the CLI prints it in one line and exits with 2."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad flag or config value; the message names the flag or key and the reason."""
