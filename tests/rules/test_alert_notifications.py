"""An alert reaches its owner's in-app socket, on real binaries: a scheduler registers with its
`alert_user_id` -> the bridge pushes its state to Pushgateway -> Prometheus evaluates the rendered rules,
joining the registration into the alert's labels -> Alertmanager, on the rendered config, sends every alert
to the bridge's receiver (its first route) -> the bridge notifies the user the alert names, whose WebSocket
receives the firing notification and then the resolved one, once each."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
from bridge.conftest import ADMIN_KEY, Bridge, BridgeFactory

from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.prometheus_rules import schedulers
from generator.yamlout import dump
from rules.sources import live_source
from stack import Pushgateway, Stack

USER = "U42"  # the scheduler seed's alert_user_id (a Slack member id), a user id of the notification API
HEADERS = {"x-api-key": ADMIN_KEY}


def report(bridge: Bridge, method: str, path: str, body: Mapping[str, object]) -> None:
    response = requests.request(
        method, f"{bridge.url}/api/v1/schedulers{path}", json=body, headers=HEADERS, timeout=5
    )
    assert response.status_code in (200, 201), response.text


def start_alerting(stack: Stack, pushgateway: Pushgateway, bridge: Bridge, tmp_path: Path) -> None:
    """Prometheus and Alertmanager on the committed rules and routes (rendered for this bridge, its admin
    key in bridge_api_key_file, Alertmanager's waits cut to 1s, nothing bound to the clock)."""
    key_file = tmp_path / "bridge_api_key"
    key_file.write_text(ADMIN_KEY)

    def change(raw: dict[str, Any]) -> None:
        raw.update(bridge_url=bridge.url, bridge_api_key_file=str(key_file))
        raw["alertmanager"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")

    source = live_source(tmp_path, change)
    rules = tmp_path / "schedulers.rules.yml"
    rules.write_text(dump(schedulers.rule_file(source)))
    alertmanager = stack.alertmanager(render_alertmanager(source, REPO_TEMPLATES))
    stack.prometheus(
        scrape_configs=[
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [pushgateway.url.removeprefix("http://")]}],
            }
        ],
        rule_files=[rules],
        alertmanager_url=alertmanager.url,
    )


@pytest.mark.slow
def test_a_scheduler_alert_reaches_its_users_websocket_firing_then_resolved(
    stack: Stack, pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    bridge = bridge_factory(pushgateway.url)
    start_alerting(stack, pushgateway, bridge, tmp_path)
    registration = {
        "scheduler_id": "nightly-billing",
        "service_name": "billing",
        "job_name": "Nightly billing",
        "owner_email": "owner@example.com",
        "alert_user_id": USER,
    }
    socket_url = f"{bridge.url.replace('http://', 'ws://')}/api/notifications/ws/{USER}?token={ADMIN_KEY}"

    async def scenario() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()

        async def call(*args: Any) -> None:
            await loop.run_in_executor(None, report, bridge, *args)

        async with websockets.connect(socket_url) as socket:
            await call("POST", "/register", registration)
            # The run started 15 minutes ago and has sent no heartbeat since: SchedulerHeartbeatMissing.
            started = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
            await call("PUT", "/nightly-billing/status", {"status": "running", "timestamp": started})
            firing = json.loads(await asyncio.wait_for(socket.recv(), 60))
            # A heartbeat arrives: Prometheus resolves the alert, Alertmanager sends the resolution.
            await call("POST", "/nightly-billing/heartbeat", {"scheduler_id": "nightly-billing"})
            resolved = json.loads(await asyncio.wait_for(socket.recv(), 60))
            return [firing, resolved]

    firing, resolved = asyncio.run(scenario())
    assert (firing["user_id"], firing["type"], firing["template"]) == (USER, "alert", "alert_firing")
    assert firing["subject"] == (
        "[FIRING] SchedulerHeartbeatMissing (warning): Scheduler nightly-billing stopped sending heartbeats"
    )
    assert firing["priority"] == "warning"
    assert "nightly-billing is running but sent no heartbeat for 15m" in firing["message"]
    assert "alert_user_id=U42" in firing["message"] and "owner_email=owner@example.com" in firing["message"]
    assert (resolved["template"], resolved["priority"]) == ("alert_resolved", "info")
    assert resolved["subject"].startswith("[RESOLVED] SchedulerHeartbeatMissing")
    assert "Resolved: " in resolved["message"]

    # The history holds each state once, though Alertmanager may have sent one more than once.
    history = requests.get(
        f"{bridge.url}/api/notifications", params={"user_id": USER}, headers=HEADERS, timeout=5
    ).json()["notifications"]
    assert [n["id"] for n in history] == [resolved["id"], firing["id"]]
