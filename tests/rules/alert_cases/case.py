"""`Case`, one `promtool test rules` test of one alert, and what the cases share: the series helpers and the
label sets of the schedulers and the disk they use.

Inputs are chosen from the committed monitoring.yml's thresholds (and its runbook base URL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.source import load_source

ROOT = Path(__file__).resolve().parents[3]
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
