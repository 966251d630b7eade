"""`local_api`: every sidecar event, as its client sent it, to another sidecar-compatible API
(`POST <base_url>/v1/events/batch`), so the old system keeps receiving while users move (dual-write).

What is sent is each event as received (the route keeps them in its batch, `domain/event_batch.py`), with
one addition: an event the client sent without `event_id` carries the id the bridge gave it (the one in the
bridge's answer), so a batch sent again after a lost answer is recognised by a target that deduplicates on
it, as the sidecar API does. Other APIs' events (services, schedulers...) have no sidecar form and are not
sent.
The key, when configured, goes as `x-api-key`.
"""

from __future__ import annotations

from typing import Any

import httpx

from pushgateway_bridge.integrations.config import LocalApiConfig
from pushgateway_bridge.integrations.http import origin, post
from pushgateway_bridge.jsontext import compact

PATH = "/v1/events/batch"


class LocalApiSink:
    def __init__(self, name: str, config: LocalApiConfig) -> None:
        self.url = config.base_url.rstrip("/") + PATH
        self.headers = {"Content-Type": "application/json"}
        if config.api_key is not None:
            self.headers["x-api-key"] = config.api_key.resolve()
        self.what = f"local_api {name}: POST {origin(config.base_url)}{PATH}"
        self.client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        # A row an earlier bridge stored is the original itself; a sidecar event has no
        # "original" field (its model forbids unknown ones), so the two cannot be mistaken.
        events = [payload.get("original", payload) for payload in payloads]
        post(self.client, self.url, self.what, compact({"events": events}).encode(), self.headers)

    def close(self) -> None:
        self.client.close()
