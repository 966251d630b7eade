"""The schedulers' cases about a run itself: heartbeats, failures, runs too slow or too fast."""

from __future__ import annotations

from rules.alert_cases.case import EOD, EOD_LABELS, OWNER, REPORTS_LABELS, Case, info, series


def _running(scheduler_id: str, heartbeat: str) -> dict[str, str]:
    return {
        series("scheduler_status", job="scheduler", scheduler_id=scheduler_id, status="running"): "1x20",
        series(
            "scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id=scheduler_id
        ): "0x20",
        series(
            "scheduler_last_heartbeat_timestamp_seconds", job="scheduler", scheduler_id=scheduler_id
        ): heartbeat,
        info(scheduler_id): "1x20",
    }


SCHEDULER_RUN_CASES = [
    Case(
        "SchedulerHeartbeatMissing fires with the owner's labels when a running job is silent for 10m",
        "SchedulerHeartbeatMissing",
        _running("batch-a", "60x20"),
        "12m",
        [
            (
                {"severity": "warning", "scheduler_id": "batch-a", **OWNER},
                "Scheduler batch-a stopped sending heartbeats",
                "batch-a is running but sent no heartbeat for 11m 0s (expected every 5m; lost after 2 missed).",
            )
        ],
    ),
    Case(
        "SchedulerHeartbeatMissing fires without owner labels for a scheduler whose registration is unknown",
        "SchedulerHeartbeatMissing",
        {k: v for k, v in _running("batch-b", "60x20").items() if not k.startswith("scheduler_info")},
        "12m",
        [
            (
                {"severity": "warning", "scheduler_id": "batch-b"},
                "Scheduler batch-b stopped sending heartbeats",
                "batch-b is running but sent no heartbeat for 11m 0s (expected every 5m; lost after 2 missed).",
            )
        ],
    ),
    Case(
        "SchedulerHeartbeatMissing stays silent while heartbeats arrive every minute",
        "SchedulerHeartbeatMissing",
        _running("batch-a", "0+60x20"),
        "12m",
    ),
    Case(
        "SchedulerRunFailed fires on the first failure by default",
        "SchedulerRunFailed",
        {
            series("scheduler_consecutive_failures", job="scheduler", scheduler_id="batch-a"): "1x5",
            info("batch-a"): "1x5",
        },
        "1m",
        [
            (
                {"severity": "warning", "job": "scheduler", "scheduler_id": "batch-a", **OWNER},
                "Scheduler batch-a failed",
                "batch-a (Nightly billing) failed its last 1 run(s); the bridge's events in Loki hold the error "
                "message.",
            )
        ],
    ),
    Case(
        "SchedulerRunFailed waits for 3 failures in a row for reports-*",
        "SchedulerRunFailed",
        {
            series("scheduler_consecutive_failures", job="scheduler", scheduler_id="reports-hourly"): "2x5",
            info("reports-hourly"): "1x5",
        },
        "1m",
    ),
    Case(
        "SchedulerRunFailed fires for reports-* on the third failure in a row",
        "SchedulerRunFailed",
        {
            series("scheduler_consecutive_failures", job="scheduler", scheduler_id="reports-hourly"): "3x5",
            info("reports-hourly"): "1x5",
        },
        "1m",
        [
            (
                {**REPORTS_LABELS, "job": "scheduler"},
                "Scheduler reports-hourly failed 3 runs in a row",
                "reports-hourly (Nightly billing) failed its last 3 run(s); the bridge's events in Loki hold the "
                "error message.",
            )
        ],
    ),
    Case(
        "SchedulerRunTooSlow fires when the EOD job runs past 1h plus 15m grace",
        "SchedulerRunTooSlow",
        {
            info(EOD): "1x90",
            series("scheduler_status", job="scheduler", scheduler_id=EOD, status="running"): "1x90",
            series("scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id=EOD): "0x90",
        },
        "76m",
        [
            (
                {**EOD_LABELS, "job": "scheduler"},
                f"Scheduler {EOD} runs too long",
                f"{EOD} has been running for 1h 16m 0s, longer than its 1h (plus 15m grace).",
            )
        ],
    ),
    Case(
        "SchedulerRunTooSlow stays silent once the run completed",
        "SchedulerRunTooSlow",
        {
            info(EOD): "1x90",
            series("scheduler_status", job="scheduler", scheduler_id=EOD, status="running"): "0x90",
            series("scheduler_last_run_start_timestamp_seconds", job="scheduler", scheduler_id=EOD): "0x90",
        },
        "76m",
    ),
    Case(
        "SchedulerRunTooFast fires when the EOD job completed in 30s, under its 1m minimum",
        "SchedulerRunTooFast",
        {
            info(EOD): "1x10",
            series("scheduler_status", job="scheduler", scheduler_id=EOD, status="completed"): "1x10",
            series("scheduler_last_run_duration_seconds", job="scheduler", scheduler_id=EOD): "30x10",
        },
        "1m",
        [
            (
                {**EOD_LABELS, "job": "scheduler"},
                f"Scheduler {EOD} finished suspiciously fast",
                f"{EOD} completed in 30s, under its minimum of 1m: it may have done nothing.",
            )
        ],
    ),
    Case(
        "SchedulerRunTooFast stays silent for a 2m run",
        "SchedulerRunTooFast",
        {
            info(EOD): "1x10",
            series("scheduler_status", job="scheduler", scheduler_id=EOD, status="completed"): "1x10",
            series("scheduler_last_run_duration_seconds", job="scheduler", scheduler_id=EOD): "120x10",
        },
        "1m",
    ),
]
