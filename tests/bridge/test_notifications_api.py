"""The System Service's notification API on the real bridge: the seed's curl commands as written (only the
host changed), an email into a local SMTP server, preferences changing the next notify, history, the
WebSocket, and a key for one user refused on another's."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import websockets
import yaml

from bridge.conftest import ADMIN_KEY, TEAM_KEY, Bridge, BridgeFactory, default_config
from fakes.smtp import SmtpRecorder, smtp_recorder
from stack import Pushgateway, wait_until

ADMIN = {"x-api-key": ADMIN_KEY}


def curl(*args: str) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    body, _, code = out.rpartition("\n")
    return int(code), json.loads(body)


def notification_bridge(
    bridge_factory: BridgeFactory, pushgateway: Pushgateway, tmp_path: Path, smtp: SmtpRecorder
) -> Bridge:
    """A bridge whose email channel is the local SMTP server, and whose anonymous scope covers the seed's
    user123 (the seed's curl commands send no key)."""
    notifications = tmp_path / "notifications.yml"
    email = {"host": smtp.host, "port": smtp.port, "security": "none", "from_address": "bundle@example.com"}
    notifications.write_text(yaml.safe_dump({"channels": {"email": email}}))
    config = {
        **default_config(),
        "anonymous": {"users": ["user123"], "rate_per_second": 100},
        "notifications_file": str(notifications),
    }
    for key in config["api_keys"]:
        key["users"] = ["*"] if key["name"] == "admin" else ["team-a-*"]
    return bridge_factory(pushgateway.url, config=config)


def test_the_seeds_curl_commands_send_email_and_preferences_change_the_next_notify(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    with smtp_recorder() as smtp:
        bridge = notification_bridge(bridge_factory, pushgateway, tmp_path, smtp)
        url = bridge.url
        # The seed's "Send notification", verbatim but for the host.
        code, sent = curl(
            "-X", "POST", f"{url}/api/notifications/notify",
            "-H", "Content-Type: application/json",
            "-d", """{
    "user_id": "user123",
    "type": "email",
    "channel": "email",
    "subject": "Model Validation Complete",
    "message": "Your model has been validated successfully.",
    "to": "user123@example.com"
  }""",
        )  # fmt: skip
        assert code == 202, sent
        assert sent["deliveries"]["email"]["status"] == "queued"
        mail = wait_until(lambda: smtp.to("user123@example.com"), timeout=20, what="the email")[0]
        assert mail.subject == "Model Validation Complete"
        assert "Your model has been validated successfully." in mail.text()
        delivered = wait_until(
            lambda: (
                (one := requests.get(f"{url}/api/notifications/{sent['id']}", timeout=5).json())[
                    "deliveries"
                ]["email"]["status"]
                == "sent"
                and one
            ),
            what="the delivery recorded as sent",
        )
        assert delivered["deliveries"]["email"]["attempts"] == 1

        # The seed's "Set notification preference" (enabled), then turned off: the next email is suppressed.
        code, preference = curl(
            "-X", "POST", f"{url}/api/notifications/preferences",
            "-H", "Content-Type: application/json",
            "-d", """{
    "user_id": "user123",
    "channel": "email",
    "enabled": true
  }""",
        )  # fmt: skip
        assert code == 200 and preference["enabled"] is True
        off = {"user_id": "user123", "channel": "email", "enabled": False}
        assert requests.post(f"{url}/api/notifications/preferences", json=off, timeout=5).status_code == 200
        second = {
            "user_id": "user123",
            "channel": "email",
            "subject": "Second",
            "message": "not sent",
            "to": "user123@example.com",
        }
        answer = requests.post(f"{url}/api/notifications/notify", json=second, timeout=5)
        assert answer.status_code == 202
        assert answer.json()["deliveries"]["email"]["status"] == "suppressed"
        prefs = requests.get(f"{url}/api/notifications/preferences/user123", timeout=5).json()
        assert [(p["channel"], p["enabled"]) for p in prefs["preferences"]] == [("email", False)]

        history = requests.get(f"{url}/api/notifications", params={"user_id": "user123"}, timeout=5).json()
        assert [n["subject"] for n in history["notifications"]] == ["Second", "Model Validation Complete"]
        suppressed = requests.get(
            f"{url}/api/notifications", params={"user_id": "user123", "status": "suppressed"}, timeout=5
        ).json()
        assert [n["subject"] for n in suppressed["notifications"]] == ["Second"]
        assert [m.subject for m in smtp.to("user123@example.com")] == ["Model Validation Complete"]


def test_keys_are_scoped_by_user_and_bad_input_names_the_field(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    with smtp_recorder() as smtp:
        bridge = notification_bridge(bridge_factory, pushgateway, tmp_path, smtp)
        url = bridge.url
        team = {"x-api-key": TEAM_KEY}
        body = {"user_id": "team-b-user", "subject": "s", "message": "m"}
        assert (
            requests.post(f"{url}/api/notifications/notify", json=body, headers=team, timeout=5).status_code
            == 403
        )
        assert (
            requests.get(
                f"{url}/api/notifications/preferences/team-b-user", headers=team, timeout=5
            ).status_code
            == 403
        )
        assert (
            requests.get(f"{url}/api/notifications", headers=team, timeout=5).status_code == 403
        )  # all users
        own = {**body, "user_id": "team-a-user"}
        assert (
            requests.post(f"{url}/api/notifications/notify", json=own, headers=team, timeout=5).status_code
            == 202
        )
        for bad, field in [
            ({"user_id": "u1", "channel": "pager", "message": "m"}, "channel"),
            ({"user_id": "u1", "channel": "webhook", "to": "http://169.254.169.254/", "message": "m"}, "to"),
            (
                {"user_id": "u1", "channel": "sms", "to": "+15550100", "message": "m"},
                "channel",
            ),  # no SMS here
            ({"user_id": "u1", "template": "nope", "data": {}}, "template"),
        ]:
            answer = requests.post(f"{url}/api/notifications/notify", json=bad, headers=ADMIN, timeout=5)
            assert answer.status_code == 422, (bad, answer.text)
            assert field in json.dumps(answer.json()["detail"]), (bad, answer.text)


def test_a_socket_receives_its_users_notifications_as_they_are_accepted(
    pushgateway: Pushgateway, bridge_factory: BridgeFactory, tmp_path: Path
) -> None:
    with smtp_recorder() as smtp:
        bridge = notification_bridge(bridge_factory, pushgateway, tmp_path, smtp)
        ws_url = bridge.url.replace("http://", "ws://") + "/api/notifications/ws/user123"

        async def scenario() -> list[dict[str, Any]]:
            async with websockets.connect(ws_url) as socket:
                first = {"user_id": "user123", "subject": "In app", "message": "hello"}
                loop = asyncio.get_running_loop()
                answer = await loop.run_in_executor(
                    None,
                    lambda: requests.post(f"{bridge.url}/api/notifications/notify", json=first, timeout=5),
                )
                assert answer.status_code == 202, answer.text
                received = json.loads(await asyncio.wait_for(socket.recv(), 10))
                sockets = await loop.run_in_executor(None, bridge.own_metric, "bridge_notification_sockets")
                assert sockets == 1
            # Reconnect with `since`: what was missed meanwhile is replayed first.
            missed = {"user_id": "user123", "subject": "Missed", "message": "while away"}
            await loop.run_in_executor(
                None, lambda: requests.post(f"{bridge.url}/api/notifications/notify", json=missed, timeout=5)
            )
            async with websockets.connect(f"{ws_url}?since={received['id']}") as socket:
                replayed = json.loads(await asyncio.wait_for(socket.recv(), 10))
            return [received, replayed]

        received, replayed = asyncio.run(scenario())
        assert (received["subject"], received["message"]) == ("In app", "hello")
        assert replayed["subject"] == "Missed"
        with pytest.raises(websockets.InvalidStatus) as refused:
            asyncio.run(
                websockets.connect(
                    bridge.url.replace("http://", "ws://") + "/api/notifications/ws/other"
                ).__aenter__()
            )
        assert refused.value.response.status_code == 403  # the anonymous scope covers user123 only
