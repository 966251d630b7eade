"""Pushgateway: PUT a whole group, DELETE a group, read its start time (to notice a restart).

Through urllib3 (sinks/http_endpoint.py), not httpx as the bridge's own sinks: a push is the bridge's
most frequent request out (up to one per changed group per flush, 1,000 groups a second under the
scheduler bench), and urllib3 spends about 0.55 of httpx's CPU on one (300 against 500 us measured on
loopback), CPU the request handlers share under one GIL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from pushgateway_bridge.sinks.base import SinkError
from pushgateway_bridge.sinks.http_endpoint import Endpoint

PUSH_HEADERS = {"Content-Type": "text/plain; version=0.0.4"}


class Pushed(NamedTuple):
    """How one PUT of `put_all` went."""

    seconds: float
    error: SinkError | None


class Pushgateway(Protocol):
    """What the forwarder pushes through: this sink, or the delivery process's (delivery/pushgateway.py)."""

    def put_all(self, pushes: Sequence[tuple[str, str]]) -> list[Pushed]: ...

    def delete(self, path: str) -> None: ...

    def start_time(self) -> str: ...

    def close(self) -> None: ...


class PushgatewaySink:
    def __init__(self, url: str, timeout: float) -> None:
        self.endpoint = Endpoint(url, timeout)

    def put(self, path: str, text: str) -> None:
        self.endpoint.request("PUT", path, text.encode(), PUSH_HEADERS)

    def put_all(self, pushes: Sequence[tuple[str, str]]) -> list[Pushed]:
        """PUT each (path, text) in order, until one fails for a reason that may pass (the rest wait for
        the next try); a permanent refusal does not stop the others."""
        answers = []
        for path, text in pushes:
            started = time.perf_counter()
            error = None
            try:
                self.put(path, text)
            except SinkError as exc:
                error = exc
            answers.append(Pushed(time.perf_counter() - started, error))
            if error is not None and not error.permanent:
                break
        return answers

    def delete(self, path: str) -> None:
        self.endpoint.request("DELETE", path)

    def start_time(self) -> str:
        """Pushgateway's start time from /api/v1/status: it changes when Pushgateway restarts."""
        text = self.endpoint.request("GET", "/api/v1/status")
        try:
            return str(json.loads(text)["data"]["start_time"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SinkError(f"unexpected /api/v1/status answer: {exc}", kind="bad_answer") from None

    def close(self) -> None:
        self.endpoint.close()
