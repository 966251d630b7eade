"""Alertmanager: POST a batch of alerts to /api/v2/alerts, each in the v2 API's shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import httpx

from pushgateway_bridge.domain.alerts import Alert
from pushgateway_bridge.domain.events import iso
from pushgateway_bridge.sinks.base import check_response, transport_error


def v2_alert(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 body of an outbox alert; every alert the bridge posts carries `source="bridge"`. Items bridge
    0.1.0 stored are v2 alerts already, so an outbox kept across the upgrade is sent as it was stored."""
    if "startsAt" in payload:
        return dict(payload)
    alert = cast(Alert, payload)
    return {
        "labels": {"alertname": alert["name"], **alert["labels"], "source": "bridge"},
        "annotations": {"summary": alert["summary"], "description": alert["description"]},
        "startsAt": iso(alert["starts"]),
        "endsAt": iso(alert["ends"]),
    }


def post_body(payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [v2_alert(payload) for payload in payloads]


class AlertmanagerSink:
    downstream = "alertmanager"

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        try:
            response = self.client.post(self.url + "/api/v2/alerts", json=post_body(payloads))
        except httpx.HTTPError as exc:
            raise transport_error(exc, "POST /api/v2/alerts") from None
        check_response(response, "POST /api/v2/alerts")

    def close(self) -> None:
        self.client.close()
