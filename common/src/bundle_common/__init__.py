"""Parsers the bundle's programs share, so a value means the same to each of them and to Prometheus."""

__version__ = "0.1.0"
