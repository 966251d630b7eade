"""Pushgateway: PUT a whole group, DELETE a group, read its start time (to notice a restart)."""

from __future__ import annotations

import httpx

from pushgateway_bridge.sinks.base import SinkError, check_response, transport_error


class PushgatewaySink:
    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(timeout=timeout)

    def put(self, path: str, text: str) -> None:
        try:
            response = self.client.put(
                self.url + path, content=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4"}
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"PUT {path}") from None
        check_response(response, f"PUT {path}")

    def delete(self, path: str) -> None:
        try:
            response = self.client.delete(self.url + path)
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"DELETE {path}") from None
        check_response(response, f"DELETE {path}")

    def start_time(self) -> str:
        """Pushgateway's start time from /api/v1/status: it changes when Pushgateway restarts."""
        try:
            response = self.client.get(self.url + "/api/v1/status")
        except httpx.HTTPError as exc:
            raise transport_error(exc, "GET /api/v1/status") from None
        check_response(response, "GET /api/v1/status")
        try:
            return str(response.json()["data"]["start_time"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SinkError(f"unexpected /api/v1/status answer: {exc}", kind="bad_answer") from None

    def close(self) -> None:
        self.client.close()
