"""Series of a scheduler (scheduler monitoring API): `job="scheduler"`, grouped by `scheduler_id`."""

from __future__ import annotations

from pushgateway_bridge.domain.catalogue.series import Doc, gauge, info, runs_total, status
from pushgateway_bridge.domain.kinds import SCHEDULER
from pushgateway_bridge.domain.models.schedulers import SchedulerStatus

STATUSES = tuple(s.value for s in SchedulerStatus)
_STATUS = "`PUT .../status`"
_FIELDS = ("service_name", "job_name", "owner_email", "alert_user_id")

SERIES = (
    info(
        SCHEDULER,
        "scheduler_info",
        "Registration of a scheduler; always 1.",
        _FIELDS,
        Doc("registration fields, to join into alert labels", "`POST /api/v1/schedulers/register`"),
    ),
    status(
        SCHEDULER,
        "scheduler_status",
        "Current status of a scheduler, one-hot.",
        STATUSES,
        Doc("current status (pending after registration)", f"register, {_STATUS}"),
        default=SchedulerStatus.pending.value,
    ),
    gauge(
        SCHEDULER,
        "scheduler_registered_timestamp_seconds",
        lambda s: s.get("registered"),
        "When the scheduler was first registered.",
        Doc("first registration", "register"),
    ),
    gauge(
        SCHEDULER,
        "scheduler_status_change_timestamp_seconds",
        lambda s: s.get("status_change"),
        "When the scheduler's status last changed.",
        Doc("last change of status (the body's `timestamp` if given)", _STATUS),
    ),
    gauge(
        SCHEDULER,
        "scheduler_last_heartbeat_timestamp_seconds",
        lambda s: s.get("last_heartbeat"),
        "Last heartbeat received.",
        Doc("last heartbeat (time received)", "`POST .../heartbeat`"),
    ),
    gauge(
        SCHEDULER,
        "scheduler_last_run_start_timestamp_seconds",
        lambda s: s.get("last_run_start"),
        "Last status update to running.",
        Doc("last status `running`", _STATUS),
    ),
    gauge(
        SCHEDULER,
        "scheduler_last_success_timestamp_seconds",
        lambda s: s.get("last_success"),
        "Last status update to completed.",
        Doc("last status `completed`", _STATUS),
    ),
    gauge(
        SCHEDULER,
        "scheduler_last_failure_timestamp_seconds",
        lambda s: s.get("last_failure"),
        "Last status update to failed.",
        Doc("last status `failed`", _STATUS),
    ),
    gauge(
        SCHEDULER,
        "scheduler_last_run_duration_seconds",
        lambda s: s.get("last_duration"),
        "Duration of the last finished run.",
        Doc("`execution_time_ms`/1000, else time since the last `running`", _STATUS),
    ),
    runs_total(SCHEDULER, "scheduler_runs_total", Doc("finished runs", f"{_STATUS} completed/failed")),
    gauge(
        SCHEDULER,
        "scheduler_consecutive_failures",
        lambda s: s.get("consecutive_failures", 0),
        "Failed runs since the last success.",
        Doc("failed runs since the last success", _STATUS),
    ),
)
