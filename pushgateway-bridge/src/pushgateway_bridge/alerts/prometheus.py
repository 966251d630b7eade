"""A small client of Prometheus' lifecycle and rules API: reload, the loaded rules, the active alerts."""

from __future__ import annotations

from typing import Any

import httpx


class PrometheusUnavailable(Exception):
    """Prometheus did not answer (down, or no prometheus_url): the caller retries later."""


class ReloadRejected(Exception):
    """Prometheus answered the reload with an error: the new rules are not loaded; its message."""


class PrometheusClient:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout_seconds

    def _request(self, method: str, path: str) -> httpx.Response:
        try:
            return httpx.request(method, f"{self.url}{path}", timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.url}: {exc}") from None

    def reload(self) -> None:
        """POST /-/reload (Prometheus runs with --web.enable-lifecycle)."""
        response = self._request("POST", "/-/reload")
        if response.status_code == httpx.codes.FORBIDDEN:
            raise PrometheusUnavailable(f"Prometheus at {self.url} runs without --web.enable-lifecycle")
        if response.status_code >= httpx.codes.BAD_REQUEST:
            raise ReloadRejected(response.text.strip() or f"HTTP {response.status_code}")

    def _data(self, path: str) -> dict[str, Any]:
        response = self._request("GET", path)
        try:
            body = response.json()
        except ValueError:
            raise PrometheusUnavailable(f"Prometheus at {self.url}{path}: not JSON") from None
        if response.status_code != httpx.codes.OK or body.get("status") != "success":
            raise PrometheusUnavailable(
                f"Prometheus at {self.url}{path}: {body.get('error', response.status_code)}"
            )
        data: dict[str, Any] = body["data"]
        return data

    def rule_groups(self) -> list[dict[str, Any]]:
        """GET /api/v1/rules: each group with its rules, alerting rules with state and alerts."""
        return list(self._data("/api/v1/rules?type=alert")["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        """GET /api/v1/alerts: every pending and firing alert."""
        return list(self._data("/api/v1/alerts")["alerts"])
