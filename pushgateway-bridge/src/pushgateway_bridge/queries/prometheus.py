"""A small client of Prometheus' HTTP API: reload, the loaded rules, the active alerts, and instant and range
queries (the PromQL comes built and escaped from queries/monitoring.py and queries/performance.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx


class PrometheusUnavailable(Exception):
    """Prometheus did not answer (down, or no prometheus_url): the caller retries later."""


class QueryRejected(Exception):
    """Prometheus refused a query (HTTP 400 bad_data, 422 execution): its error message."""


class ReloadRejected(Exception):
    """Prometheus answered the reload with an error: the new rules are not loaded; its message."""


class PrometheusClient:
    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout_seconds
        # One client for the bridge's life: its connections are kept, and a new client costs ~100 ms
        # (its TLS context), more than the query. httpx.Client is safe to share between threads.
        self.http = httpx.Client(timeout=timeout_seconds)

    def _request(self, method: str, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        try:
            return self.http.request(method, f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.url}: {exc}") from None

    def reload(self) -> None:
        """POST /-/reload (Prometheus runs with --web.enable-lifecycle)."""
        response = self._request("POST", "/-/reload")
        if response.status_code == httpx.codes.FORBIDDEN:
            raise PrometheusUnavailable(f"Prometheus at {self.url} runs without --web.enable-lifecycle")
        if response.status_code >= httpx.codes.BAD_REQUEST:
            raise ReloadRejected(response.text.strip() or f"HTTP {response.status_code}")

    def _data(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self._request("GET", path, params)
        try:
            body = response.json()
        except ValueError:
            raise PrometheusUnavailable(f"Prometheus at {self.url}{path}: not JSON") from None
        if body.get("errorType") in ("bad_data", "execution"):  # its 400 and 422: the query, not Prometheus
            raise QueryRejected(f"{body.get('errorType')}: {body.get('error')}")
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

    def query(self, expr: str, time: datetime | None = None) -> dict[str, Any]:
        """GET /api/v1/query: Prometheus' `data` (`resultType`, `result`) of `expr` at `time` (its now)."""
        params = {"query": expr}
        if time is not None:
            params["time"] = _seconds(time)
        return self._data("/api/v1/query", params)

    def query_range(self, expr: str, start: datetime, end: datetime, step: float) -> dict[str, Any]:
        """GET /api/v1/query_range: Prometheus' `data` (a matrix) of `expr` from `start` to `end`."""
        params = {"query": expr, "start": _seconds(start), "end": _seconds(end), "step": repr(float(step))}
        return self._data("/api/v1/query_range", params)


def _seconds(moment: datetime) -> str:
    # Unix seconds to the millisecond, Prometheus' own resolution.
    return f"{moment.timestamp():.3f}"
