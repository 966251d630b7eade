"""`webhook`: each batch of events as one signed JSON POST to the configured URL.

The body is `{"events": [document, ...]}` (`document.py`), and the headers
- `Content-Type: application/json`
- `X-Bridge-Integration`: the entry's name
- `X-Bridge-Signature-256`: `sha256=` and the lowercase hex HMAC-SHA256 of the exact body bytes, keyed with
  the entry's secret. A receiver recomputes it over the raw body and compares in constant time
  (`hmac.compare_digest`).
Delivery is at least once: a batch may come again (after a timeout, or a crash before the bridge noted it
delivered), so receivers deduplicate on `event_id`. Any 2xx is success; other answers go by the bridge's
rule (`http.py`).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from pushgateway_bridge.integrations.config import WebhookConfig
from pushgateway_bridge.integrations.document import document
from pushgateway_bridge.integrations.http import origin, post
from pushgateway_bridge.jsontext import compact

SIGNATURE_HEADER = "X-Bridge-Signature-256"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def batch_body(payloads: list[dict[str, Any]]) -> bytes:
    return compact({"events": [document(payload) for payload in payloads]}).encode()


class WebhookSink:
    def __init__(self, name: str, config: WebhookConfig) -> None:
        self.name = name
        self.url = config.url
        self.secret = config.secret.resolve()
        self.what = f"webhook {name}: POST {origin(config.url)}"
        self.client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        body = batch_body(payloads)
        headers = {
            "Content-Type": "application/json",
            "X-Bridge-Integration": self.name,
            SIGNATURE_HEADER: sign(self.secret, body),
        }
        post(self.client, self.url, self.what, body, headers)

    def close(self) -> None:
        self.client.close()
