"""Scheduler Monitoring API: register, status, heartbeat."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from pushgateway_bridge.domain.models.fields import NAME, Legacy, Number, Timestamp

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
