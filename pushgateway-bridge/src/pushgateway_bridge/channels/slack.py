"""Slack, two ways: incoming webhooks (one URL per Slack channel) and a bot token for chat.postMessage.

Incoming webhook: POST JSON `{"text": ..., "blocks": [...]}`; Slack answers 200 with the plain text `ok`,
or an HTTP error with a short string: 400 `invalid_payload`/`no_text`, 403 `invalid_token`/
`action_prohibited`, 404 `no_service`/`channel_not_found`, 410 `channel_is_archived`, 429, 500
`rollup_error`. The bridge's rule reads those statuses as they are (403: the credentials).

chat.postMessage: POST `{api_url}/chat.postMessage` with `Authorization: Bearer xoxb-...` and JSON
`{"channel": <channel or user id>, "text": ..., "blocks": [...]}`. A rate limit is HTTP 429 with
Retry-After; everything else is HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "<code>"}`,
read by the tables below: any code in neither table (channel_not_found, not_in_channel, is_archived,
msg_too_long, no_text, invalid_blocks...) is permanent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from pushgateway_bridge.channels.base import (
    Message,
    TransportError,
    cut,
    post,
    require_http_url,
    retry_after_seconds,
)

SLACK_API_URL = "https://slack.com/api"
# The token is refused or lacks a right: kept and retried with backoff until a person fixes it.
CREDENTIAL_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "access_denied",
    }
)
# Slack's side, for now: sending again later can work. Counted as kind slack_<code> (a fixed set).
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
MAX_HEADER_CHARACTERS = 150  # Block Kit's limits: a longer block is invalid_blocks
MAX_SECTION_CHARACTERS = 3000
MAX_TEXT_CHARACTERS = 40000
PRIORITY_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup: the three characters it asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message_payload(message: Message) -> dict[str, Any]:
    """`text` (what notifications and old clients show) and Block Kit blocks for one notification."""
    blocks: list[dict[str, Any]] = []
    if message.subject:
        header = {"type": "plain_text", "text": cut(message.subject, MAX_HEADER_CHARACTERS)}
        blocks.append({"type": "header", "text": header})
    if message.text:
        section = {"type": "mrkdwn", "text": cut(escape(message.text), MAX_SECTION_CHARACTERS)}
        blocks.append({"type": "section", "text": section})
    priority = {"type": "mrkdwn", "text": f"{PRIORITY_EMOJI[message.priority]} {message.priority}"}
    blocks.append({"type": "context", "elements": [priority]})
    if message.link:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": message.link}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": cut(escape(message.line()), MAX_TEXT_CHARACTERS), "blocks": blocks}


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


class SlackWebhookChannel:
    """Messages to named incoming webhooks: the address is a webhook's name, never a URL."""

    name = "slack"

    def __init__(self, webhooks: Mapping[str, str], *, timeout: float = 10.0) -> None:
        self.webhooks = {
            name: require_http_url(f"slack webhook {name}", url) for name, url in webhooks.items()
        }
        self.client = httpx.Client(timeout=timeout)

    def send(self, message: Message, address: str) -> None:
        url = self.webhooks.get(address)
        if url is None:
            raise TransportError(f"slack: no webhook named {address!r}", permanent=True, kind="config")
        post(self.client, url, f"slack webhook {address}", json=message_payload(message))

    def close(self) -> None:
        self.client.close()


class SlackBotChannel:
    """chat.postMessage with a bot token: the address is a channel id (C...) or a user id (U...)."""

    name = "slack"

    def __init__(self, token: str, *, api_url: str = SLACK_API_URL, timeout: float = 10.0) -> None:
        self.url = require_http_url("slack api_url", api_url).rstrip("/") + "/chat.postMessage"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}
        self.client = httpx.Client(timeout=timeout)

    def send(self, message: Message, address: str) -> None:
        what = f"slack chat.postMessage to {address}"
        body = json_body({"channel": address, **message_payload(message)})
        check_api_answer(post(self.client, self.url, what, content=body, headers=self.headers), what)

    def close(self) -> None:
        self.client.close()


def check_api_answer(response: httpx.Response, what: str) -> None:
    """Raise TransportError for a Web API answer `{"ok": false, "error": ...}`, by the tables above."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        raise TransportError(f"{what}: not a Slack API answer: {response.text[:200]!r}", kind="bad_answer")
    if answer["ok"]:
        return
    error = str(answer.get("error") or "unknown_error")
    if error in CREDENTIAL_ERRORS:
        raise TransportError(f"{what}: {error} (check the bot token and its scopes)", kind="auth")
    if error in TRANSIENT_ERRORS:
        raise TransportError(
            f"{what}: {error}", kind=f"slack_{error}", retry_after=retry_after_seconds(response)
        )
    raise TransportError(f"{what}: {error}", permanent=True)
