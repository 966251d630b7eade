"""Every rendered alert, run through `promtool test rules`: a case where it fires, with its exact labels and
annotations, and a case where it stays silent.

Inputs are chosen from the committed monitoring.yml's thresholds; the coverage test at the bottom reads the
alert names from the rendered rule files, so a new alert without cases fails here.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.source import load_source
from stack import binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
SOURCE = load_source(ROOT / "monitoring.yml")

OWNER = {
    "service_name": "billing",
    "job_name": "Nightly billing",
    "owner_email": "owner@example.com",
    "alert_user_id": "U123",
}
EOD = "my-service-eod-process"
EOD_LABELS = {"severity": "critical", "team": "settlements", "scheduler_id": EOD, **OWNER}
REPORTS_LABELS = {"severity": "warning", "team": "reporting", "scheduler_id": "reports-hourly", **OWNER}
DISK = {"job": "node", "instance": "h1", "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}


def info(scheduler_id: str) -> str:
    labels = ",".join(f'{key}="{value}"' for key, value in OWNER.items())
    return f'scheduler_info{{job="scheduler",scheduler_id="{scheduler_id}",{labels}}}'


def series(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def disk(
    *, size: int, free: int | str, avail: int | str, samples: int = 20, labels: dict[str, str] = DISK
) -> dict[str, str]:
    """One filesystem's node_filesystem_* series: a number is held constant, a string is promtool notation."""

    def values(value: int | str) -> str:
        return value if isinstance(value, str) else f"{value}x{samples}"

    return {
        series("node_filesystem_size_bytes", **labels): values(size),
        series("node_filesystem_free_bytes", **labels): values(free),
        series("node_filesystem_avail_bytes", **labels): values(avail),
        series("node_filesystem_readonly", **labels): values(0),
    }


@dataclass
class Case:
    """One `promtool test rules` test: input series, then the alerts expected at one evaluation time."""

    name: str
    alert: str
    inputs: dict[str, str]
    eval_time: str
    fires: list[tuple[dict[str, str], str, str]] = field(default_factory=list)  # labels, summary, description
    interval: str = "1m"
    # Cases that span days evaluate less often, so promtool finishes in seconds.
    evaluation_interval: str = "1m"

    def promtool_test(self) -> dict[str, Any]:
        expected = [
            {
                "exp_labels": labels,
                "exp_annotations": {
                    "summary": summary,
                    "description": description,
                    "runbook_url": f"{SOURCE.runbook_base_url}#{self.alert.lower()}",
                },
            }
            for labels, summary, description in self.fires
        ]
        return {
            "name": self.name,
            "interval": self.interval,
            "input_series": [{"series": name, "values": values} for name, values in self.inputs.items()],
            "alert_rule_test": [
                {"eval_time": self.eval_time, "alertname": self.alert, "exp_alerts": expected}
            ],
        }


HOST_CASES = [
    Case(
        "HostHighCpu fires when a host is 90% busy for longer than 10m",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+6x40"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "CPU busy on h1",
                "CPU of h1 has been 90.0% busy, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighCpu is still pending 5m into a busy spell",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+6x40"},
        "5m",
    ),
    Case(
        "HostHighCpu stays silent at 50% busy",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="h1", cpu="0", mode="idle"): "0+30x40"},
        "20m",
    ),
    Case(
        "HostHighCpu on a Raspberry Pi carries its host group",
        "HostHighCpu",
        {series("node_cpu_seconds_total", job="node", instance="pi-1", cpu="0", mode="idle"): "0+6x40"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU busy on pi-1",
                "CPU of pi-1 has been 90.0% busy, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighMemory fires when 90% of memory is used for longer than 10m",
        "HostHighMemory",
        {
            series("node_memory_MemAvailable_bytes", job="node", instance="h1"): "100x30",
            series("node_memory_MemTotal_bytes", job="node", instance="h1"): "1000x30",
        },
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "Memory almost used up on h1",
                "h1 uses 90.0% of its memory, above 80%, for 10m.",
            )
        ],
    ),
    Case(
        "HostHighMemory stays silent at half the memory used",
        "HostHighMemory",
        {
            series("node_memory_MemAvailable_bytes", job="node", instance="h1"): "500x30",
            series("node_memory_MemTotal_bytes", job="node", instance="h1"): "1000x30",
        },
        "20m",
    ),
    Case(
        "HostDiskAlmostFull fires as warning and critical at 97.8% of the space users can have",
        "HostDiskAlmostFull",
        disk(size=100, free=10, avail=2),  # used 90 of 92; 8 blocks reserved for root
        "10m",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 97.8% full, above 90%.",
            ),
            (
                {"severity": "critical", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 97.8% full, above 97%.",
            ),
        ],
    ),
    Case(
        "HostDiskAlmostFull at 93.8% of the space users can have is only a warning",
        "HostDiskAlmostFull",
        disk(size=100, free=25, avail=5),  # used 75 of 80
        "10m",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / almost full on h1",
                "/ (/dev/sda1) on h1 is 93.8% full, above 90%.",
            )
        ],
    ),
    Case(
        "HostDiskAlmostFull stays silent at 89.9% used, though only 9% of the disk is available",
        "HostDiskAlmostFull",
        disk(size=100, free=20, avail=9),  # used 80 of 89, as df's Use%; 1 - avail/size would say 91%
        "10m",
    ),
    Case(
        "HostDiskAlmostFull stays silent at half full",
        "HostDiskAlmostFull",
        disk(size=100, free=50, avail=45),
        "10m",
    ),
    Case(
        "HostDiskFillingUp fires when free space falls fast enough to run out within 24h",
        "HostDiskFillingUp",
        # 5 blocks reserved for root: 24.6 of the 95 users can have are left at 8h.
        disk(size=100, free="44-0.03x600", avail="39-0.03x600", samples=600),
        "8h",
        [
            (
                {"severity": "warning", **DISK},
                "Disk / on h1 fills up within 24h",
                "/ (/dev/sda1) on h1 has 25.9% free and, at the rate of the last 6h, will be full within 24h.",
            )
        ],
    ),
    Case(
        "HostDiskFillingUp stays silent when free space holds steady",
        "HostDiskFillingUp",
        disk(size=100, free=35, avail=30, samples=600),
        "8h",
    ),
    Case(
        "HostHighTemperature fires above 70 °C on a server",
        "HostHighTemperature",
        {series("node_thermal_zone_temp", job="node", instance="h1", type="x86_pkg_temp", zone="0"): "72x20"},
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1"},
                "CPU hot on h1",
                "CPU of h1 is at 72.0 °C, above 70 °C, for 5m.",
            )
        ],
    ),
    Case(
        "HostHighTemperature stays silent at 72 °C on a Raspberry Pi, whose group raises the level to 75 °C",
        "HostHighTemperature",
        {
            series(
                "node_thermal_zone_temp", job="node", instance="pi-1", type="cpu-thermal", zone="0"
            ): "72x20"
        },
        "10m",
    ),
    Case(
        "HostHighTemperature fires warning and critical at 85 °C on a Raspberry Pi",
        "HostHighTemperature",
        {
            series(
                "node_thermal_zone_temp", job="node", instance="pi-1", type="cpu-thermal", zone="0"
            ): "85x20"
        },
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU hot on pi-1",
                "CPU of pi-1 is at 85.0 °C, above 75 °C, for 5m.",
            ),
            (
                {"severity": "critical", "job": "node", "instance": "pi-1", "host_group": "raspberry-pis"},
                "CPU hot on pi-1",
                "CPU of pi-1 is at 85.0 °C, above 80 °C, for 2m.",
            ),
        ],
    ),
    Case(
        "HostThrottled fires when the Pi firmware reports throttling for 5m",
        "HostThrottled",
        {series("node_rpi_throttled", job="node", instance="pi-1"): "1x20"},
        "10m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "pi-1"},
                "pi-1 is throttled",
                "The Raspberry Pi firmware reports pi-1 as throttled (get_throttled bit 2) for 5m: it runs "
                "slower than it should.",
            )
        ],
    ),
    Case(
        "HostThrottled stays silent while the flag is clear",
        "HostThrottled",
        {series("node_rpi_throttled", job="node", instance="pi-1"): "0x20"},
        "10m",
    ),
    Case(
        "HostUnderVoltage fires critical when the Pi reports under-voltage",
        "HostUnderVoltage",
        {series("node_rpi_under_voltage", job="node", instance="pi-1"): "1x20"},
        "5m",
        [
            (
                {"severity": "critical", "job": "node", "instance": "pi-1"},
                "pi-1 is under-voltage",
                "The Raspberry Pi firmware reports under-voltage on pi-1 (get_throttled bit 0) for 1m: check "
                "the power supply; SD card corruption follows.",
            )
        ],
    ),
    Case(
        "HostUnderVoltage stays silent with a good power supply",
        "HostUnderVoltage",
        {series("node_rpi_under_voltage", job="node", instance="pi-1"): "0x20"},
        "5m",
    ),
    Case(
        "ExporterDown fires when a host exporter has not answered for 5m",
        "ExporterDown",
        {series("up", job="node", instance="h1"): "0x20"},
        "10m",
        [
            (
                {"severity": "critical", "job": "node", "instance": "h1"},
                "Exporter h1 is down",
                "Prometheus could not scrape node target h1 for 5m: the host is down or its exporter stopped.",
            )
        ],
    ),
    Case(
        "ExporterDown stays silent while the exporter answers",
        "ExporterDown",
        {series("up", job="node", instance="h1"): "1x20"},
        "10m",
    ),
    Case(
        "ExporterAbsent fires when Prometheus has no host exporter target at all",
        "ExporterAbsent",
        {series("up", job="other", instance="x"): "1x20"},
        "10m",
        [
            (
                {"severity": "warning"},
                "No host exporter targets",
                "Prometheus has no target in the jobs node for 5m: its scrape configuration lost them.",
            )
        ],
    ),
    Case(
        "ExporterAbsent stays silent with a host exporter target",
        "ExporterAbsent",
        {series("up", job="node", instance="h1"): "1x20"},
        "10m",
    ),
    Case(
        "CollectorFailing fires when a collector fails every scrape for 15m",
        "CollectorFailing",
        {series("node_scrape_collector_success", job="node", instance="h1", collector="hwmon"): "0x30"},
        "20m",
        [
            (
                {"severity": "warning", "job": "node", "instance": "h1", "collector": "hwmon"},
                "Collector hwmon fails on h1",
                "The hwmon collector of h1 has failed every scrape for 15m; the exporter's log says why.",
            )
        ],
    ),
    Case(
        "CollectorFailing stays silent while collectors succeed",
        "CollectorFailing",
        {series("node_scrape_collector_success", job="node", instance="h1", collector="hwmon"): "1x30"},
        "20m",
    ),
]


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


SCHEDULER_CASES = [
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

BRIDGE = {"job": "bridge", "instance": "b:8000"}
BRIDGE_CASES = [
    Case(
        "BridgeDown fires when the bridge has not answered scrapes for 5m",
        "BridgeDown",
        {series("up", **BRIDGE): "0x20"},
        "10m",
        [
            (
                {"severity": "critical", **BRIDGE},
                "The bridge b:8000 is down",
                "Prometheus could not scrape the bridge at b:8000 for 5m: services, schedulers and pipelines "
                "cannot report.",
            )
        ],
    ),
    Case("BridgeDown stays silent while it answers", "BridgeDown", {series("up", **BRIDGE): "1x20"}, "10m"),
    Case(
        "BridgeDownstreamFailing fires when Loki has been unreachable for 5m",
        "BridgeDownstreamFailing",
        {series("bridge_downstream_up", downstream="loki", **BRIDGE): "0x20"},
        "10m",
        [
            (
                {"severity": "warning", "downstream": "loki", **BRIDGE},
                "The bridge cannot deliver to loki",
                "b:8000 has failed to deliver to loki for 5m; accepted events wait in its spool.",
            )
        ],
    ),
    Case(
        "BridgeDownstreamFailing stays silent while Loki is reachable",
        "BridgeDownstreamFailing",
        {series("bridge_downstream_up", downstream="loki", **BRIDGE): "1x20"},
        "10m",
    ),
    Case(
        "BridgeBacklogGrowing fires when the oldest undelivered event is older than 10m",
        "BridgeBacklogGrowing",
        {series("bridge_outbox_oldest_pending_age_seconds", downstream="pushgateway", **BRIDGE): "700x5"},
        "1m",
        [
            (
                {"severity": "warning", "downstream": "pushgateway", **BRIDGE},
                "The bridge's backlog to pushgateway is not draining",
                "The oldest event waiting for pushgateway on b:8000 is 11m 40s old (more than 10m).",
            )
        ],
    ),
    Case(
        "BridgeBacklogGrowing stays silent with a fresh backlog",
        "BridgeBacklogGrowing",
        {series("bridge_outbox_oldest_pending_age_seconds", downstream="pushgateway", **BRIDGE): "5x5"},
        "1m",
    ),
    Case(
        "BridgeSpoolFull fires as soon as the spool refuses events",
        "BridgeSpoolFull",
        {series("bridge_spool_full", **BRIDGE): "1x5"},
        "1m",
        [
            (
                {"severity": "critical", **BRIDGE},
                "The bridge's spool is full",
                "b:8000 refuses new events with 503 because its spool is full; clients retry, but nothing new is "
                "accepted until a downstream drains it.",
            )
        ],
    ),
    Case(
        "BridgeSpoolFull stays silent with room in the spool",
        "BridgeSpoolFull",
        {series("bridge_spool_full", **BRIDGE): "0x5"},
        "1m",
    ),
    Case(
        "BridgeDeliveryRejected fires when Loki permanently rejects deliveries",
        "BridgeDeliveryRejected",
        {series("bridge_dead_letters_total", downstream="loki", **BRIDGE): "0 0 1 2 3x10"},
        "10m",
        [
            (
                {"severity": "warning", "downstream": "loki", **BRIDGE},
                "loki rejects what the bridge sends",
                "loki permanently rejected 3 items from b:8000 in 15m; they are in the bridge's dead_letters "
                "table and its log names them.",
            )
        ],
    ),
    Case(
        "BridgeDeliveryRejected stays silent for retryable errors",
        "BridgeDeliveryRejected",
        {
            series(
                "bridge_forward_errors_total", downstream="loki", kind="http_503", **BRIDGE
            ): "0 0 1 2 3x10",
            series("bridge_dead_letters_total", downstream="loki", **BRIDGE): "0x15",
        },
        "10m",
    ),
]

ALL_CASES = HOST_CASES + SCHEDULER_CASES + SERVICE_AND_PIPELINE_CASES + BRIDGE_CASES


def rendered_alerts() -> dict[str, Path]:
    """Alert name -> the rendered rule file that defines it."""
    found: dict[str, Path] = {}
    for path in sorted(RULES.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = path
    return found


def run_promtool(
    rule_file: Path, tests: list[dict[str, Any]], tmp_path: Path, evaluation_interval: str
) -> None:
    test_file = tmp_path / f"{rule_file.stem}.{evaluation_interval}.test.yml"
    document = {"rule_files": [str(rule_file)], "evaluation_interval": evaluation_interval, "tests": tests}
    test_file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    result = subprocess.run(
        [binary("promtool"), "test", "rules", str(test_file)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_file", sorted(RULES.glob("*.rules.yml")), ids=lambda path: path.name)
def test_promtool_check_rules(rule_file: Path) -> None:
    result = subprocess.run(
        [binary("promtool"), "check", "rules", str(rule_file)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule_file", sorted({path for path in rendered_alerts().values()}), ids=str)
def test_alerts_fire_and_stay_silent(rule_file: Path, tmp_path: Path) -> None:
    alerts = rendered_alerts()
    cases = [case for case in ALL_CASES if alerts.get(case.alert) == rule_file]
    assert cases, f"no cases for {rule_file.name}"
    for interval in sorted({case.evaluation_interval for case in cases}):
        selected = [case for case in cases if case.evaluation_interval == interval]
        run_promtool(rule_file, [case.promtool_test() for case in selected], tmp_path, interval)


def test_filesystem_usage_is_the_used_share_of_the_space_users_can_have(tmp_path: Path) -> None:
    """df's Use% and psutil's disk_usage().percent: used / (used + avail) with used = size - free."""
    reserved = DISK
    unreserved = {**DISK, "device": "/dev/sdb1", "mountpoint": "/data"}
    empty = {**DISK, "device": "none", "fstype": "ramfs", "mountpoint": "/run/empty"}
    inputs = {
        **disk(size=100, free=25, avail=5, labels=reserved),
        **disk(size=100, free=40, avail=40, labels=unreserved),
        **disk(size=0, free=0, avail=0, labels=empty),
    }
    record = "instance_mountpoint:node_filesystem_utilisation:ratio"
    expected = [
        {"labels": series(record, **reserved), "value": 0.9375},  # 75 used of 80; 1 - avail/size says 0.95
        {"labels": series(record, **unreserved), "value": 0.6},
    ]  # the empty filesystem has no value rather than NaN
    test = {
        "name": "filesystem usage counts root's reserved blocks neither as used nor as available",
        "interval": "1m",
        "input_series": [{"series": name, "values": values} for name, values in inputs.items()],
        "promql_expr_test": [{"expr": record, "eval_time": "2m", "exp_samples": expected}],
    }
    run_promtool(RULES / "host.rules.yml", [test], tmp_path, "1m")


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    alerts = set(rendered_alerts())
    firing = {case.alert for case in ALL_CASES if case.fires}
    silent = {case.alert for case in ALL_CASES if not case.fires}
    assert sorted(alerts - firing) == [], "alerts without a case where they fire"
    assert sorted(alerts - silent) == [], "alerts without a case where they stay silent"
    assert sorted({case.alert for case in ALL_CASES} - alerts) == [], "cases for alerts that are not rendered"


def test_every_alert_links_its_runbook_section() -> None:
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    headings = {line[3:].strip() for line in runbooks.splitlines() if line.startswith("## ")}
    assert sorted(set(rendered_alerts()) - headings) == []
