"""Climate System Monitor: POST /services/, /metrics/, /pipelines/, /alerts/."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from pushgateway_bridge.domain.models.fields import NAME, Legacy, Number


class ServiceStatus(StrEnum):
    up = "up"
    down = "down"
    unknown = "unknown"


class MetricType(StrEnum):
    cpu = "cpu"
    memory = "memory"
    disk = "disk"
    network = "network"


class PipelineType(StrEnum):
    data_ingestion = "data_ingestion"
    preprocessing = "preprocessing"
    training = "training"
    evaluation = "evaluation"


class PipelineStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


SEVERITY_NUMBERS = {1: Severity.info, 2: Severity.warning, 3: Severity.critical}
SEVERITY_SCHEMA = {
    "anyOf": [
        {"type": "integer", "enum": list(SEVERITY_NUMBERS), "description": "1 info, 2 warning, 3 critical"},
        {"type": "string", "enum": [severity.value for severity in Severity]},
    ],
    "default": 1,
}


def _severity(value: Any) -> Any:
    """The seed sends 1, 2 or 3; the names are accepted too. Anything else is refused by the enum."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value not in SEVERITY_NUMBERS:
            raise ValueError("severity must be 1 (info), 2 (warning) or 3 (critical)")
        return SEVERITY_NUMBERS[int(value)]
    return value


class ServiceReport(Legacy):
    name: NAME
    status: ServiceStatus
    endpoint: str | None = Field(default=None, max_length=2000)


class MetricReport(Legacy):
    service: NAME
    metric_type: MetricType
    value: Number


PIPELINE_METADATA_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "step": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "progress": {
                    "anyOf": [{"type": "number", "minimum": 0, "maximum": 100}, {"type": "null"}],
                    "description": "percent",
                },
            },
            "additionalProperties": True,
        },
        {"type": "null"},
    ],
    "default": None,
}


class PipelineReport(Legacy):
    pipeline_type: PipelineType
    status: PipelineStatus
    # Free-form but for `step` and `progress`, which the bridge reads (checked below, stated in the schema).
    metadata: Annotated[dict[str, Any] | None, WithJsonSchema(PIPELINE_METADATA_SCHEMA)] = None

    @field_validator("metadata")
    @classmethod
    def _progress(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        progress = value.get("progress")
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, int | float) or not 0 <= progress <= 100
        ):
            raise ValueError("metadata.progress must be a number from 0 to 100 (percent)")
        step = value.get("step")
        if step is not None and not isinstance(step, str):
            raise ValueError("metadata.step must be a string")
        return value


class AlertReport(Legacy):
    title: NAME
    message: str = Field(default="", max_length=10000)
    severity: Annotated[Severity, BeforeValidator(_severity), WithJsonSchema(SEVERITY_SCHEMA)] = Severity.info
    service: NAME
