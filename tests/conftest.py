"""Fixtures shared by every test: the real Prometheus stack on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import Alertmanager, Pushgateway, Stack

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """Start real servers with `stack.prometheus(...)`, `stack.pushgateway()`, ...; all stop at teardown."""
    servers = Stack(tmp_path / "stack")
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A `stack` shared by one module's tests: for a set-up that takes seconds and that its tests only
    read, or in which each test uses names of its own or resets what it changed. All stop after the module."""
    servers = Stack(tmp_path_factory.mktemp("module-stack"))
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture
def pushgateway(stack: Stack) -> Pushgateway:
    return stack.pushgateway()


@pytest.fixture
def alertmanager(stack: Stack) -> Alertmanager:
    """An Alertmanager with a single do-nothing receiver, for tests that only post and read alerts."""
    return stack.alertmanager({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
