"""Fixtures for SDK tests: strict local receivers, and an environment that never touches ~/.cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.otlp import OtlpReceiver
from fakes.sidecar_api import EventReceiver


@pytest.fixture(autouse=True)
def sdk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private spool directory and no SDK variables from the caller's shell; returns the spool dir."""
    for name in (
        "SIDECAR_URL",
        "SITE_ID",
        "SIDECAR_API_KEY",
        "SIDECAR_API_KEY_FILE",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    spool_dir = tmp_path / "spool"
    monkeypatch.setenv("SIDECAR_SPOOL_DIR", str(spool_dir))
    return spool_dir


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    server = EventReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()
