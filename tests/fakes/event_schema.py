"""The bridge's event schema, strictly: what the strict stand-in of the event API accepts.

`validate_event` raises `Invalid(field, reason)` for anything the real bridge would reject, so the SDK's
tests fail when it sends a field the bridge does not know or a value of the wrong type.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

UUID_FIELDS = ("event_id", "entity_id")
REQUIRED = {
    "event_id",
    "site_id",
    "app",
    "entity_type",
    "business_key",
    "entity_id",
    "kind",
    "timestamp",
}
OPTIONAL = {
    "parent_id",
    "progress",
    "message",
    "duration_s",
    "cpu_seconds",
    "memory_bytes",
    "trace_id",
    "span_id",
    "metadata",
}
KINDS = {"started", "progress", "finished", "failed"}
HEX = {digits: re.compile(f"[0-9a-f]{{{digits}}}") for digits in (16, 32)}


class Invalid(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _uuid(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise Invalid(field, "must be a UUID string")
    try:
        UUID(value)
    except ValueError:
        raise Invalid(field, "must be a UUID string") from None


def validate_event(event: Any, where: str = "") -> None:
    """Raise `Invalid(field, reason)` unless `event` is exactly the bridge's event schema."""
    if not isinstance(event, dict):
        raise Invalid(where or "event", "must be an object")
    missing = REQUIRED - event.keys()
    if missing:
        raise Invalid(where + sorted(missing)[0], "required")
    unknown = event.keys() - REQUIRED - OPTIONAL
    if unknown:
        raise Invalid(where + sorted(unknown)[0], "unknown field")
    _validate_identity(event, where)
    _validate_measures(event, where)


def _validate_identity(event: dict[str, Any], where: str) -> None:
    for field in UUID_FIELDS:
        _uuid(event[field], where + field)
    if event.get("parent_id") is not None:
        _uuid(event["parent_id"], where + "parent_id")
    for field in ("site_id", "entity_type", "business_key"):
        if not isinstance(event[field], str) or not event[field]:
            raise Invalid(where + field, "must be a non-empty string")
    app = event["app"]
    if not isinstance(app, dict) or set(app) != {"app_id", "name", "version"}:
        raise Invalid(where + "app", "must be {app_id, name, version}")
    _uuid(app["app_id"], where + "app.app_id")
    if event["kind"] not in KINDS:
        raise Invalid(where + "kind", f"must be one of {sorted(KINDS)}")
    try:
        stamp = datetime.fromisoformat(event["timestamp"])
    except (TypeError, ValueError):
        raise Invalid(where + "timestamp", "must be ISO-8601") from None
    if stamp.tzinfo is None:
        raise Invalid(where + "timestamp", "must carry a time zone")
    for field, digits in (("trace_id", 32), ("span_id", 16)):
        value = event.get(field)
        if value is not None and not (isinstance(value, str) and HEX[digits].fullmatch(value)):
            raise Invalid(where + field, f"must be {digits} lower-case hex digits")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _validate_measures(event: dict[str, Any], where: str) -> None:
    progress = event.get("progress")
    if progress is not None and (not _number(progress) or not 0 <= progress <= 1):
        raise Invalid(where + "progress", "must be a number within 0..1")
    for field in ("duration_s", "cpu_seconds"):
        value = event.get(field)
        if value is not None and (not _number(value) or value < 0):
            raise Invalid(where + field, "must be a number >= 0")
    memory = event.get("memory_bytes")
    if memory is not None and (not _number(memory) or not isinstance(memory, int) or memory < 0):
        raise Invalid(where + "memory_bytes", "must be an integer >= 0")
    if event.get("message") is not None and not isinstance(event["message"], str):
        raise Invalid(where + "message", "must be a string")
    if "metadata" in event and not isinstance(event["metadata"], dict):
        raise Invalid(where + "metadata", "must be an object")


def batch_events(document: Any) -> list[Any] | None:
    """The events of a `/v1/events/batch` body, or None unless it is exactly `{"events": [non-empty list]}`."""
    if not isinstance(document, dict) or set(document) != {"events"}:
        return None
    events = document["events"]
    if not isinstance(events, list) or not events:
        return None
    return events
