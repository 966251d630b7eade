"""Series of a climate-API pipeline: `job="pipeline"`, grouped by `pipeline_type`."""

from __future__ import annotations

from collections.abc import Iterable

from pushgateway_bridge.domain.catalogue.series import Doc, Sample, gauge, runs_total, series, status
from pushgateway_bridge.domain.kinds import PIPELINE, PipelineState
from pushgateway_bridge.domain.models.climate import PipelineStatus

STATUSES = tuple(s.value for s in PipelineStatus)
_PIPELINES = "`POST /pipelines/`"


def _step(state: PipelineState) -> Iterable[Sample]:
    return [({"step": str(state["step"])}, 1)] if state.get("step") else []


SERIES = (
    status(
        PIPELINE,
        "pipeline_status",
        "Current status of a pipeline, one-hot.",
        STATUSES,
        Doc("current status", _PIPELINES),
        default="",
    ),
    gauge(
        PIPELINE,
        "pipeline_progress_ratio",
        lambda s: s.get("progress"),
        "Progress of the current run, 0 to 1.",
        Doc("`metadata.progress`/100 (0..1); 1 on completed without progress", _PIPELINES),
    ),
    series(
        PIPELINE,
        "pipeline_step_info",
        "gauge",
        "Current step of the pipeline; always 1.",
        _step,
        Doc("current `metadata.step`", _PIPELINES),
        labels=("step",),
        shape="(1)",
    ),
    gauge(
        PIPELINE,
        "pipeline_last_update_timestamp_seconds",
        lambda s: s.get("last_update"),
        "Last update of the pipeline.",
        Doc("last report", _PIPELINES),
    ),
    gauge(
        PIPELINE,
        "pipeline_status_change_timestamp_seconds",
        lambda s: s.get("status_change"),
        "When the pipeline's status last changed.",
        Doc("last change of status", _PIPELINES),
    ),
    gauge(
        PIPELINE,
        "pipeline_last_progress_change_timestamp_seconds",
        lambda s: s.get("last_progress_change"),
        "When progress last changed.",
        Doc("last change of progress", _PIPELINES),
    ),
    gauge(
        PIPELINE,
        "pipeline_last_success_timestamp_seconds",
        lambda s: s.get("last_success"),
        "Last transition to completed.",
        Doc("last transition to completed", _PIPELINES),
    ),
    gauge(
        PIPELINE,
        "pipeline_last_failure_timestamp_seconds",
        lambda s: s.get("last_failure"),
        "Last transition to failed.",
        Doc("last transition to failed", _PIPELINES),
    ),
    runs_total(PIPELINE, "pipeline_runs_total", Doc("transitions to completed / failed", _PIPELINES)),
)
