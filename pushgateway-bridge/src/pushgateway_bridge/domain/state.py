"""Entity state -> one Pushgateway group (grouping labels and the whole group's exposition text).

Timestamp metrics are left out until known (never 0). Every name keeps one type, one HELP and one set of
label keys across all groups, as Pushgateway requires.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from pushgateway_bridge.domain.entities import PIPELINE, SCHEDULER, SERVICE, SIDECAR, State
from pushgateway_bridge.domain.models import (
    MetricType,
    PipelineStatus,
    SchedulerStatus,
    ServiceStatus,
    Severity,
)

# The one-hot and per-label series, from the enums the request bodies are validated against.
SCHEDULER_STATUSES = tuple(status.value for status in SchedulerStatus)
SERVICE_STATUSES = tuple(status.value for status in ServiceStatus)
PIPELINE_STATUSES = tuple(status.value for status in PipelineStatus)
SIDECAR_STATUSES = ("running", "finished", "failed")  # a job's state, not an event kind
OUTCOMES = ("success", "failure")
SEVERITIES = tuple(severity.value for severity in Severity)
METRIC_TYPES = tuple(metric_type.value for metric_type in MetricType)

Sample = tuple[dict[str, str], float]

# name -> (type, help). docs/metrics.md is the long form of this table.
CATALOGUE: dict[str, tuple[str, str]] = {
    "scheduler_info": ("gauge", "Registration of a scheduler; always 1."),
    "scheduler_status": ("gauge", "Current status of a scheduler, one-hot."),
    "scheduler_registered_timestamp_seconds": ("gauge", "When the scheduler was first registered."),
    "scheduler_status_change_timestamp_seconds": ("gauge", "When the scheduler's status last changed."),
    "scheduler_last_heartbeat_timestamp_seconds": ("gauge", "Last heartbeat received."),
    "scheduler_last_run_start_timestamp_seconds": ("gauge", "Last status update to running."),
    "scheduler_last_success_timestamp_seconds": ("gauge", "Last status update to completed."),
    "scheduler_last_failure_timestamp_seconds": ("gauge", "Last status update to failed."),
    "scheduler_last_run_duration_seconds": ("gauge", "Duration of the last finished run."),
    "scheduler_runs_total": ("counter", "Finished runs by outcome."),
    "scheduler_consecutive_failures": ("gauge", "Failed runs since the last success."),
    "service_info": ("gauge", "A service reporting to the climate API; always 1."),
    "service_status": ("gauge", "Last reported status of a service, one-hot."),
    "service_last_report_timestamp_seconds": ("gauge", "Last status or metric report of the service."),
    "service_status_change_timestamp_seconds": ("gauge", "When the service's status last changed."),
    "service_reported_value": ("gauge", "Last value the service reported for a metric type."),
    "service_reported_value_timestamp_seconds": ("gauge", "When that value was reported."),
    "service_alerts_total": ("counter", "Alerts the service posted, by severity."),
    "pipeline_status": ("gauge", "Current status of a pipeline, one-hot."),
    "pipeline_progress_ratio": ("gauge", "Progress of the current run, 0 to 1."),
    "pipeline_step_info": ("gauge", "Current step of the pipeline; always 1."),
    "pipeline_last_update_timestamp_seconds": ("gauge", "Last update of the pipeline."),
    "pipeline_status_change_timestamp_seconds": ("gauge", "When the pipeline's status last changed."),
    "pipeline_last_progress_change_timestamp_seconds": ("gauge", "When progress last changed."),
    "pipeline_last_success_timestamp_seconds": ("gauge", "Last transition to completed."),
    "pipeline_last_failure_timestamp_seconds": ("gauge", "Last transition to failed."),
    "pipeline_runs_total": ("counter", "Finished runs by outcome."),
    "sidecar_job_info": ("gauge", "A job reported through the sidecar API; always 1."),
    "sidecar_job_status": ("gauge", "Current status of the job, one-hot."),
    "sidecar_job_progress_ratio": ("gauge", "Progress of the current run, 0 to 1."),
    "sidecar_job_last_event_timestamp_seconds": ("gauge", "Time of the job's last event."),
    "sidecar_job_last_start_timestamp_seconds": ("gauge", "Last started event."),
    "sidecar_job_last_success_timestamp_seconds": ("gauge", "Last finished event."),
    "sidecar_job_last_failure_timestamp_seconds": ("gauge", "Last failed event."),
    "sidecar_job_last_duration_seconds": ("gauge", "Duration of the last finished or failed run."),
    "sidecar_job_last_cpu_seconds": ("gauge", "CPU seconds of the last finished or failed run."),
    "sidecar_job_last_memory_bytes": ("gauge", "Peak memory of the last finished or failed run."),
    "sidecar_job_runs_total": ("counter", "Finished runs by outcome."),
}


def grouping(kind: str, state: State) -> tuple[str, list[tuple[str, str]]]:
    """The Pushgateway job and grouping labels of an entity."""
    if kind == SCHEDULER:
        return "scheduler", [("scheduler_id", state["scheduler_id"])]
    if kind == SERVICE:
        return "service", [("service", state["service"])]
    if kind == PIPELINE:
        return "pipeline", [("pipeline_type", state["pipeline_type"])]
    if kind == SIDECAR:
        keys = ("site", "app", "entity_type", "business_key")
        return "sidecar", [(key, state[key]) for key in keys]
    raise ValueError(f"unknown entity kind {kind!r}")


def group_path(job: str, labels: Iterable[tuple[str, str]]) -> str:
    """URL path of a group; every value base64url-encoded so '/' and other characters are safe."""
    parts = [f"/metrics/job/{job}"]
    for name, value in labels:
        encoded = base64.urlsafe_b64encode(value.encode()).decode() if value else "="
        parts.append(f"/{name}@base64/{encoded}")
    return "".join(parts)


def render(kind: str, state: State) -> str:
    samples: dict[str, list[Sample]] = {}
    if kind == SCHEDULER:
        _scheduler(state, samples)
    elif kind == SERVICE:
        _service(state, samples)
    elif kind == PIPELINE:
        _pipeline(state, samples)
    elif kind == SIDECAR:
        _sidecar(state, samples)
    else:
        raise ValueError(f"unknown entity kind {kind!r}")
    return exposition(samples)


def exposition(samples: dict[str, list[Sample]]) -> str:
    lines: list[str] = []
    for name, rows in samples.items():
        kind, help_text = CATALOGUE[name]
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
            lines.append(
                f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _add(samples: dict[str, list[Sample]], name: str, value: Any, **labels: str) -> None:
    if value is None:
        return
    samples.setdefault(name, []).append((labels, float(value)))


def _one_hot(samples: dict[str, list[Sample]], name: str, current: str, values: tuple[str, ...]) -> None:
    for value in values:
        _add(samples, name, 1 if value == current else 0, status=value)


def _runs(samples: dict[str, list[Sample]], name: str, runs: dict[str, int]) -> None:
    for outcome in OUTCOMES:
        _add(samples, name, runs.get(outcome, 0), outcome=outcome)


def _scheduler(s: State, out: dict[str, list[Sample]]) -> None:
    _add(
        out,
        "scheduler_info",
        1,
        service_name=s.get("service_name", ""),
        job_name=s.get("job_name", ""),
        owner_email=s.get("owner_email") or "",
        alert_user_id=s.get("alert_user_id") or "",
    )
    _one_hot(out, "scheduler_status", s.get("status", "pending"), SCHEDULER_STATUSES)
    _add(out, "scheduler_registered_timestamp_seconds", s.get("registered"))
    _add(out, "scheduler_status_change_timestamp_seconds", s.get("status_change"))
    _add(out, "scheduler_last_heartbeat_timestamp_seconds", s.get("last_heartbeat"))
    _add(out, "scheduler_last_run_start_timestamp_seconds", s.get("last_run_start"))
    _add(out, "scheduler_last_success_timestamp_seconds", s.get("last_success"))
    _add(out, "scheduler_last_failure_timestamp_seconds", s.get("last_failure"))
    _add(out, "scheduler_last_run_duration_seconds", s.get("last_duration"))
    _runs(out, "scheduler_runs_total", s.get("runs") or {})
    _add(out, "scheduler_consecutive_failures", s.get("consecutive_failures", 0))


def _service(s: State, out: dict[str, list[Sample]]) -> None:
    _add(out, "service_info", 1, endpoint=s.get("endpoint") or "")
    _one_hot(out, "service_status", s.get("status", "unknown"), SERVICE_STATUSES)
    _add(out, "service_last_report_timestamp_seconds", s.get("last_report"))
    _add(out, "service_status_change_timestamp_seconds", s.get("status_change"))
    reported = s.get("reported") or {}
    for metric_type in METRIC_TYPES:
        if metric_type in reported:
            _add(out, "service_reported_value", reported[metric_type]["value"], metric_type=metric_type)
    for metric_type in METRIC_TYPES:
        if metric_type in reported:
            _add(
                out,
                "service_reported_value_timestamp_seconds",
                reported[metric_type]["at"],
                metric_type=metric_type,
            )
    alerts = s.get("alerts") or {}
    for severity in SEVERITIES:
        _add(out, "service_alerts_total", alerts.get(severity, 0), severity=severity)


def _pipeline(s: State, out: dict[str, list[Sample]]) -> None:
    _one_hot(out, "pipeline_status", s.get("status", ""), PIPELINE_STATUSES)
    _add(out, "pipeline_progress_ratio", s.get("progress"))
    if s.get("step"):
        _add(out, "pipeline_step_info", 1, step=str(s["step"]))
    _add(out, "pipeline_last_update_timestamp_seconds", s.get("last_update"))
    _add(out, "pipeline_status_change_timestamp_seconds", s.get("status_change"))
    _add(out, "pipeline_last_progress_change_timestamp_seconds", s.get("last_progress_change"))
    _add(out, "pipeline_last_success_timestamp_seconds", s.get("last_success"))
    _add(out, "pipeline_last_failure_timestamp_seconds", s.get("last_failure"))
    _runs(out, "pipeline_runs_total", s.get("runs") or {})


def _sidecar(s: State, out: dict[str, list[Sample]]) -> None:
    _add(out, "sidecar_job_info", 1, app_version=s.get("app_version") or "")
    _one_hot(out, "sidecar_job_status", s.get("status", ""), SIDECAR_STATUSES)
    _add(out, "sidecar_job_progress_ratio", s.get("progress"))
    _add(out, "sidecar_job_last_event_timestamp_seconds", s.get("last_event"))
    _add(out, "sidecar_job_last_start_timestamp_seconds", s.get("last_start"))
    _add(out, "sidecar_job_last_success_timestamp_seconds", s.get("last_success"))
    _add(out, "sidecar_job_last_failure_timestamp_seconds", s.get("last_failure"))
    _add(out, "sidecar_job_last_duration_seconds", s.get("last_duration"))
    _add(out, "sidecar_job_last_cpu_seconds", s.get("last_cpu"))
    _add(out, "sidecar_job_last_memory_bytes", s.get("last_memory"))
    _runs(out, "sidecar_job_runs_total", s.get("runs") or {})
