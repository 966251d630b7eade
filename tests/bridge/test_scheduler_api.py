"""Scheduler Monitoring API: the seed's Python client and curl commands as written, errors, GET and DELETE."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from bridge.conftest import ADMIN_KEY, SLOW_KEY, TEAM_KEY, BridgeFactory, default_config
from seed_clients.python import scheduler_client
from stack import Pushgateway, Stack, wait_until

# The seed's client is untyped; calls go through Any.
SchedulerMonitoringClient: Any = scheduler_client.SchedulerMonitoringClient


def curl(*args: str) -> tuple[int, dict[str, object]]:
    out = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


def test_seed_python_client_and_prometheus(
    stack: Stack, pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    prometheus = stack.prometheus(targets=[pushgateway.url.split("://")[1]])
    monitor = SchedulerMonitoringClient(
        api_url=bridge.url + "/api/v1", api_key=ADMIN_KEY, scheduler_id="python-service-eod"
    )
    registered = monitor.register("Python Service", "EOD Processing", "team@example.com")
    assert registered["created"] is True
    assert registered["owner_email"] == "team@example.com"
    assert monitor.register("Python Service", "EOD Processing", "team@example.com")["created"] is False
    assert monitor.update_status("running", "Python Service", "EOD Processing")["status"] == "running"
    assert monitor.send_heartbeat()["scheduler_id"] == "python-service-eod"
    before = datetime.now(UTC)
    done = monitor.update_status(
        "completed",
        "Python Service",
        "EOD Processing",
        execution_time_ms=1500,
        metadata={"records_processed": 1000},
    )
    after = datetime.now(UTC)
    assert set(done) == {"scheduler_id", "status", "accepted", "status_changed_at"}
    assert (done["scheduler_id"], done["status"], done["accepted"]) == (
        "python-service-eod",
        "completed",
        True,
    )
    # No client timestamp was sent: the change happened when the bridge took the update, in UTC.
    assert done["status_changed_at"].endswith("Z")
    changed = datetime.fromisoformat(done["status_changed_at"])
    assert before - timedelta(seconds=1) <= changed <= after + timedelta(seconds=1)
    stored = requests.get(
        f"{bridge.url}/api/v1/schedulers/python-service-eod", headers={"x-api-key": ADMIN_KEY}, timeout=5
    ).json()
    assert stored["status_changed_at"] == done["status_changed_at"]
    monitor.update_status("failed", "Python Service", "EOD Processing", error_message="disk full")

    sel = 'scheduler_id="python-service-eod"'
    prometheus.wait_for(f'scheduler_runs_total{{{sel},outcome="failure"}} == 1')
    assert prometheus.value(f'scheduler_runs_total{{{sel},outcome="success"}}') == 1
    assert prometheus.value(f'scheduler_status{{{sel},status="failed"}}') == 1
    assert prometheus.value(f'scheduler_status{{{sel},status="completed"}}') == 0
    assert prometheus.value(f"scheduler_consecutive_failures{{{sel}}}") == 1
    assert prometheus.value(f"scheduler_last_run_duration_seconds{{{sel}}}") is not None
    assert prometheus.value(f"scheduler_last_heartbeat_timestamp_seconds{{{sel}}}") is not None
    assert prometheus.value(f"scheduler_last_success_timestamp_seconds{{{sel}}}") is not None
    info = prometheus.query(f"scheduler_info{{{sel}}}")[0]["metric"]
    assert info["service_name"] == "Python Service"
    assert info["job_name"] == "EOD Processing"
    assert info["owner_email"] == "team@example.com"

    one = requests.get(
        f"{bridge.url}/api/v1/schedulers/python-service-eod", headers=bridge.headers(), timeout=5
    )
    assert one.status_code == 200
    view = one.json()
    assert view["status"] == "failed"
    assert view["last_run"]["error_message"] == "disk full"
    assert view["runs"] == {"success": 1, "failure": 1}
    assert view["last_heartbeat"] is not None
    listing = requests.get(f"{bridge.url}/api/v1/schedulers", headers=bridge.headers(), timeout=5).json()
    assert [s["scheduler_id"] for s in listing["schedulers"]] == ["python-service-eod"]

    deleted = requests.delete(
        f"{bridge.url}/api/v1/schedulers/python-service-eod", headers=bridge.headers(), timeout=5
    )
    assert deleted.status_code == 200
    wait_until(
        lambda: (
            not any(g["labels"].get("scheduler_id") == "python-service-eod" for g in pushgateway.groups())
        ),
        what="group deleted from Pushgateway",
    )
    gone = requests.get(
        f"{bridge.url}/api/v1/schedulers/python-service-eod", headers=bridge.headers(), timeout=5
    )
    assert gone.status_code == 404


def test_seed_curl_commands(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(pushgateway.url)
    base = bridge.url + "/api/v1"
    code, body = curl(
        "-X",
        "POST",
        f"{base}/schedulers/register",
        "-H",
        f"x-api-key: {ADMIN_KEY}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{\n    "scheduler_id": "test-service-eod",\n    "service_name": "Test Service",\n'
        '    "job_name": "Test Job"\n  }',
    )
    assert code == 201
    assert body["scheduler_id"] == "test-service-eod"
    code, body = curl(
        "-X",
        "PUT",
        f"{base}/schedulers/test-service-eod/status",
        "-H",
        f"x-api-key: {ADMIN_KEY}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{\n    "scheduler_id": "test-service-eod",\n    "service_name": "Test Service",\n'
        '    "job_name": "Test Job",\n    "status": "completed",\n'
        '    "timestamp": "2024-01-15T01:00:00Z",\n    "execution_time_ms": 5000\n  }',
    )
    assert code == 200
    assert body["status_changed_at"] == "2024-01-15T01:00:00Z"
    text = wait_until(
        lambda: (
            'scheduler_last_run_duration_seconds{instance="",job="scheduler",scheduler_id='
            '"test-service-eod"} 5' in pushgateway.metrics_text()
        ),
        what="pushed state",
    )
    assert text


@pytest.mark.parametrize(
    ("body", "loc", "needle"),
    [
        ({"status": "sleeping"}, ["body", "status"], "'pending', 'running', 'completed' or 'failed'"),
        ({"status": "running", "timestamp": "2024-01-15T01:00:00"}, ["body", "timestamp"], "time zone"),
        ({"status": "running", "timestamp": "yesterday"}, ["body", "timestamp"], "datetime"),
        ({"status": "running", "timestamp": "2999-01-01T00:00:00Z"}, ["body", "timestamp"], "future"),
        (
            {"status": "completed", "execution_time_ms": -5},
            ["body", "execution_time_ms"],
            "greater than or equal",
        ),
        (
            {"status": "running", "scheduler_id": "other-id"},
            ["body", "scheduler_id"],
            "differs from the path",
        ),
    ],
)
def test_status_validation(
    pushgateway: Pushgateway,
    bridge_factory: BridgeFactory,
    body: dict[str, object],
    loc: list[str],
    needle: str,
) -> None:
    bridge = bridge_factory(pushgateway.url)
    url = f"{bridge.url}/api/v1/schedulers/sched-1"
    requests.post(
        f"{bridge.url}/api/v1/schedulers/register",
        headers=bridge.headers(),
        timeout=5,
        json={"scheduler_id": "sched-1", "service_name": "S", "job_name": "J"},
    ).raise_for_status()
    response = requests.put(url + "/status", json=body, headers=bridge.headers(), timeout=5)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == loc
    assert needle in detail["msg"]


def test_auth_scope_rate_and_not_found(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(pushgateway.url)
    api = bridge.url + "/api/v1/schedulers"
    reg = {"scheduler_id": "team-b-nightly", "service_name": "B", "job_name": "nightly"}
    assert requests.post(f"{api}/register", json=reg, timeout=5).status_code == 401
    wrong = requests.post(f"{api}/register", json=reg, headers={"x-api-key": "guess"}, timeout=5)
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "unknown API key")
    scoped = requests.post(f"{api}/register", json=reg, headers=bridge.headers(TEAM_KEY), timeout=5)
    assert scoped.status_code == 403
    assert scoped.json()["detail"] == "key 'team-a' may not write scheduler 'team-b-nightly'"
    assert requests.post(f"{api}/register", json=reg, headers=bridge.headers(), timeout=5).status_code == 201
    hb = requests.post(
        f"{api}/team-b-nightly/heartbeat", json={}, headers=bridge.headers(TEAM_KEY), timeout=5
    )
    assert hb.status_code == 403

    missing = requests.put(
        f"{api}/nobody/status", json={"status": "running"}, headers=bridge.headers(), timeout=5
    )
    assert missing.status_code == 404
    assert "'nobody' is not registered" in missing.json()["detail"]
    missing = requests.post(
        f"{api}/nobody/heartbeat", json={"scheduler_id": "nobody"}, headers=bridge.headers(), timeout=5
    )
    assert missing.status_code == 404

    codes = [
        requests.post(f"{api}/team-b-nightly/heartbeat", headers=bridge.headers(SLOW_KEY), timeout=5)
        for _ in range(4)
    ]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert "rate limit of 2 requests/s exceeded for key 'slow'" in limited[0].json()["detail"]
    # The team key sees only its own schedulers.
    assert requests.get(api, headers=bridge.headers(TEAM_KEY), timeout=5).json()["count"] == 0


def test_anonymous_entry_and_auth_disabled(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    config = default_config()
    config["anonymous"] = {"services": ["public-*"], "schedulers": ["public-*"], "rate_per_second": 100}
    bridge = bridge_factory(pushgateway.url, config=config)
    api = bridge.url + "/api/v1/schedulers"
    ok = {"scheduler_id": "public-job", "service_name": "P", "job_name": "j"}
    assert requests.post(f"{api}/register", json=ok, timeout=5).status_code == 201
    other = {"scheduler_id": "private-job", "service_name": "P", "job_name": "j"}
    refused = requests.post(f"{api}/register", json=other, timeout=5)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "key 'anonymous' may not write scheduler 'private-job'"

    open_bridge = bridge_factory(pushgateway.url, config={"auth_disabled": True})
    assert (
        requests.post(f"{open_bridge.url}/api/v1/schedulers/register", json=other, timeout=5).status_code
        == 201
    )
    assert "auth_disabled is set" in open_bridge.process.log()


def test_a_retried_status_update_is_not_counted_twice(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    """The seeds' clients send `timestamp`; the same status at the same timestamp again is a retry."""
    bridge = bridge_factory(pushgateway.url)
    base = f"{bridge.url}/api/v1/schedulers"
    registration = {"scheduler_id": "retry-job", "service_name": "svc", "job_name": "Retry"}
    assert requests.post(f"{base}/register", json=registration, headers=bridge.headers(), timeout=5).ok
    done = {
        **registration,
        "status": "completed",
        "timestamp": "2026-11-25T10:00:00Z",
        "execution_time_ms": 900,
    }

    def put(body: dict[str, Any]) -> dict[str, Any]:
        response = requests.put(f"{base}/retry-job/status", json=body, headers=bridge.headers(), timeout=5)
        assert response.status_code == 200, response.text
        return dict(response.json())

    first, again = put(done), put(done)
    assert again == first  # the same answer for the retry
    assert (
        requests.get(f"{base}/retry-job", headers=bridge.headers(), timeout=5).json()["runs"]["success"] == 1
    )
    put({**done, "timestamp": "2026-11-25T11:00:00Z"})  # the next run
    view = requests.get(f"{base}/retry-job", headers=bridge.headers(), timeout=5).json()
    assert view["runs"] == {"success": 2, "failure": 0}
    series = 'scheduler_runs_total{instance="",job="scheduler",outcome="success",scheduler_id="retry-job"} 2'
    wait_until(
        lambda: series in requests.get(f"{pushgateway.url}/metrics", timeout=5).text.splitlines(),
        what="runs_total 2 in Pushgateway",
    )
