"""Request bodies of the three seed APIs, as pydantic models. Enums and timestamps are validated here."""

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
    field_validator,
)

MAX_FUTURE = timedelta(minutes=10)
NAME = Annotated[str, Field(min_length=1, max_length=200)]


def _aware_not_future(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a time zone (e.g. 2024-01-15T01:00:00Z)")
    if value - datetime.now(UTC) > MAX_FUTURE:
        raise ValueError("timestamp is more than 10 minutes in the future")
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_aware_not_future)]


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


def _severity(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("severity must be 1, 2, 3 or info, warning, critical")
    if isinstance(value, int):
        if value not in SEVERITY_NUMBERS:
            raise ValueError("severity must be 1 (info), 2 (warning) or 3 (critical)")
        return SEVERITY_NUMBERS[value]
    if isinstance(value, str) and value.isdigit():
        return _severity(int(value))
    if isinstance(value, str):
        return value.lower()
    return value


class ServiceReport(Legacy):
    name: NAME
    status: ServiceStatus
    endpoint: str | None = Field(default=None, max_length=2000)


class MetricReport(Legacy):
    service: NAME
    metric_type: MetricType
    value: float = Field(allow_inf_nan=False)


class PipelineReport(Legacy):
    pipeline_type: PipelineType
    status: PipelineStatus
    metadata: dict[str, Any] | None = None

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
    severity: Annotated[Severity, BeforeValidator(_severity)] = Severity.info
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


class SchedulerStatusUpdate(Legacy):
    scheduler_id: SCHEDULER_ID | None = None
    service_name: str | None = Field(default=None, max_length=200)
    job_name: str | None = Field(default=None, max_length=200)
    status: SchedulerStatus
    timestamp: Timestamp | None = None
    execution_time_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    error_message: str | None = Field(default=None, max_length=100_000)
    metadata: dict[str, Any] | None = None


class SchedulerHeartbeat(Legacy):
    scheduler_id: SCHEDULER_ID | None = None


# --- Sidecar events ----------------------------------------------------------------------------------


class EventKind(StrEnum):
    started = "started"
    progress = "progress"
    finished = "finished"
    failed = "failed"


LABEL_VALUE = Annotated[str, Field(min_length=1, max_length=200)]
TRACE_ID = re.compile(r"^[0-9a-fA-F]{16,32}$")


class AppRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: UUID | None = None
    name: LABEL_VALUE
    version: str = Field(default="", max_length=100)


class SidecarEvent(BaseModel):
    """One job or subjob event. A subjob names its parent's entity_id in parent_id."""

    model_config = ConfigDict(extra="forbid")

    event_id: UUID | None = None
    site_id: LABEL_VALUE
    app: AppRef
    entity_type: LABEL_VALUE
    business_key: LABEL_VALUE
    entity_id: UUID | None = None
    parent_id: UUID | None = None
    kind: EventKind
    timestamp: Timestamp | None = None
    progress: float | None = Field(default=None, ge=0, le=1)
    message: str | None = Field(default=None, max_length=100_000)
    duration_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cpu_seconds: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    memory_bytes: int | None = Field(default=None, ge=0)
    trace_id: str | None = None
    span_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")  # the job's span in Tempo
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("trace_id")
    @classmethod
    def _trace_id(cls, value: str | None) -> str | None:
        if value is not None and not TRACE_ID.match(value):
            raise ValueError("trace_id must be 16 or 32 hex digits")
        return value


class SidecarBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[SidecarEvent] = Field(min_length=1)
