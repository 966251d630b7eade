"""Sidecar agent API: one job or subjob event, or a batch of them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from pushgateway_bridge.domain.models.fields import NonNegativeInt, Number, Timestamp


class EventKind(StrEnum):
    started = "started"
    progress = "progress"
    finished = "finished"
    failed = "failed"


LABEL_VALUE = Annotated[str, Field(min_length=1, max_length=200)]
TRACE_ID = r"^([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$"  # fullmatch: `$` alone would allow a final newline
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid_text(value: Any) -> Any:
    # The schema's `format: uuid` is the hyphenated form; pydantic alone also takes 32 bare digits and urns.
    if isinstance(value, str) and not UUID_TEXT.fullmatch(value):
        raise ValueError("must be a UUID as 8-4-4-4-12 hex digits")
    return value


Uuid = Annotated[UUID, BeforeValidator(_uuid_text)]


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
