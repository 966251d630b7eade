"""The bridge's event schema: `AppRef` names the application, `Event` is one job or subjob state change."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from uuid import UUID, uuid4

Kind = Literal["started", "progress", "finished", "failed"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class AppRef:
    """The application a job belongs to: a stable id, a name and a version."""

    app_id: UUID | str
    name: str
    version: str

    def __post_init__(self) -> None:
        UUID(str(self.app_id))  # ValueError on anything that is not a UUID
        if not self.name:
            raise ValueError("app name must not be empty")
        if not self.version:
            raise ValueError("app version must not be empty")

    def to_json(self) -> dict[str, str]:
        return {"app_id": str(self.app_id), "name": self.name, "version": self.version}


@dataclass(frozen=True)
class Event:
    """One state change of a job or subjob, as the bridge's `/v1/events/batch` takes it.

    `event_id` is set here, once, so a batch re-sent after a timeout is recognised as the same events.
    """

    site_id: str
    app: AppRef
    entity_type: str
    business_key: str
    entity_id: UUID
    kind: Kind
    parent_id: UUID | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    progress: float | None = None
    message: str | None = None
    duration_s: float | None = None
    cpu_seconds: float | None = None
    memory_bytes: int | None = None
    trace_id: str | None = None
    span_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    event_id: UUID = field(default_factory=uuid4)

    def __post_init__(self) -> None:
        for name in ("site_id", "entity_type", "business_key"):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if self.timestamp.tzinfo is None:
            raise ValueError("timestamp must carry a time zone")
        if self.progress is not None and not 0.0 <= self.progress <= 1.0:
            raise ValueError(f"progress must be within 0..1, not {self.progress}")
        for name in ("duration_s", "cpu_seconds", "memory_bytes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0, not {value}")
        if self.trace_id is not None and not _TRACE_ID.match(self.trace_id):
            raise ValueError("trace_id must be 32 lower-case hex digits")
        if self.span_id is not None and not _SPAN_ID.match(self.span_id):
            raise ValueError("span_id must be 16 lower-case hex digits")

    def to_json(self) -> dict[str, Any]:
        """The JSON object the bridge takes; optional fields that are unset are left out."""
        body: dict[str, Any] = {
            "event_id": str(self.event_id),
            "site_id": self.site_id,
            "app": self.app.to_json(),
            "entity_type": self.entity_type,
            "business_key": self.business_key,
            "entity_id": str(self.entity_id),
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "kind": self.kind,
            "timestamp": self.timestamp.isoformat(),
            "metadata": dict(self.metadata),
        }
        optional: dict[str, Any] = {
            "progress": self.progress,
            "message": self.message,
            "duration_s": self.duration_s,
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_bytes,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return body
