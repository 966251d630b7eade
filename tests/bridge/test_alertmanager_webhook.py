"""`POST /api/alertmanager/webhook` on the real bridge: the answer, a resend, the key it needs, bad bodies.
What it records and whom it notifies is tested in test_alert_receiver.py; the whole path from Prometheus in
tests/rules/test_alert_notifications.py."""

from __future__ import annotations

from typing import Any

import requests

from bridge.conftest import ADMIN_KEY, TEAM_KEY, BridgeFactory
from stack import Pushgateway

WEBHOOK: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{}:{alertname="ServiceDown"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "bridge-notifications",
    "groupLabels": {"alertname": "ServiceDown"},
    "commonLabels": {"alertname": "ServiceDown", "owner": "user123", "severity": "critical"},
    "commonAnnotations": {"summary": "api is down"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "ServiceDown", "owner": "user123", "severity": "critical"},
            "annotations": {"summary": "api is down"},
            "startsAt": "2025-03-04T17:31:02.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
            "fingerprint": "1a30ba71cca2921f",
        }
    ],
}


def post(url: str, body: Any, key: str = ADMIN_KEY) -> requests.Response:
    return requests.post(
        f"{url}/api/alertmanager/webhook", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=5
    )


def test_an_alert_is_notified_once_and_its_resend_is_answered_as_a_duplicate(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    first = post(bridge.url, WEBHOOK)
    assert first.status_code == 200, first.text
    assert first.json() == {"alerts": 1, "recorded": 1, "notified": 1, "duplicates": 0}
    again = post(bridge.url, WEBHOOK)
    assert again.json() == {"alerts": 1, "recorded": 0, "notified": 0, "duplicates": 1}
    history = requests.get(
        f"{bridge.url}/api/notifications", params={"user_id": "user123"}, headers=bridge.headers(), timeout=5
    ).json()["notifications"]
    assert [(n["template"], n["priority"]) for n in history] == [("alert_firing", "critical")]


def test_the_key_must_cover_every_user(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    bridge = bridge_factory(pushgateway.url)
    refused = post(bridge.url, WEBHOOK, key=TEAM_KEY)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "key 'team-a' may not send Alertmanager's alerts: they may name any user; give the key users: [\"*\"]"
    )


def test_a_body_without_what_identifies_an_alert_is_422_naming_the_field(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    bridge = bridge_factory(pushgateway.url)
    alert = WEBHOOK["alerts"][0]
    cases = [
        ({k: v for k, v in alert.items() if k != "fingerprint"}, ["body", "alerts", 0, "fingerprint"]),
        ({**alert, "fingerprint": "../../etc"}, ["body", "alerts", 0, "fingerprint"]),
        ({**alert, "startsAt": "yesterday"}, ["body", "alerts", 0, "startsAt"]),
        ({**alert, "endsAt": "2025-13-01T00:00:00Z"}, ["body", "alerts", 0, "endsAt"]),
        ({**alert, "status": "pending"}, ["body", "alerts", 0, "status"]),
    ]
    for bad, loc in cases:
        answer = post(bridge.url, {**WEBHOOK, "alerts": [bad]})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["detail"][0]["loc"] == loc
    assert post(bridge.url, {**WEBHOOK, "alerts": []}).json()["detail"][0]["loc"] == ["body", "alerts"]
