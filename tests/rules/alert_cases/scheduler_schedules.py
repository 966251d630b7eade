"""The schedulers' cases about their schedule in monitoring.yml: a start late, a deadline missed, a success
overdue, runs too often, a scheduler that never registered."""

from __future__ import annotations

from rules.alert_cases.case import EOD, EOD_LABELS, REPORTS_LABELS, Case, info, series

SCHEDULER_SCHEDULE_CASES = [
    Case(
        "SchedulerStartLate fires at 17:50 on a weekday when the 17:30 EOD job never started",
        "SchedulerStartLate",
        {info(EOD): "1x250"},
        "17h50m",
        [
            (
                EOD_LABELS,
                f"Scheduler {EOD} has not started",
                f"{EOD} should start at 30 17 * * 1-5 (Europe/London) and has not started within 15m.",
            )
        ],
        interval="5m",
        evaluation_interval="5m",
    ),
    Case(
        "SchedulerStartLate stays silent when the EOD job started at 17:31",
        "SchedulerStartLate",
        {
            info(EOD): "1x250",
            series(
                "scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id=EOD
            ): "63060x250",
        },
        "17h50m",
        interval="5m",
        evaluation_interval="5m",
    ),
    Case(
        "SchedulerStartLate stays silent on a Saturday, when the EOD job does not run",
        "SchedulerStartLate",
        {info(EOD): "1x800"},
        "65h50m",
        interval="5m",
        evaluation_interval="5m",
    ),
    Case(
        "SchedulerStartLate fires for an hourly job that has not started for 71m",
        "SchedulerStartLate",
        {
            info("reports-hourly"): "1x100",
            series(
                "scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id="reports-hourly"
            ): "0x100",
        },
        "71m",
        [
            (
                {**REPORTS_LABELS, "job": "scheduler"},
                "Scheduler reports-hourly has not started",
                "reports-hourly last started 1h 11m 0s ago; its schedule 0 * * * * runs at least every 1h "
                "(plus 10m grace).",
            )
        ],
    ),
    Case(
        "SchedulerDeadlineMissed fires at 19:05 when the EOD job never reported at all",
        "SchedulerDeadlineMissed",
        {},
        "19h5m",
        [
            (
                {"severity": "critical", "team": "settlements", "scheduler_id": EOD},
                f"Scheduler {EOD} missed its 19:00 deadline",
                f"{EOD} had not succeeded by 19:00 (Europe/London) today, whether it failed, is still running or "
                "never ran.",
            )
        ],
        interval="5m",
        evaluation_interval="5m",
    ),
    Case(
        "SchedulerDeadlineMissed stays silent when the EOD job succeeded at 18:00",
        "SchedulerDeadlineMissed",
        {
            info(EOD): "1x250",
            series(
                "scheduler_last_success_timestamp_seconds", job="scheduler", scheduler_id=EOD
            ): "64800x250",
        },
        "19h5m",
        interval="5m",
        evaluation_interval="5m",
    ),
    Case(
        "SchedulerRunOverdue fires when an hourly job has not succeeded for 1h46m",
        "SchedulerRunOverdue",
        {
            info("reports-hourly"): "1x250",
            series(
                "scheduler_last_success_timestamp_seconds", job="scheduler", scheduler_id="reports-hourly"
            ): "0x120",
        },
        "106m",
        [
            (
                {**REPORTS_LABELS, "job": "scheduler"},
                "Scheduler reports-hourly has not succeeded for too long",
                "reports-hourly last succeeded 1h 46m 0s ago; by its schedule 0 * * * * (UTC) a run should "
                "succeed every 1h.",
            )
        ],
    ),
    Case(
        "SchedulerRunOverdue stays silent within schedule, runtime and grace",
        "SchedulerRunOverdue",
        {
            info("reports-hourly"): "1x250",
            series(
                "scheduler_last_success_timestamp_seconds", job="scheduler", scheduler_id="reports-hourly"
            ): "0x120",
        },
        "100m",
    ),
    Case(
        "SchedulerRunsTooOften fires when an hourly job starts twice within 30m",
        "SchedulerRunsTooOften",
        {
            info("reports-hourly"): "1x40",
            series(
                "scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id="reports-hourly"
            ): "0x10 600x10 1200x20",
        },
        "25m",
        [
            (
                {**REPORTS_LABELS, "job": "scheduler"},
                "Scheduler reports-hourly runs more often than scheduled",
                "reports-hourly started 2 runs within 30m; its schedule 0 * * * * runs at most every 1h.",
            )
        ],
    ),
    Case(
        "SchedulerRunsTooOften stays silent for one start",
        "SchedulerRunsTooOften",
        {
            info("reports-hourly"): "1x40",
            series(
                "scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id="reports-hourly"
            ): "0x10 600x30",
        },
        "25m",
    ),
    Case(
        "SchedulerNeverReported fires when an expected scheduler never registered",
        "SchedulerNeverReported",
        {},
        "74h",
        evaluation_interval="5m",
        fires=[
            (
                {"severity": "critical", "team": "settlements", "scheduler_id": EOD},
                f"Scheduler {EOD} never registered",
                f"{EOD} is expected by monitoring.yml but has not registered with the bridge for 3d1h15m.",
            )
        ],
        interval="1h",
    ),
    Case(
        "SchedulerNeverReported stays silent once the scheduler registered",
        "SchedulerNeverReported",
        {info(EOD): "1x80"},
        "74h",
        interval="1h",
        evaluation_interval="5m",
    ),
]
