"""Every notification channel of a real bridge pointed at the strict fakes in tests/fakes/: an SMTP server,
Slack (two incoming webhooks and the bot's chat.postMessage), Teams Workflows, Twilio's Messages API and
a receiver that verifies the webhook's HMAC signature. Secrets go in files, as notifications.yml wants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from bridge.conftest import ADMIN_KEY, Bridge, default_config
from fakes.slack import SlackFake
from fakes.smtp import SmtpRecorder, smtp_recorder
from fakes.teams import TeamsFake
from fakes.twilio import TwilioFake
from fakes.webhook import WebhookReceiver
from stack import wait_until

ADMIN = {"x-api-key": ADMIN_KEY}
FROM_NUMBER = "+15550100"
ARCHIVED_WEBHOOK = "/services/T0/B2/archived"  # SlackFake answers 410 channel_is_archived: permanent


@dataclass
class Receivers:
    smtp: SmtpRecorder
    slack: SlackFake
    teams: TeamsFake
    twilio: TwilioFake
    webhook: WebhookReceiver


@contextmanager
def receivers() -> Iterator[Receivers]:
    with ExitStack() as running:
        yield Receivers(
            running.enter_context(smtp_recorder()),
            running.enter_context(SlackFake()),
            running.enter_context(TeamsFake()),
            running.enter_context(TwilioFake()),
            running.enter_context(WebhookReceiver()),
        )


def notifications_file(tmp_path: Path, fakes: Receivers) -> Path:
    """notifications.yml with every channel configured against `fakes`, its secrets in files beside it."""

    def secret(name: str, value: str) -> str:
        path = tmp_path / f"{name}.secret"
        path.write_text(value + "\n")
        return str(path)

    channels = {
        "email": {
            "host": fakes.smtp.host,
            "port": fakes.smtp.port,
            "security": "none",
            "from_address": "bundle@example.com",
        },
        "slack": {
            "webhook_url_files": {
                "ops": secret("slack-ops", fakes.slack.webhook_url()),
                "archive": secret("slack-archive", fakes.slack.webhook_url(ARCHIVED_WEBHOOK)),
            },
            "bot_token_file": secret("slack-bot", fakes.slack.token),
            "api_url": fakes.slack.api_url,
        },
        "teams": {"url_files": {"ops": secret("teams-ops", fakes.teams.webhook_url())}},
        "sms": {
            "base_url": fakes.twilio.url,
            "account_sid": fakes.twilio.account_sid,
            "auth_token_file": secret("twilio", fakes.twilio.auth_token),
            "from_number": FROM_NUMBER,
        },
        "webhooks": {
            "ops": {
                "url": f"{fakes.webhook.url}/hooks/bridge",
                "secret_file": secret("hook", fakes.webhook.secret),
            }
        },
    }
    path = tmp_path / "notifications.yml"
    path.write_text(yaml.safe_dump({"channels": channels}))
    return path


def bridge_config(tmp_path: Path, fakes: Receivers, **settings: Any) -> dict[str, Any]:
    """The test keys (admin: every user; team-a: users team-a-*), the seed's user123 anonymous (its curl
    commands and browser snippet send no key), every channel at `fakes`."""
    config = {
        **default_config(),
        "anonymous": {"users": ["user123"], "rate_per_second": 100},
        "notifications_file": str(notifications_file(tmp_path, fakes)),
        **settings,
    }
    for key in config["api_keys"]:
        key["users"] = ["*"] if key["name"] == "admin" else ["team-a-*"]
    return config


def notify(bridge: Bridge, **body: Any) -> dict[str, Any]:
    """POST /api/notifications/notify as the admin; the 202's body."""
    answer = requests.post(f"{bridge.url}/api/notifications/notify", json=body, headers=ADMIN, timeout=10)
    assert answer.status_code == 202, answer.text
    accepted: dict[str, Any] = answer.json()
    return accepted


def notification(bridge: Bridge, notification_id: str) -> dict[str, Any]:
    answer = requests.get(f"{bridge.url}/api/notifications/{notification_id}", headers=ADMIN, timeout=10)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def settled(bridge: Bridge, notification_id: str, channel: str, timeout: float = 20) -> dict[str, Any]:
    """The delivery on `channel` once it is no longer queued (sent or failed)."""

    def done() -> dict[str, Any] | None:
        delivery: dict[str, Any] = notification(bridge, notification_id)["deliveries"][channel]
        return delivery if delivery["status"] != "queued" else None

    found: dict[str, Any] = wait_until(done, timeout=timeout, what=f"the {channel} delivery settled")
    return found
