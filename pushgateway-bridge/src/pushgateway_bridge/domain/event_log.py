"""The event each accepted request adds to the event log: which of its fields, at which level.

The routes call these after the state transition (`entities.py`); the event sinks give the events their
shape (`sinks/loki.py`, `sinks/events_file.py`). The sidecar API's events go as one batch a request, made
into events where they are delivered (`event_batch.py`).
"""

from __future__ import annotations

import json

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from pushgateway_bridge.domain.events import Event, event
from pushgateway_bridge.domain.kinds import SchedulerState
from pushgateway_bridge.domain.models.climate import (
    AlertReport,
    MetricReport,
    PipelineReport,
    PipelineStatus,
    ServiceReport,
    ServiceStatus,
    Severity,
)
from pushgateway_bridge.domain.models.schedulers import (
    SchedulerRegistration,
    SchedulerStatus,
    SchedulerStatusUpdate,
)
from pushgateway_bridge.domain.models.sidecar import SidecarEvent

ALERT_LEVELS = {Severity.info: "info", Severity.warning: "warn", Severity.critical: "error"}


def service_status(body: ServiceReport, now: float) -> Event:
    fields = {"service_name": body.name, "status": body.status.value, "endpoint": body.endpoint}
    level = "error" if body.status is ServiceStatus.down else "info"
    return event(source="service", kind="status", name=body.name, now=now, fields=fields, level=level)


def service_metric(body: MetricReport, now: float) -> Event:
    fields = {"service_name": body.service, "metric_type": body.metric_type.value, "value": body.value}
    return event(source="service", kind="metric", name=body.service, now=now, fields=fields)


def pipeline_status(body: PipelineReport, now: float) -> Event:
    name = body.pipeline_type.value
    fields = {"pipeline_type": name, "status": body.status.value, "metadata": body.metadata or {}}
    level = "error" if body.status is PipelineStatus.failed else "info"
    return event(source="pipeline", kind="status", name=name, now=now, fields=fields, level=level)


def service_alert(body: AlertReport, now: float) -> Event:
    fields = {
        "service_name": body.service,
        "title": body.title,
        "message": body.message,
        "severity": body.severity.value,
    }
    level = ALERT_LEVELS[body.severity]
    return event(source="alert", kind="alert", name=body.service, now=now, fields=fields, level=level)


def scheduler_registered(body: SchedulerRegistration, now: float) -> Event:
    fields = body.model_dump(mode="json")
    return event(source="scheduler", kind="register", name=body.service_name, now=now, fields=fields)


def scheduler_status(
    scheduler_id: str, previous: SchedulerState, body: SchedulerStatusUpdate, now: float
) -> Event:
    fields = {
        "scheduler_id": scheduler_id,
        "job_name": previous.get("job_name"),
        "status": body.status.value,
        "execution_time_ms": body.execution_time_ms,
        "error_message": body.error_message,
        "metadata": body.metadata,
    }
    return event(
        source="scheduler",
        kind="status",
        name=previous["service_name"],
        now=now,
        fields=fields,
        level="error" if body.status is SchedulerStatus.failed else "info",
        at=body.timestamp.timestamp() if body.timestamp else None,
    )


def scheduler_heartbeat(scheduler_id: str, previous: SchedulerState, now: float) -> Event:
    return _scheduler_id_only("heartbeat", scheduler_id, previous, now, level="debug")


def scheduler_deregistered(scheduler_id: str, previous: SchedulerState, now: float) -> Event:
    return _scheduler_id_only("deregister", scheduler_id, previous, now)


def _scheduler_id_only(
    kind: str, scheduler_id: str, previous: SchedulerState, now: float, level: str = "info"
) -> Event:
    fields = {"scheduler_id": scheduler_id}
    name = previous["service_name"]
    return event(source="scheduler", kind=kind, name=name, now=now, fields=fields, level=level)


_SIDECAR_EVENTS = TypeAdapter(list[SidecarEvent])


def sidecar_json(sidecars: list[SidecarEvent]) -> bytes:
    """The events as one JSON array, their None fields left out, for `event_batch.encoded` (which makes them
    neutral events where they are delivered). One call for the batch: a dict of fields per event, encoded
    again by the writer, cost about three times as much. A string UTF-8 cannot hold (a lone surrogate, which
    a body parsed by json.loads may carry) goes through json.dumps, which escapes it."""
    try:
        return _SIDECAR_EVENTS.dump_json(sidecars, exclude_none=True)
    except PydanticSerializationError:
        fields = _SIDECAR_EVENTS.dump_python(sidecars, mode="json", exclude_none=True)
        return json.dumps(fields, separators=(",", ":")).encode()
