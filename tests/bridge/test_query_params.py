"""A query parameter given twice is refused naming it, on every router that takes query parameters:
FastAPI would read only the last value, so `?service=a&service=b` would quietly filter by `b`."""

from __future__ import annotations

import pytest
import requests

from bridge.conftest import ADMIN_KEY, Bridge, bridge_starter
from stack import Stack

REPEATED = [
    ("/api/notifications", "user_id"),
    ("/api/alerts/history", "service"),
    ("/api/logs/search", "q"),
    ("/api/traces", "service"),
    ("/api/monitoring/metrics/host_cpu", "host"),
]


@pytest.fixture(scope="module")
def bridge(module_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Bridge:
    """One bridge for the module's cases (a bridge takes about 1.5 s to start): each only reads."""
    starter = bridge_starter(module_stack, tmp_path_factory.mktemp("bridge"))
    return starter(module_stack.pushgateway().url)


@pytest.mark.parametrize(("path", "name"), REPEATED)
def test_a_parameter_given_twice_is_a_422_naming_it(bridge: Bridge, path: str, name: str) -> None:
    twice = requests.get(
        f"{bridge.url}{path}", params=[(name, "a"), (name, "b")], headers={"x-api-key": ADMIN_KEY}, timeout=10
    )
    assert twice.status_code == 422, twice.text
    assert twice.json()["detail"] == [
        {"loc": ["query", name], "msg": "given 2 times: give it once", "type": "value_error"}
    ]
    once = requests.get(
        f"{bridge.url}{path}", params={name: "a"}, headers={"x-api-key": ADMIN_KEY}, timeout=10
    )
    assert once.status_code != 422, once.text  # 200, or 503 where the downstream is not configured
