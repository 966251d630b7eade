"""A strict Slack: incoming webhooks and the Web API's chat.postMessage, refusing what Slack refuses.

Incoming webhook (`POST /services/T.../B.../<secret>`): JSON object with a non-empty `text` or `blocks`,
else 400 `no_text`; not JSON, 400 `invalid_payload`; blocks outside Block Kit's rules, 400
`invalid_blocks`; an unknown path, 404 `no_service`; a revoked one, 403 `invalid_token`; an archived
channel, 410 `channel_is_archived`. Success: 200, plain text `ok`.

chat.postMessage (`POST /api/chat.postMessage`): `Authorization: Bearer <token>` (missing: `not_authed`,
wrong: `invalid_auth`), a JSON body (else `invalid_post_type`), a known `channel` (`channel_not_found`;
archived: `is_archived`), `text` or `blocks` (`no_text`), text at most 40,000 characters (`msg_too_long`).
Every answer is HTTP 200 with `{"ok": ...}`, as Slack's are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from fakes.http import Answer, FakeHttpServer, Refuse, Request

BLOCK_TYPES = {"header", "section", "context", "actions", "divider", "image", "rich_text", "input", "file"}
TEXT_LIMITS = {"header": 150, "section": 3000}


@dataclass(frozen=True)
class SlackPost:
    via: str  # "webhook" or "api"
    channel: str  # the webhook's path, or the API call's channel
    body: dict[str, Any]
    headers: dict[str, str]


class Refused(Exception):
    pass


def check_blocks(blocks: Any) -> None:
    if not isinstance(blocks, list) or len(blocks) > 50:
        raise Refused("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            raise Refused("invalid_blocks")
        limit = TEXT_LIMITS.get(block["type"])
        if limit is not None:
            text = block.get("text")
            if not isinstance(text, dict) or not isinstance(text.get("text"), str):
                raise Refused("invalid_blocks")
            if not 0 < len(text["text"]) <= limit:
                raise Refused("invalid_blocks")
            if block["type"] == "header" and text.get("type") != "plain_text":
                raise Refused("invalid_blocks")


def check_message(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Refused("invalid_payload")
    text, blocks = body.get("text"), body.get("blocks")
    if not (isinstance(text, str) and text) and not blocks:
        raise Refused("no_text")
    if blocks is not None:
        check_blocks(blocks)
    if isinstance(text, str) and len(text) > 40000:
        raise Refused("msg_too_long")
    return body


class SlackFake(FakeHttpServer):
    """`webhooks`: the paths that work; `channels`: the ids chat.postMessage knows; `token`: the bot's."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        channels: frozenset[str] = frozenset({"C0TEAM", "U0ALICE"}),
        archived_channels: frozenset[str] = frozenset({"C0OLD"}),
        webhooks: frozenset[str] = frozenset({"/services/T0/B0/hooksecret"}),
        revoked_webhooks: frozenset[str] = frozenset({"/services/T0/B1/revoked"}),
        archived_webhooks: frozenset[str] = frozenset({"/services/T0/B2/archived"}),
    ) -> None:
        super().__init__()
        self.token = token
        self.channels, self.archived_channels = channels, archived_channels
        self.webhooks, self.revoked_webhooks, self.archived_webhooks = (
            webhooks,
            revoked_webhooks,
            archived_webhooks,
        )
        self.timestamps = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def webhook_url(self, path: str = "/services/T0/B0/hooksecret") -> str:
        return self.url + path

    def answer(self, request: Request) -> Answer:
        if request.path == "/api/chat.postMessage":
            return self.post_message(request)
        return self.incoming_webhook(request)

    def incoming_webhook(self, request: Request) -> Answer:
        if request.path in self.revoked_webhooks:
            raise Refuse(Answer.text(403, "invalid_token"))
        if request.path in self.archived_webhooks:
            raise Refuse(Answer.text(410, "channel_is_archived"))
        if request.path not in self.webhooks:
            raise Refuse(Answer.text(404, "no_service"))
        if request.content_type != "application/json":
            raise Refuse(Answer.text(400, "invalid_payload"))
        try:
            body = check_message(request.json())
        except ValueError:
            raise Refuse(Answer.text(400, "invalid_payload")) from None
        except Refused as refusal:
            raise Refuse(Answer.text(400, str(refusal))) from None
        self.accept(SlackPost("webhook", request.path, body, request.headers))
        return Answer.text(200, "ok")

    def post_message(self, request: Request) -> Answer:
        authorization = request.headers.get("authorization", "")
        if not authorization:
            raise Refuse(api_error("not_authed"))
        if authorization != f"Bearer {self.token}":
            raise Refuse(api_error("invalid_auth"))
        if request.content_type != "application/json":
            raise Refuse(api_error("invalid_post_type"))
        try:
            body = request.json()
        except ValueError:
            raise Refuse(api_error("invalid_json")) from None
        channel = body.get("channel") if isinstance(body, dict) else None
        if channel in self.archived_channels:
            raise Refuse(api_error("is_archived"))
        if channel not in self.channels:
            raise Refuse(api_error("channel_not_found"))
        try:
            check_message(body)
        except Refused as refusal:
            raise Refuse(api_error(str(refusal))) from None
        self.accept(SlackPost("api", str(channel), body, request.headers))
        with self.lock:
            ts = f"1700000000.{next(self.timestamps):06d}"
        return Answer.json(
            200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}}
        )


def api_error(error: str) -> Answer:
    return Answer.json(200, {"ok": False, "error": error})
