"""GET /api/v1/sd/endpoints: Prometheus HTTP service discovery of the climate services' endpoints, in
Prometheus' format (a JSON list of target groups, 200 with `[]` when empty), read with a `read` key and
limited to the key's services. The real Prometheus reading it is in tests/rules/test_endpoint_probes.py."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, default_config, sha
from stack import Pushgateway

READER_KEY = "team-a-reader-key-for-tests"
SD = "/api/v1/sd/endpoints"


def config_with_reader() -> dict[str, Any]:
    config = default_config()
    config["api_keys"].append(
        {"name": "team-a-reader", "sha256": sha(READER_KEY), "services": ["team-a-*"], "read": True}
    )
    return config


@pytest.fixture
def bridge(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> Bridge:
    return bridge_factory(pushgateway.url, config=config_with_reader())


def report(bridge: Bridge, name: str, endpoint: str | None) -> None:
    body: dict[str, Any] = {"name": name, "status": "up"}
    if endpoint is not None:
        body["endpoint"] = endpoint
    response = requests.post(f"{bridge.url}/services/", json=body, headers=bridge.headers(), timeout=5)
    assert response.status_code == 200, response.text


def discover(bridge: Bridge, key: str | None = READER_KEY) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(f"{bridge.url}{SD}", headers=headers, timeout=5)


def test_no_services_is_200_with_an_empty_list_as_json(bridge: Bridge) -> None:
    response = discover(bridge, ADMIN_KEY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == "[]"
    assert response.headers["x-endpoints-left-out"] == "0"


def test_a_key_sees_the_endpoints_of_its_services_only(bridge: Bridge) -> None:
    report(bridge, "team-a-web", "http://127.0.0.1:8080/health")
    report(bridge, "team-a-api", "https://api.example.com/")
    report(bridge, "team-b-web", "http://team-b.example.com/")
    report(bridge, "team-a-worker", None)  # no endpoint: nothing to probe, nothing left out
    assert discover(bridge).json() == [
        {"targets": ["https://api.example.com/"], "labels": {"service": "team-a-api"}},
        {"targets": ["http://127.0.0.1:8080/health"], "labels": {"service": "team-a-web"}},
    ]
    everything = discover(bridge, ADMIN_KEY).json()
    assert [group["labels"]["service"] for group in everything] == ["team-a-api", "team-a-web", "team-b-web"]


def test_a_later_report_without_an_endpoint_keeps_it_and_a_new_one_replaces_it(bridge: Bridge) -> None:
    report(bridge, "team-a-web", "http://old.example.com/")
    report(bridge, "team-a-web", None)
    assert discover(bridge).json()[0]["targets"] == ["http://old.example.com/"]
    report(bridge, "team-a-web", "http://new.example.com/")
    assert discover(bridge).json()[0]["targets"] == ["http://new.example.com/"]


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://files.example.com/",
        "tcp://db.example.com:5432",
        "db.example.com:5432",  # no scheme: urlsplit reads "db.example.com" as one
        "/health",
        "http://",
        "http://host:99999/",
        "http://user:secret@host.example.com/",
        "http://host.example.com/a b",
    ],
)
def test_endpoints_that_are_not_probeable_http_urls_are_left_out_and_counted(
    bridge: Bridge, endpoint: str
) -> None:
    report(bridge, "team-a-odd", endpoint)
    report(bridge, "team-a-web", "HTTP://web.example.com:8080/")
    response = discover(bridge)
    assert response.status_code == 200
    assert response.json() == [
        {"targets": ["HTTP://web.example.com:8080/"], "labels": {"service": "team-a-web"}}
    ]
    assert response.headers["x-endpoints-left-out"] == "1"
    log = bridge.process.log()
    assert "service 'team-a-odd': endpoint not probed:" in log
    assert "secret" not in log  # the reason never repeats the URL


def test_reading_needs_a_key_whose_scope_has_read(bridge: Bridge) -> None:
    report(bridge, "team-a-web", "http://web.example.com/")
    refused = discover(bridge, TEAM_KEY)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "key 'team-a' may not read monitoring data (its scope has no 'read')"}
    assert discover(bridge, None).status_code == 401
    assert discover(bridge, "not-a-key").status_code == 401
