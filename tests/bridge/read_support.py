"""What the read-API tests (logs, traces, monitoring, alerts) share: a reading key limited to team-a's
services, a GET with a key, and the seed README's curl commands run against a test bridge."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import requests

from bridge.conftest import ADMIN_KEY, Bridge, default_config, sha

READER_A = "reader-a-key-for-tests"


def reader_config(rate_per_second: float = 1000) -> dict[str, Any]:
    """The test keys and `reader-a`, which reads team-a-* services only."""
    config = default_config()
    config["api_keys"].append(
        {
            "name": "reader-a",
            "sha256": sha(READER_A),
            "services": ["team-a-*"],
            "read": True,
            "rate_per_second": rate_per_second,
        }
    )
    return config


def get(url: str, path: str, key: str = ADMIN_KEY, **params: Any) -> requests.Response:
    return requests.get(f"{url}{path}", params=params, headers={"x-api-key": key}, timeout=10)


def run_curl(command: str, bridge: Bridge) -> tuple[int, Any]:
    """A seed README curl command (written for localhost:8013) against `bridge`: status and JSON body."""
    command = command.replace("http://localhost:8013", bridge.url)
    out = subprocess.run(
        ["bash", "-c", command.replace("curl ", 'curl -s -w "\\n%{http_code}" ', 1)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)
