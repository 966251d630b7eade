"""The whole alert path on real binaries: a scheduler reports to the bridge as the scheduler guide shows ->
the bridge pushes its state to Pushgateway -> Prometheus evaluates the rendered rules -> Alertmanager
(rendered config and templates) -> email to the scheduler's registered owner over SMTP and a Slack message
to a local webhook, mentioning its registered Slack user -> resolution delivered the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from bridge.conftest import ADMIN_KEY, BridgeFactory

from fakes.recorder import http_recorder
from fakes.smtp import smtp_recorder
from generator.alertmanager import REPO_TEMPLATES
from generator.alertmanager import render as render_alertmanager
from generator.prometheus_rules import schedulers
from generator.source import Source
from generator.yamlout import dump
from rules.sources import live_source
from stack import Stack, wait_until

OWNER = "owner@example.com"


def source_for_test(tmp_path: Path, smtp: str, slack_url_file: Path) -> Source:
    """A test-local monitoring.yml: the committed routes, delivery points moved to loopback, Alertmanager's
    waits cut to 1s, and nothing bound to the clock (see rules.sources.live_source)."""

    def change(source: dict[str, Any]) -> None:
        am = source["alertmanager"]
        am.update(group_wait="1s", group_interval="1s", repeat_interval="1h")
        am["smtp"].update(smarthost=smtp, require_tls=False)
        for receiver in am["receivers"]:
            if "slack" in receiver:
                receiver["slack"]["api_url_file"] = str(slack_url_file)

    return live_source(tmp_path, change)


def report(bridge_url: str, method: str, path: str, body: Mapping[str, object]) -> None:
    headers = {"x-api-key": ADMIN_KEY, "Content-Type": "application/json"}
    response = requests.request(
        method, f"{bridge_url}/api/v1/schedulers{path}", json=body, headers=headers, timeout=5
    )
    assert response.status_code in (200, 201), response.text


def test_stale_heartbeat_reaches_the_owner_by_email_and_slack_then_resolves(
    stack: Stack, tmp_path: Path, bridge_factory: BridgeFactory
) -> None:
    slack_url_file = tmp_path / "slack_api_url"
    with smtp_recorder() as smtp, http_recorder() as slack:
        slack_url_file.write_text(f"{slack.url}/slack\n")
        source = source_for_test(tmp_path, smtp.smarthost, slack_url_file)
        rules = tmp_path / "schedulers.rules.yml"
        rules.write_text(dump(schedulers.rule_file(source)))
        alertmanager = stack.alertmanager(render_alertmanager(source, REPO_TEMPLATES))
        pushgateway = stack.pushgateway()
        pushgateway_target = pushgateway.url.removeprefix("http://")
        prometheus = stack.prometheus(
            scrape_configs=[
                {
                    "job_name": "pushgateway",
                    "honor_labels": True,
                    "static_configs": [{"targets": [pushgateway_target]}],
                }
            ],
            rule_files=[rules],
            alertmanager_url=alertmanager.url,
        )

        bridge = bridge_factory(pushgateway.url)
        registration = {
            "scheduler_id": "nightly-billing",
            "service_name": "billing",
            "job_name": "Nightly billing",
            "owner_email": OWNER,
            "alert_user_id": "U42",
        }
        report(bridge.url, "POST", "/register", registration)
        # The run started 15 minutes ago and has sent no heartbeat since: two 5m heartbeats are missing.
        started = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
        running = {**registration, "status": "running", "timestamp": started}
        del running["owner_email"], running["alert_user_id"]
        report(bridge.url, "PUT", "/nightly-billing/status", running)

        mail = wait_until(lambda: smtp.to(OWNER), timeout=30, what="email to the owner")[0]
        assert "FIRING" in mail.subject and "SchedulerHeartbeatMissing" in mail.subject
        assert "nightly-billing" in mail.subject
        body = mail.text()
        assert "nightly-billing is running but sent no heartbeat for 15m" in body
        assert "Owner: owner@example.com" in body
        assert "docs/runbooks.md#schedulerheartbeatmissing" in body

        posted = wait_until(lambda: slack.posted_to("/slack"), timeout=30, what="Slack message")[0].json()
        assert posted["channel"] == "#schedulers"
        text = posted["attachments"][0]["text"]
        assert text.startswith("<@U42>")  # the registered alert user is mentioned
        assert "nightly-billing" in text

        # Selected by the labels under test: other alerts may fire beside it on a live stack.
        firing = [
            alert
            for alert in prometheus.alerts()
            if alert["state"] == "firing"
            and alert["labels"].get("scheduler_id") == "nightly-billing"
            and alert["labels"]["alertname"] == "SchedulerHeartbeatMissing"
        ]
        assert [alert["labels"].get("owner_email") for alert in firing] == [OWNER]

        # A heartbeat arrives: the alert resolves and both receivers hear of it.
        report(bridge.url, "POST", "/nightly-billing/heartbeat", {"scheduler_id": "nightly-billing"})
        resolved = wait_until(
            lambda: [m for m in smtp.to(OWNER) if "RESOLVED" in m.subject], timeout=30, what="resolved email"
        )
        assert "SchedulerHeartbeatMissing" in resolved[0].subject
        wait_until(
            lambda: [r for r in slack.posted_to("/slack") if r.json()["attachments"][0]["color"] == "good"],
            timeout=30,
            what="resolved Slack message",
        )
