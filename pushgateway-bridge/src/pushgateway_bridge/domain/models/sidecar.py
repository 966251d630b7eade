"""Sidecar agent API: one job or subjob event, or a batch of them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator

from pushgateway_bridge.domain.models.fields import NonNegativeInt, Number, Timestamp


class EventKind(StrEnum):
    started = "started"
    progress = "progress"
    finished = "finished"
    failed = "failed"


LABEL_VALUE = Annotated[str, Field(min_length=1, max_length=200)]
TRACE_ID = r"^([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$"  # fullmatch: `$` alone would allow a final newline
# The schema's `format: uuid` in its hyphenated form, kept as its lowercase text. Pydantic's UUID type also
# takes 32 bare digits and urns, and building a uuid.UUID for each id took two fifths of a batch's
# validation in Python; every use of an id is its text.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Uuid = Annotated[
    str,
    StringConstraints(pattern=UUID_PATTERN, to_lower=True),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]


class AppRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: Uuid | None = None
    name: LABEL_VALUE
    version: str = Field(default="", max_length=100)


class SidecarEvent(BaseModel):
    """One job or subjob event. A subjob names its parent's entity_id in parent_id."""

    model_config = ConfigDict(extra="forbid")

    event_id: Uuid | None = None
    site_id: LABEL_VALUE
    app: AppRef
    entity_type: LABEL_VALUE
    business_key: LABEL_VALUE
    entity_id: Uuid | None = None
    parent_id: Uuid | None = None
    kind: EventKind
    timestamp: Timestamp | None = None
    progress: Number | None = Field(default=None, ge=0, le=1)
    message: str | None = Field(default=None, max_length=100_000)
    duration_s: Number | None = Field(default=None, ge=0)
    cpu_seconds: Number | None = Field(default=None, ge=0)
    memory_bytes: NonNegativeInt | None = None
    trace_id: Annotated[str, WithJsonSchema({"type": "string", "pattern": TRACE_ID})] | None = None
    span_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")  # the job's span in Tempo
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("trace_id")
    @classmethod
    def _trace_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(TRACE_ID, value):
            raise ValueError("trace_id must be 16 or 32 hex digits")
        return value


class SidecarBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[SidecarEvent] = Field(min_length=1)
