"""Signed JSON webhooks to named targets (a team's own endpoint, a ticketing system...).

The address is a target's NAME: its URL and secret come from the configuration only, never from a request,
so no caller can make the bridge POST to a URL of its choosing (and redirects are not followed).

Each notification is one POST with the JSON body
`{"notification_id", "user_id", "subject", "text", "priority", "link", "data"}` and the headers
- `Content-Type: application/json`
- `X-Notification-Id`: the notification id, the same on every retry (deduplicate on it)
- `X-Notification-Timestamp`: when this attempt was sent, in whole seconds since the Unix epoch
- `X-Notification-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the target's secret,
  of the bytes `<timestamp>.<body>`: the timestamp header's value, a dot, the raw request body.
A receiver recomputes it over the raw body, compares in constant time (`hmac.compare_digest`) and refuses
a timestamp more than 5 minutes from its clock (a replay). Any 2xx is success; other answers go by the
bridge's rule (401/403: the secret is refused, kept and retried; other 4xx permanent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from pushgateway_bridge.channels.base import Message, TransportError, post, require_http_url


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: str
    timeout: float = 10.0


def notification_body(message: Message) -> bytes:
    document = {
        "notification_id": message.notification_id,
        "user_id": message.user_id,
        "subject": message.subject,
        "text": message.text,
        "priority": message.priority,
        "link": message.link,
        "data": dict(message.data),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """POSTs each notification, signed, to the target the address names."""

    name = "webhook"

    def __init__(
        self, targets: Mapping[str, WebhookTarget], *, clock: Callable[[], float] = time.time
    ) -> None:
        for name, target in targets.items():
            require_http_url(f"webhook {name} url", target.url)
            if not target.secret:
                raise ValueError(f"webhook {name} secret: must not be empty")
        self.targets = dict(targets)
        self.clock = clock
        self.client = httpx.Client()

    def send(self, message: Message, address: str) -> None:
        target = self.targets.get(address)
        if target is None:
            raise TransportError(f"webhook: no target named {address!r}", permanent=True, kind="config")
        what = f"webhook {address}"
        try:
            body = notification_body(message)
        except (TypeError, ValueError) as exc:
            raise TransportError(
                f"{what}: the notification's data is not JSON: {exc}", permanent=True
            ) from None
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "X-Notification-Id": message.notification_id,
            "X-Notification-Timestamp": timestamp,
            "X-Notification-Signature": signature(target.secret, timestamp, body),
        }
        post(self.client, target.url, what, content=body, headers=headers, timeout=target.timeout)

    def close(self) -> None:
        self.client.close()
