"""Request bodies of the three seed APIs, as pydantic models. Enums and timestamps are validated here.

Every rule is also in the JSON schema the OpenAPI document publishes (patterns, bounds, the shape of a
pipeline's metadata), except two no schema can state: a timestamp at most 10 minutes ahead, and a body's
scheduler_id equal to the path's; both are answered with 422 naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    field_validator,
)

MAX_FUTURE = timedelta(minutes=10)
NAME = Annotated[str, Field(min_length=1, max_length=200)]

# JSON numbers only. Lax pydantic would take `true` as 1 and "12.5" as 12.5, which the schema refuses.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _whole_float(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0; strict int alone would refuse it.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# The bound sits inside: outside the validator pydantic would publish it as "ge", which no schema tool reads.
NonNegativeInt = Annotated[int, Strict(), Field(ge=0), BeforeValidator(_whole_float)]

# RFC 3339 date-time, the schema's `format: date-time`, which requires a zone. Pydantic alone would also
# take 123 or "123" (seconds since 1970), dates without a time, and times without a zone.
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):  # built in Python, not parsed from JSON
        if value.utcoffset() is None:
            raise ValueError("timestamp must carry a time zone")
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError(
            "timestamp must be an RFC 3339 datetime with a time zone (e.g. 2024-01-15T01:00:00Z)"
        )
    return value


def _not_future(value: datetime) -> datetime:
    if value - datetime.now(UTC) > MAX_FUTURE:
        raise ValueError("timestamp is more than 10 minutes in the future")
    return value.astimezone(UTC)


Timestamp = Annotated[
    datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_not_future),
    Field(description="RFC 3339, with a zone; more than 10 minutes ahead of the bridge's clock is 422"),
]


class Legacy(BaseModel):
    """The seeds' own bodies: unknown fields are ignored, as the old servers did."""

    model_config = ConfigDict(extra="ignore")


# --- Climate System Monitor ---------------------------------------------------------------------------


class ServiceStatus(StrEnum):
    up = "up"
    down = "down"
    unknown = "unknown"


class MetricType(StrEnum):
    cpu = "cpu"
    memory = "memory"
    disk = "disk"
    network = "network"


class PipelineType(StrEnum):
    data_ingestion = "data_ingestion"
    preprocessing = "preprocessing"
    training = "training"
    evaluation = "evaluation"


class PipelineStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


SEVERITY_NUMBERS = {1: Severity.info, 2: Severity.warning, 3: Severity.critical}
SEVERITY_SCHEMA = {
    "anyOf": [
        {"type": "integer", "enum": list(SEVERITY_NUMBERS), "description": "1 info, 2 warning, 3 critical"},
        {"type": "string", "enum": [severity.value for severity in Severity]},
    ],
    "default": 1,
}


def _severity(value: Any) -> Any:
    """The seed sends 1, 2 or 3; the names are accepted too. Anything else is refused by the enum."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value not in SEVERITY_NUMBERS:
            raise ValueError("severity must be 1 (info), 2 (warning) or 3 (critical)")
        return SEVERITY_NUMBERS[int(value)]
    return value


class ServiceReport(Legacy):
    name: NAME
    status: ServiceStatus
    endpoint: str | None = Field(default=None, max_length=2000)


class MetricReport(Legacy):
    service: NAME
    metric_type: MetricType
    value: Number


PIPELINE_METADATA_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "step": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "progress": {
                    "anyOf": [{"type": "number", "minimum": 0, "maximum": 100}, {"type": "null"}],
                    "description": "percent",
                },
            },
            "additionalProperties": True,
        },
        {"type": "null"},
    ],
    "default": None,
}


class PipelineReport(Legacy):
    pipeline_type: PipelineType
    status: PipelineStatus
    # Free-form but for `step` and `progress`, which the bridge reads (checked below, stated in the schema).
    metadata: Annotated[dict[str, Any] | None, WithJsonSchema(PIPELINE_METADATA_SCHEMA)] = None

    @field_validator("metadata")
    @classmethod
    def _progress(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        progress = value.get("progress")
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100
        ):
            raise ValueError("metadata.progress must be a number from 0 to 100 (percent)")
        step = value.get("step")
        if step is not None and not isinstance(step, str):
            raise ValueError("metadata.step must be a string")
        return value


class AlertReport(Legacy):
    title: NAME
    message: str = Field(default="", max_length=10000)
    severity: Annotated[Severity, BeforeValidator(_severity), WithJsonSchema(SEVERITY_SCHEMA)] = Severity.info
    service: NAME


# --- Scheduler Monitoring API ---------------------------------------------------------------------------

SCHEDULER_ID = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]


class SchedulerStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


class SchedulerRegistration(Legacy):
    scheduler_id: SCHEDULER_ID
    service_name: NAME
    job_name: NAME
    owner_email: str | None = Field(default=None, max_length=320)
    alert_user_id: str | None = Field(default=None, max_length=200)


BODY_SCHEDULER_ID = Field(
    default=None, description="The path's scheduler_id, if sent (the seeds send it); a different one is 422"
)


class SchedulerStatusUpdate(Legacy):
    scheduler_id: SCHEDULER_ID | None = BODY_SCHEDULER_ID
    service_name: str | None = Field(default=None, max_length=200)
    job_name: str | None = Field(default=None, max_length=200)
    status: SchedulerStatus
    timestamp: Timestamp | None = None
    execution_time_ms: Number | None = Field(default=None, ge=0)
    error_message: str | None = Field(default=None, max_length=100_000)
    metadata: dict[str, Any] | None = None


class SchedulerHeartbeat(Legacy):
    scheduler_id: SCHEDULER_ID | None = BODY_SCHEDULER_ID


# --- Sidecar events ----------------------------------------------------------------------------------


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
