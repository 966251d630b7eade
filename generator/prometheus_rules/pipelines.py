"""Pipeline rules: a failed run, and a running pipeline whose progress stopped moving."""

from __future__ import annotations

from typing import Any

from generator.prometheus_rules.common import alert, group
from generator.source import Source, seconds


def rule_file(source: Source) -> dict[str, Any]:
    pipelines = source.pipelines
    stuck = seconds(pipelines.stuck_after)
    # Progress that was never reported counts from the run's status change.
    last_move = (
        "(pipeline_last_progress_change_timestamp_seconds or pipeline_status_change_timestamp_seconds)"
    )
    return {
        "groups": [
            group(
                "pipeline.alerts",
                [
                    alert(
                        source,
                        "PipelineFailed",
                        'pipeline_status{status="failed"} == 1',
                        for_="0s",
                        severity=pipelines.failed_severity,
                        summary="Pipeline {{ $labels.pipeline_type }} failed",
                        description="The last {{ $labels.pipeline_type }} run failed; its events in Loki "
                        "hold the error.",
                    ),
                    alert(
                        source,
                        "PipelineStuck",
                        f"time() - {last_move} > {stuck}\n"
                        'and on (pipeline_type) pipeline_status{status="running"} == 1',
                        for_="0s",
                        severity="warning",
                        summary="Pipeline {{ $labels.pipeline_type }} is stuck",
                        description="{{ $labels.pipeline_type }} is running but its progress has not changed "
                        f"for {{{{ $value | humanizeDuration }}}} (stuck after {pipelines.stuck_after}).",
                    ),
                ],
            )
        ]
    }
