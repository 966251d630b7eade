"""The services' and pipelines' cases: a service down or silent, a pipeline failed or stuck."""

from __future__ import annotations

from rules.alert_cases.case import Case, series

SERVICE_AND_PIPELINE_CASES = [
    Case(
        "ServiceDown fires when a service reports down for 1m",
        "ServiceDown",
        {series("service_status", job="service", service="api", status="down"): "1x10"},
        "3m",
        [
            (
                {"severity": "critical", "job": "service", "service": "api", "status": "down"},
                "Service api reports itself down",
                "api has reported status down for 1m.",
            )
        ],
    ),
    Case(
        "ServiceDown stays silent while the service reports up",
        "ServiceDown",
        {series("service_status", job="service", service="api", status="down"): "0x10"},
        "3m",
    ),
    Case(
        "ServiceReportStale fires when a service has not reported for 4m",
        "ServiceReportStale",
        {series("service_last_report_timestamp_seconds", job="service", service="api"): "0x10"},
        "4m",
        [
            (
                {"severity": "warning", "job": "service", "service": "api"},
                "Service api stopped reporting",
                "api last reported its status 4m 0s ago; it should report every 1m (stale after 3m).",
            )
        ],
    ),
    Case(
        "ServiceReportStale stays silent with a report every minute",
        "ServiceReportStale",
        {series("service_last_report_timestamp_seconds", job="service", service="api"): "0+60x10"},
        "4m",
    ),
    Case(
        "PipelineFailed fires when the last run failed",
        "PipelineFailed",
        {series("pipeline_status", job="pipeline", pipeline_type="etl", status="failed"): "1x5"},
        "1m",
        [
            (
                {"severity": "warning", "job": "pipeline", "pipeline_type": "etl", "status": "failed"},
                "Pipeline etl failed",
                "The last etl run failed; its events in Loki hold the error.",
            )
        ],
    ),
    Case(
        "PipelineFailed stays silent for a completed run",
        "PipelineFailed",
        {series("pipeline_status", job="pipeline", pipeline_type="etl", status="failed"): "0x5"},
        "1m",
    ),
    Case(
        "PipelineStuck fires when a running pipeline's progress has not moved for 31m",
        "PipelineStuck",
        {
            series("pipeline_status", job="pipeline", pipeline_type="etl", status="running"): "1x40",
            series(
                "pipeline_last_progress_change_timestamp_seconds", job="pipeline", pipeline_type="etl"
            ): "0x40",
        },
        "31m",
        [
            (
                {"severity": "warning", "job": "pipeline", "pipeline_type": "etl"},
                "Pipeline etl is stuck",
                "etl is running but its progress has not changed for 31m 0s (stuck after 30m).",
            )
        ],
    ),
    Case(
        "PipelineStuck counts from the status change when no progress was ever reported",
        "PipelineStuck",
        {
            series("pipeline_status", job="pipeline", pipeline_type="etl", status="running"): "1x40",
            series("pipeline_status_change_timestamp_seconds", job="pipeline", pipeline_type="etl"): "0x40",
        },
        "31m",
        [
            (
                {"severity": "warning", "job": "pipeline", "pipeline_type": "etl"},
                "Pipeline etl is stuck",
                "etl is running but its progress has not changed for 31m 0s (stuck after 30m).",
            )
        ],
    ),
    Case(
        "PipelineStuck stays silent while progress moves",
        "PipelineStuck",
        {
            series("pipeline_status", job="pipeline", pipeline_type="etl", status="running"): "1x40",
            series(
                "pipeline_last_progress_change_timestamp_seconds", job="pipeline", pipeline_type="etl"
            ): "0+60x40",
        },
        "31m",
    ),
]
