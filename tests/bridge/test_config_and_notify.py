"""CLI and config errors, group expiry, readiness, OpenAPI, and Alertmanager webhooks to Teams and SMS
(the relays), which only keys with a `notify` scope may use."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import yaml

from bridge.conftest import ADMIN_KEY, BRIDGE_BIN, TEAM_KEY, BridgeFactory, default_config, sha
from stack import Pushgateway, wait_until


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"api_keys": [{"name": "k", "sha256": "abc"}]},
            "api_keys.0.sha256: Value error, must be the 64-character",
        ),
        ({"flush_interval_seconds": -1}, "flush_interval_seconds: Input should be greater than 0"),
        ({"no_such_setting": 1}, "no_such_setting: Extra inputs are not permitted"),
        (
            {"notify": {"teams": {"ops": {"url": {"env": "BRIDGE_TEST_UNSET_URL"}}}}},
            "notify.teams.ops.url: env BRIDGE_TEST_UNSET_URL is not set",
        ),
        ("- a list", "--config: "),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, config: Any, message: str) -> None:
    path = tmp_path / "bridge.yml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    result = subprocess.run(
        [BRIDGE_BIN, "--config", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_env_overrides_file_and_bad_env_value(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yml"
    path.write_text(yaml.safe_dump({"max_body_bytes": 100}))
    result = subprocess.run(
        [BRIDGE_BIN, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"BRIDGE_MAX_BODY_BYTES": "many", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2
    assert "max_body_bytes: Input should be a valid integer" in result.stderr


def test_silent_groups_expire_and_ready_reports_downstreams(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory
) -> None:
    config = {**default_config(), "group_ttl_seconds": {"service": 1.5}}
    bridge = bridge_factory(
        pushgateway.url, config=config, extra_env={"BRIDGE_ALERTMANAGER_URL": "http://127.0.0.1:9"}
    )
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    requests.post(
        f"{bridge.url}/services/", json={"name": "quiet", "status": "up"}, headers=headers, timeout=5
    ).raise_for_status()
    wait_until(
        lambda: any(g["labels"].get("service") == "quiet" for g in pushgateway.groups()), what="pushed"
    )
    wait_until(
        lambda: not any(g["labels"].get("service") == "quiet" for g in pushgateway.groups()),
        timeout=10,
        what="expired group deleted",
    )
    assert bridge.own_metric("bridge_groups_expired_total", job="service") == 1
    assert "expiring group job=service" in bridge.process.log()

    ready = requests.get(f"{bridge.url}/ready", timeout=5)
    assert ready.status_code == 200
    downstreams = ready.json()["downstreams"]
    assert downstreams["pushgateway"]["reachable"] is True
    assert downstreams["alertmanager"]["reachable"] is False
    assert downstreams["events_file"]["reachable"] is True
    openapi = requests.get(f"{bridge.url}/openapi.json", timeout=5).json()
    for path in ("/services/", "/metrics/", "/api/v1/schedulers/register", "/v1/events/batch", "/ready"):
        assert path in openapi["paths"]
    assert requests.get(f"{bridge.url}/docs", timeout=5).status_code == 200
    lines = [json.loads(line) for line in (bridge.data_dir / "events.jsonl").read_text().splitlines()]
    assert lines[0]["service_name"] == "quiet"
    assert lines[0]["labels"] == {"source": "service", "kind": "status", "service": "quiet", "level": "info"}


class Recorder:
    """An HTTP server standing in for Teams and Twilio; records each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if recorder.fail_first > 0:
                    recorder.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(201)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


WEBHOOK = {
    "version": "4",
    "status": "firing",
    "receiver": "ops",
    "groupKey": "{}:{}",
    "groupLabels": {"alertname": "SchedulerFailed"},
    "commonLabels": {"alertname": "SchedulerFailed"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "SchedulerFailed", "scheduler_id": "eod"},
            "annotations": {"summary": "EOD failed", "description": "exit 1"},
            "startsAt": "2024-01-15T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        }
    ],
}


def test_notify_teams_and_sms(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    target = Recorder()
    target.fail_first = 1  # the first delivery fails: the outbox retries it
    token_file = tmp_path / "twilio-token"
    token_file.write_text("s3cret\n")
    config = {
        **default_config(),
        "notify": {
            "teams": {"ops": {"url": {"env": "TEAMS_OPS_URL"}}},
            "sms": {
                "oncall": {
                    "base_url": target.url,
                    "account_sid": "AC123",
                    "auth_token": {"file": str(token_file)},
                    "from_number": "+15550001",
                    "to": ["+15550002", "+15550003"],
                }
            },
        },
    }
    bridge = bridge_factory(
        pushgateway.url, config=config, extra_env={"TEAMS_OPS_URL": target.url + "/teams-hook"}
    )
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    teams = requests.post(f"{bridge.url}/notify/teams/ops", json=WEBHOOK, headers=headers, timeout=5)
    assert teams.status_code == 202
    sms = requests.post(f"{bridge.url}/notify/sms/oncall", json=WEBHOOK, headers=headers, timeout=5)
    assert sms.status_code == 202
    assert sms.json()["accepted"] == 2
    unknown = requests.post(f"{bridge.url}/notify/teams/nobody", json=WEBHOOK, headers=headers, timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no teams target 'nobody' in notify.teams"
    bad = requests.post(
        f"{bridge.url}/notify/teams/ops", json={"status": "firing", "alerts": []}, headers=headers, timeout=5
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "alerts"]

    wait_until(lambda: len(target.requests) == 3, timeout=10, what="one card and two SMS")
    card = json.loads(next(r for r in target.requests if r["path"] == "/teams-hook")["body"])
    assert card["type"] == "message"
    attachment = card["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["body"][0]["text"] == "[FIRING:1] SchedulerFailed"
    messages = [r for r in target.requests if r["path"] == "/2010-04-01/Accounts/AC123/Messages.json"]
    assert sorted(parse_qs(m["body"].decode())["To"][0] for m in messages) == ["+15550002", "+15550003"]
    form = parse_qs(messages[0]["body"].decode())
    assert form["From"] == ["+15550001"]
    assert form["Body"] == ["FIRING: EOD failed (eod)"]
    expected_auth = "Basic " + base64.b64encode(b"AC123:s3cret").decode()
    assert messages[0]["headers"]["Authorization"] == expected_auth
    assert (bridge.own_metric("bridge_forward_errors_total", downstream="notify", kind="http_503") or 0) == 1


PAGER_KEY = "pager-key-for-tests"


def test_the_relays_need_a_notify_scope(pushgateway: Pushgateway, bridge_factory: BridgeFactory) -> None:
    """A key scoped to team-a-* services and schedulers may not page the on-call phone; a key whose
    `notify` scope covers `sms/*` may, and only by SMS."""
    config = default_config()
    config["api_keys"].append(
        {"name": "pager", "sha256": sha(PAGER_KEY), "notify": ["sms/*"], "rate_per_second": 100}
    )
    config["notify"] = {
        "teams": {"ops": {"url": {"value": "http://127.0.0.1:9/teams"}}},
        "sms": {
            "oncall": {
                "base_url": "http://127.0.0.1:9",
                "account_sid": "AC123",
                "auth_token": {"value": "token"},
                "from_number": "+15550001",
                "to": ["+15550002"],
            }
        },
    }
    bridge = bridge_factory(pushgateway.url, config=config)

    def relay(path: str, key: str) -> requests.Response:
        return requests.post(
            f"{bridge.url}/notify/{path}", json=WEBHOOK, headers=bridge.headers(key), timeout=5
        )

    team = relay("sms/oncall", TEAM_KEY)
    assert team.status_code == 403
    assert team.json()["detail"] == "key 'team-a' may not send to relay target 'sms/oncall'"
    assert relay("teams/ops", TEAM_KEY).status_code == 403
    # Out of scope is refused before the lookup: the key does not learn which targets exist.
    nobody = relay("sms/nobody", TEAM_KEY)
    assert nobody.status_code == 403
    assert nobody.json()["detail"] == "key 'team-a' may not send to relay target 'sms/nobody'"

    pager = relay("sms/oncall", PAGER_KEY)
    assert pager.status_code == 202
    assert pager.json() == {"accepted": 1, "target": "oncall"}
    teams = relay("teams/ops", PAGER_KEY)
    assert teams.status_code == 403
    assert teams.json()["detail"] == "key 'pager' may not send to relay target 'teams/ops'"
    assert relay("sms/nobody", PAGER_KEY).status_code == 404
    assert bridge.own_metric("bridge_rejected_total", reason="forbidden") == 4
    assert bridge.own_metric("bridge_events_accepted_total", source="notify") == 1
