"""Loki push API: entries grouped into streams by their labels, sorted by time within a stream."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pushgateway_bridge.sinks.base import check_response, transport_error


def push_body(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    streams: dict[str, tuple[dict[str, str], list[list[Any]]]] = {}
    for payload in payloads:
        labels = payload["labels"]
        ident = json.dumps(labels, sort_keys=True)
        entry: list[Any] = [payload["ts_ns"], payload["line"]]
        if payload.get("metadata"):
            entry.append(payload["metadata"])
        streams.setdefault(ident, (labels, []))[1].append(entry)
    return {
        "streams": [
            {"stream": labels, "values": sorted(values, key=lambda value: int(value[0]))}
            for labels, values in streams.values()
        ]
    }


class LokiSink:
    downstream = "loki"

    def __init__(self, url: str, tenant: str | None, timeout: float) -> None:
        self.url = url.rstrip("/") + "/loki/api/v1/push"
        self.headers = {"X-Scope-OrgID": tenant} if tenant else {}
        self.client = httpx.Client(timeout=timeout)

    def send(self, payloads: list[dict[str, Any]]) -> None:
        try:
            response = self.client.post(self.url, json=push_body(payloads), headers=self.headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "POST /loki/api/v1/push") from None
        check_response(response, "POST /loki/api/v1/push")

    def close(self) -> None:
        self.client.close()
