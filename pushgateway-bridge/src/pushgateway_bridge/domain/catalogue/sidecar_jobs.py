"""Series of a job reported through the sidecar API: `job="sidecar"`, grouped by `site`, `app`,
`entity_type` and `business_key`."""

from __future__ import annotations

from pushgateway_bridge.domain.catalogue.series import Doc, gauge, info, runs_total, status
from pushgateway_bridge.domain.kinds import SIDECAR

STATUSES = ("running", "finished", "failed")  # a job's state, not an event kind
_EVERY_EVENT = "every event"
_ENDED = "finished, failed"

SERIES = (
    info(
        SIDECAR,
        "sidecar_job_info",
        "A job reported through the sidecar API; always 1.",
        ("app_version",),
        Doc("app version of the last event", _EVERY_EVENT),
    ),
    status(
        SIDECAR,
        "sidecar_job_status",
        "Current status of the job, one-hot.",
        STATUSES,
        Doc("started/progress -> running", _EVERY_EVENT),
        default="",
    ),
    gauge(
        SIDECAR,
        "sidecar_job_progress_ratio",
        lambda s: s.get("progress"),
        "Progress of the current run, 0 to 1.",
        Doc("`progress` (0..1); 0 on started, 1 on finished", "started, progress, finished"),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_event_timestamp_seconds",
        lambda s: s.get("last_event"),
        "Time of the job's last event.",
        Doc("time of the last event", _EVERY_EVENT),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_start_timestamp_seconds",
        lambda s: s.get("last_start"),
        "Last started event.",
        Doc("last started", "started"),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_success_timestamp_seconds",
        lambda s: s.get("last_success"),
        "Last finished event.",
        Doc("last finished", "finished"),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_failure_timestamp_seconds",
        lambda s: s.get("last_failure"),
        "Last failed event.",
        Doc("last failed", "failed"),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_duration_seconds",
        lambda s: s.get("last_duration"),
        "Duration of the last finished or failed run.",
        Doc("`duration_s`, else time since started", _ENDED),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_cpu_seconds",
        lambda s: s.get("last_cpu"),
        "CPU seconds of the last finished or failed run.",
        Doc("`cpu_seconds`", _ENDED),
    ),
    gauge(
        SIDECAR,
        "sidecar_job_last_memory_bytes",
        lambda s: s.get("last_memory"),
        "Peak memory of the last finished or failed run.",
        Doc("`memory_bytes` (peak)", _ENDED),
    ),
    runs_total(SIDECAR, "sidecar_job_runs_total", Doc("finished / failed events", _ENDED)),
)
