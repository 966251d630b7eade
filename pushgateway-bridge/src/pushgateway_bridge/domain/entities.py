"""Entity state transitions: a request plus the previous state gives the next state. No HTTP, no storage.

The states' shapes, one TypedDict a kind, are in `kinds.py`.
"""

from __future__ import annotations

from pushgateway_bridge.domain.kinds import (
    PipelineState,
    Runs,
    SchedulerState,
    ServiceState,
    SidecarJobState,
)
from pushgateway_bridge.domain.models.climate import (
    AlertReport,
    MetricReport,
    PipelineReport,
    PipelineStatus,
    ServiceReport,
    ServiceStatus,
)
from pushgateway_bridge.domain.models.schedulers import (
    SchedulerRegistration,
    SchedulerStatus,
    SchedulerStatusUpdate,
)
from pushgateway_bridge.domain.models.sidecar import EventKind, SidecarEvent


def _no_runs() -> Runs:
    return {"success": 0, "failure": 0}


def sidecar_key(event: SidecarEvent) -> str:
    return "\x1f".join((event.site_id, event.app.name, event.entity_type, event.business_key))


def register_scheduler(
    previous: SchedulerState | None, body: SchedulerRegistration, now: float
) -> SchedulerState:
    if previous is None:
        return {
            "scheduler_id": body.scheduler_id,
            "service_name": body.service_name,
            "job_name": body.job_name,
            "owner_email": body.owner_email or "",
            "alert_user_id": body.alert_user_id or "",
            "registered": now,
            "status": SchedulerStatus.pending.value,
            "status_change": now,
            "consecutive_failures": 0,
            "runs": _no_runs(),
        }
    state = previous.copy()
    state["scheduler_id"] = body.scheduler_id
    state["service_name"] = body.service_name
    state["job_name"] = body.job_name
    state["owner_email"] = body.owner_email or previous.get("owner_email") or ""
    state["alert_user_id"] = body.alert_user_id or previous.get("alert_user_id") or ""
    return state


def is_status_resend(previous: SchedulerState, body: SchedulerStatusUpdate) -> bool:
    """The same status with the same client timestamp as the last update: a client retrying a request whose
    answer it lost (the seeds' clients send `timestamp`). Applying it again would count the run twice."""
    last_at: float | None = previous.get("last_status_at")
    return (
        body.timestamp is not None
        and previous["status"] == body.status.value
        and last_at == body.timestamp.timestamp()
    )


def scheduler_status(previous: SchedulerState, body: SchedulerStatusUpdate, now: float) -> SchedulerState:
    state = previous.copy()
    at = body.timestamp.timestamp() if body.timestamp else now
    status = body.status.value
    if state["status"] != status:
        state["status_change"] = at
    state["status"] = status
    state["last_status_at"] = at
    runs = state["runs"].copy()
    if body.status is SchedulerStatus.running:
        state["last_run_start"] = at
    elif body.status in (SchedulerStatus.completed, SchedulerStatus.failed):
        started: float | None = state.get("last_run_start")
        if body.execution_time_ms is not None:
            state["last_duration"] = body.execution_time_ms / 1000.0
        elif started is not None and at >= started:
            state["last_duration"] = at - started
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


def scheduler_heartbeat(previous: SchedulerState, now: float) -> SchedulerState:
    state = previous.copy()
    state["last_heartbeat"] = now
    return state


def service_report(previous: ServiceState | None, body: ServiceReport, now: float) -> ServiceState:
    state = _service_base(previous, body.name, now)
    if state["status"] != body.status.value or previous is None:
        state["status_change"] = now
    state["status"] = body.status.value
    if body.endpoint is not None:
        state["endpoint"] = body.endpoint
    state["last_report"] = now
    return state


def service_metric(previous: ServiceState | None, body: MetricReport, now: float) -> ServiceState:
    state = _service_base(previous, body.service, now)
    reported = dict(state.get("reported") or {})
    reported[body.metric_type.value] = {"value": body.value, "at": now}
    state["reported"] = reported
    state["last_report"] = now
    return state


def service_alert(previous: ServiceState | None, body: AlertReport, now: float) -> ServiceState:
    state = _service_base(previous, body.service, now)
    alerts = dict(state.get("alerts") or {})
    alerts[body.severity.value] = alerts.get(body.severity.value, 0) + 1
    state["alerts"] = alerts
    return state


def _service_base(previous: ServiceState | None, name: str, now: float) -> ServiceState:
    if previous:
        return previous.copy()
    return {
        "service": name,
        "endpoint": "",
        "status": ServiceStatus.unknown.value,
        "status_change": now,
        "alerts": {"info": 0, "warning": 0, "critical": 0},
    }


def pipeline_report(previous: PipelineState | None, body: PipelineReport, now: float) -> PipelineState:
    state: PipelineState = (
        previous.copy() if previous else {"pipeline_type": body.pipeline_type.value, "runs": _no_runs()}
    )
    status = body.status.value
    if state.get("status") != status:
        state["status_change"] = now
        runs = state["runs"].copy()
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
        last_ratio: float | None = state.get("progress")
        if ratio != last_ratio:
            state["last_progress_change"] = now
        state["progress"] = ratio
    elif body.status is PipelineStatus.completed:
        state["progress"] = 1.0
    return state


def sidecar_event(previous: SidecarJobState | None, event: SidecarEvent, now: float) -> SidecarJobState:
    at = event.timestamp.timestamp() if event.timestamp else now
    state: SidecarJobState = (
        previous.copy()
        if previous
        else {
            "site": event.site_id,
            "app": event.app.name,
            "entity_type": event.entity_type,
            "business_key": event.business_key,
            "runs": _no_runs(),
        }
    )
    state["app_version"] = event.app.version
    state["last_event"] = at
    if event.progress is not None:
        state["progress"] = event.progress
    runs = state["runs"].copy()
    if event.kind is EventKind.started:
        state["status"] = "running"
        state["last_start"] = at
        state["progress"] = event.progress or 0.0
    elif event.kind is EventKind.progress:
        state["status"] = "running"
    elif event.kind in (EventKind.finished, EventKind.failed):
        started: float | None = state.get("last_start")
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
        elif started is not None and at >= started:
            state["last_duration"] = at - started
        if event.cpu_seconds is not None:
            state["last_cpu"] = event.cpu_seconds
        if event.memory_bytes is not None:
            state["last_memory"] = event.memory_bytes
    state["runs"] = runs
    return state
