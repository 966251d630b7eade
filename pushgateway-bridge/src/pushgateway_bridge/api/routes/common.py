"""Helpers shared by the routes: the JSON answer, a 422 naming the input, the 503 of a backend away, and
the outbox item of an accepted request's event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pushgateway_bridge.domain.events import EVENTS, Event
from pushgateway_bridge.jsontext import compact_bytes
from pushgateway_bridge.storage.base import OutboxItem

RETRY_SECONDS = 10  # Prometheus, Loki or Tempo restarts in seconds


JSON_TYPE = str(JSONResponse.media_type).encode("latin-1")


class Answer(JSONResponse):
    """JSONResponse's compact JSON, encoded by pydantic-core (jsontext.py): json.dumps took a tenth of a
    heartbeat's CPU."""

    def render(self, content: Any) -> bytes:
        return compact_bytes(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        """JSONResponse's two headers, without the general case's work (a fiftieth of a heartbeat)."""
        if headers is not None or self.status_code < 200 or self.status_code in (204, 304):
            super().init_headers(headers)
            return
        self.raw_headers = [(b"content-length", b"%d" % len(self.body)), (b"content-type", JSON_TYPE)]


def answer(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """The answer as a ready Response: FastAPI then skips validating and re-encoding it (a response model
    on these routes cost more per request than the SQLite commit)."""
    return Answer(content, status_code)


def invalid(loc: tuple[str, ...], message: str) -> RequestValidationError:
    """A 422 naming the input at `loc` (`("query", "step")`, `("path", "trace_id")`) and what is wrong."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


def unavailable(detail: str) -> HTTPException:
    """A backend the route needs (Prometheus, Loki, Tempo, the rule check) not set or not reachable: a 503
    worth retrying."""
    headers = {"Retry-After": str(RETRY_SECONDS)}
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers=headers)


def logged(key: str, event: Event) -> OutboxItem:
    """The event, for the event sinks; `key` is the entity it is about."""
    return OutboxItem(EVENTS, key, event)
