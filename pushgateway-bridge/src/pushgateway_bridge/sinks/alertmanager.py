"""Alertmanager: POST a batch of alerts to /api/v2/alerts."""

from __future__ import annotations

from typing import Any

import httpx

from pushgateway_bridge.sinks.base import check_response, transport_error


class AlertmanagerSink:
    downstream = "alertmanager"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        try:
            response = self.client.post(self.url + "/api/v2/alerts", json=payloads)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "POST /api/v2/alerts") from None
        check_response(response, "POST /api/v2/alerts")

    def close(self) -> None:
        self.client.close()
