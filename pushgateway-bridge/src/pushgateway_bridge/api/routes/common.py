"""Helpers shared by the routes: the log record of an accepted request."""

from __future__ import annotations

from typing import Any

from pushgateway_bridge.domain.events import log_record
from pushgateway_bridge.storage.base import OutboxItem


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
