"""The end-to-end alert test drives the real bridge, started by the bridge tests' fixture."""

from bridge.conftest import bridge_factory

__all__ = ["bridge_factory"]
