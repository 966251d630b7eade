"""Entity state transitions: a request plus the previous state gives the next state. No HTTP, no storage.

A state is a JSON-able dict; timestamps are Unix seconds (float). Counters live in the state, so they
survive restarts with it.
"""

from __future__ import annotations

from typing import Any

from pushgateway_bridge.domain.models import (
    AlertReport,
    EventKind,
    MetricReport,
    PipelineReport,
    PipelineStatus,
    SchedulerRegistration,
    SchedulerStatus,
    SchedulerStatusUpdate,
    ServiceReport,
    ServiceStatus,
    SidecarEvent,
)

State = dict[str, Any]

SCHEDULER = "scheduler"
SERVICE = "service"
PIPELINE = "pipeline"
SIDECAR = "sidecar"
KINDS = (SCHEDULER, SERVICE, PIPELINE, SIDECAR)


def sidecar_key(event: SidecarEvent) -> str:
    return "\x1f".join((event.site_id, event.app.name, event.entity_type, event.business_key))


def register_scheduler(previous: State | None, body: SchedulerRegistration, now: float) -> State:
    state: State = dict(previous) if previous else {"registered": now, "runs": {"success": 0, "failure": 0}}
    state.update(
        scheduler_id=body.scheduler_id,
        service_name=body.service_name,
        job_name=body.job_name,
        owner_email=body.owner_email or (previous or {}).get("owner_email") or "",
        alert_user_id=body.alert_user_id or (previous or {}).get("alert_user_id") or "",
    )
    state.setdefault("status", SchedulerStatus.pending.value)
    state.setdefault("status_change", now)
    state.setdefault("consecutive_failures", 0)
    return state


def is_status_resend(previous: State, body: SchedulerStatusUpdate) -> bool:
    """The same status with the same client timestamp as the last update: a client retrying a request whose
    answer it lost (the seeds' clients send `timestamp`). Applying it again would count the run twice."""
    return (
        body.timestamp is not None
        and previous.get("status") == body.status.value
        and previous.get("last_status_at") == body.timestamp.timestamp()
    )


def scheduler_status(previous: State, body: SchedulerStatusUpdate, now: float) -> State:
    state = dict(previous)
    at = body.timestamp.timestamp() if body.timestamp else now
    status = body.status.value
    if state.get("status") != status:
        state["status_change"] = at
    state["status"] = status
    state["last_status_at"] = at
    runs = dict(state.get("runs") or {"success": 0, "failure": 0})
    if body.status is SchedulerStatus.running:
        state["last_run_start"] = at
    elif body.status in (SchedulerStatus.completed, SchedulerStatus.failed):
        if body.execution_time_ms is not None:
            state["last_duration"] = body.execution_time_ms / 1000.0
        elif state.get("last_run_start") is not None and at >= state["last_run_start"]:
            state["last_duration"] = at - state["last_run_start"]
        if body.status is SchedulerStatus.completed:
            state["last_success"] = at
            runs["success"] = runs.get("success", 0) + 1
            state["consecutive_failures"] = 0
            state["last_error_message"] = None
        else:
            state["last_failure"] = at
            runs["failure"] = runs.get("failure", 0) + 1
            state["consecutive_failures"] = state.get("consecutive_failures", 0) + 1
            state["last_error_message"] = body.error_message
    state["runs"] = runs
    if body.metadata is not None:
        state["last_metadata"] = body.metadata
    return state


def scheduler_heartbeat(previous: State, now: float) -> State:
    return {**previous, "last_heartbeat": now}


def service_report(previous: State | None, body: ServiceReport, now: float) -> State:
    state = _service_base(previous, body.name, now)
    if state.get("status") != body.status.value or previous is None:
        state["status_change"] = now
    state["status"] = body.status.value
    if body.endpoint is not None:
        state["endpoint"] = body.endpoint
    state["last_report"] = now
    return state


def service_metric(previous: State | None, body: MetricReport, now: float) -> State:
    state = _service_base(previous, body.service, now)
    reported = dict(state.get("reported") or {})
    reported[body.metric_type.value] = {"value": body.value, "at": now}
    state["reported"] = reported
    state["last_report"] = now
    return state


def service_alert(previous: State | None, body: AlertReport, now: float) -> State:
    state = _service_base(previous, body.service, now)
    alerts = dict(state.get("alerts") or {})
    alerts[body.severity.value] = alerts.get(body.severity.value, 0) + 1
    state["alerts"] = alerts
    return state


def _service_base(previous: State | None, name: str, now: float) -> State:
    if previous:
        return dict(previous)
    return {
        "service": name,
        "endpoint": "",
        "status": ServiceStatus.unknown.value,
        "status_change": now,
        "alerts": {"info": 0, "warning": 0, "critical": 0},
    }


def pipeline_report(previous: State | None, body: PipelineReport, now: float) -> State:
    state: State = (
        dict(previous)
        if previous
        else {
            "pipeline_type": body.pipeline_type.value,
            "runs": {"success": 0, "failure": 0},
        }
    )
    status = body.status.value
    if state.get("status") != status:
        state["status_change"] = now
        runs = dict(state["runs"])
        if body.status is PipelineStatus.completed:
            runs["success"] += 1
            state["last_success"] = now
        elif body.status is PipelineStatus.failed:
            runs["failure"] += 1
            state["last_failure"] = now
        state["runs"] = runs
    state["status"] = status
    state["last_update"] = now
    metadata = body.metadata or {}
    if "step" in metadata:
        state["step"] = metadata["step"]
    if metadata.get("progress") is not None:
        ratio = float(metadata["progress"]) / 100.0
        if ratio != state.get("progress"):
            state["last_progress_change"] = now
        state["progress"] = ratio
    elif body.status is PipelineStatus.completed:
        state["progress"] = 1.0
    return state


def sidecar_event(previous: State | None, event: SidecarEvent, now: float) -> State:
    at = event.timestamp.timestamp() if event.timestamp else now
    state: State = (
        dict(previous)
        if previous
        else {
            "site": event.site_id,
            "app": event.app.name,
            "entity_type": event.entity_type,
            "business_key": event.business_key,
            "runs": {"success": 0, "failure": 0},
        }
    )
    state["app_version"] = event.app.version
    state["last_event"] = at
    if event.progress is not None:
        state["progress"] = event.progress
    runs = dict(state["runs"])
    if event.kind is EventKind.started:
        state["status"] = "running"
        state["last_start"] = at
        state["progress"] = event.progress or 0.0
    elif event.kind is EventKind.progress:
        state["status"] = "running"
    elif event.kind in (EventKind.finished, EventKind.failed):
        if event.kind is EventKind.finished:
            state["status"] = "finished"
            state["last_success"] = at
            state["progress"] = 1.0 if event.progress is None else event.progress
            runs["success"] += 1
        else:
            state["status"] = "failed"
            state["last_failure"] = at
            runs["failure"] += 1
        if event.duration_s is not None:
            state["last_duration"] = event.duration_s
        elif state.get("last_start") is not None and at >= state["last_start"]:
            state["last_duration"] = at - state["last_start"]
        if event.cpu_seconds is not None:
            state["last_cpu"] = event.cpu_seconds
        if event.memory_bytes is not None:
            state["last_memory"] = event.memory_bytes
    state["runs"] = runs
    return state
