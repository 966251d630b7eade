"""Helpers shared by the routes: the JSON answer and the log record of an accepted request."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from pushgateway_bridge.domain.events import log_record
from pushgateway_bridge.storage.base import OutboxItem


def answer(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """The answer as a ready Response: FastAPI then skips validating and re-encoding it (a response model
    on these routes cost more per request than the SQLite commit)."""
    return JSONResponse(content, status_code)


def log_item(  # noqa: PLR0917  (source, kind, name, key, time, fields: every call passes all six)
    source: str,
    kind: str,
    name: str,
    key: str,
    now: float,
    fields: dict[str, Any],
    *,
    level: str = "info",
    at: float | None = None,
    event_id: str | None = None,
) -> OutboxItem:
    record = log_record(
        source=source, kind=kind, name=name, now=now, level=level, at=at, event_id=event_id, fields=fields
    )
    return OutboxItem("loki", key, record)
