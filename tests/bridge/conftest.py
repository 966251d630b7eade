"""Fixtures for the bridge: the real `pushgateway-bridge` process, a config writer, a strict Loki receiver."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from fakes.loki import LokiReceiver
from stack import ServerProcess, Stack, free_port
from stack.postgres import postgres_server, postgres_url  # noqa: F401 (fixtures: PostgreSQL storage)

BRIDGE_BIN = str(Path(sys.executable).parent / "pushgateway-bridge")
ADMIN_KEY = "admin-key-for-tests"
TEAM_KEY = "team-a-key-for-tests"
SLOW_KEY = "slow-key-for-tests"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def default_config() -> dict[str, Any]:
    return {
        "api_keys": [
            {
                "name": "admin",
                "sha256": sha(ADMIN_KEY),
                "services": ["*"],
                "schedulers": ["*"],
                "notify": ["*"],  # the key Alertmanager sends to the relays (tests/rules/test_relays.py)
                "users": ["*"],  # the notification API, every user
                "read": True,  # the System Service's query API: metrics, logs, traces, alerts
                "rate_per_second": 10000,
            },
            {
                "name": "team-a",
                "sha256": sha(TEAM_KEY),
                "services": ["team-a-*"],
                "schedulers": ["team-a-*"],
                "rate_per_second": 10000,
            },
            {
                "name": "slow",
                "sha256": sha(SLOW_KEY),
                "services": ["*"],
                "schedulers": ["*"],
                "rate_per_second": 2,
            },
        ],
        "flush_interval_seconds": 0.2,
        "retry_initial_seconds": 0.1,
        "retry_max_seconds": 1.0,
        "restore_check_interval_seconds": 0.5,
        "request_timeout_seconds": 2,
    }


class Bridge:
    """A running bridge process and what it was started with."""

    def __init__(
        self, process: ServerProcess, data_dir: Path, config_path: Path, env: dict[str, str]
    ) -> None:
        self.process = process
        self.url = process.url
        self.data_dir = data_dir
        self.config_path = config_path
        self.env = env

    def headers(self, key: str = ADMIN_KEY) -> dict[str, str]:
        return {"x-api-key": key, "Content-Type": "application/json"}

    def own_metric(self, name: str, **labels: str) -> float | None:
        text = requests.get(f"{self.url}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            series, _, value = line.rpartition(" ")
            if series.split("{")[0] != name:
                continue
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                return float(value)
        return None


BridgeFactory = Callable[..., Bridge]


def bridge_starter(stack: Stack, tmp: Path) -> BridgeFactory:
    """Start `pushgateway-bridge` as a real process through `stack`, its files under `tmp`; call again with
    the same data_dir to restart it. `bridge_factory` is this on the test's own stack; a fixture sharing a
    stack across a module's tests (`module_stack`) calls it directly."""

    def start(
        pushgateway_url: str,
        *,
        alertmanager_url: str | None = None,
        loki_url: str | None = None,
        config: dict[str, Any] | None = None,
        data_dir: Path | None = None,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Bridge:
        data_dir = data_dir or tmp / f"bridge-data-{len(stack.started)}"
        config_path = data_dir.parent / f"{data_dir.name}.yml"
        config_path.write_text(yaml.safe_dump(config if config is not None else default_config()))
        port = port or free_port()
        env = {
            "BRIDGE_PUSHGATEWAY_URL": pushgateway_url,
            "BRIDGE_DATA_DIR": str(data_dir),
            "BRIDGE_LOG_LEVEL": "info",
        }
        if alertmanager_url:
            env["BRIDGE_ALERTMANAGER_URL"] = alertmanager_url
        if loki_url:
            env["BRIDGE_LOKI_URL"] = loki_url
        env.update(extra_env or {})
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
        process = stack.process(
            "bridge",
            [BRIDGE_BIN, f"--web.listen-address=127.0.0.1:{port}", f"--config={config_path}"],
            f"http://127.0.0.1:{port}",
            "/health",
            env={**clean, **env},
        )
        return Bridge(process, data_dir, config_path, env)

    return start


@pytest.fixture
def bridge_factory(stack: Stack, tmp_path: Path) -> BridgeFactory:
    """Start `pushgateway-bridge` as a real process; call again with the same data_dir to restart it."""
    return bridge_starter(stack, tmp_path)


@pytest.fixture
def loki() -> Iterator[LokiReceiver]:
    receiver = LokiReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
