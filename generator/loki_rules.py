"""Loki ruler alerts on the bridge's event log: LogQL over the stream labels the bridge writes.

The bridge's streams carry only `source`, `kind`, `level` and `service` (or `app` for sidecar jobs);
everything else is in the JSON line. Rendered to loki/rules/, in the Prometheus rule file format the Loki
ruler reads; docker-compose.yml mounts that folder as the directory of tenant "fake" (loki/loki.yml says why).
"""

from __future__ import annotations

from typing import Any

from generator.prometheus_rules.common import Rule, alert, group
from generator.source import Source
from generator.yamlout import dump

PATH = "loki/rules/bundle.rules.yml"


def alerts(source: Source) -> list[Rule]:
    if source.logs is None:
        return []
    burst = source.logs.error_burst
    jobs = source.logs.failed_jobs
    return [
        alert(
            source,
            "LogErrorBurst",
            f'sum by (source) (count_over_time({{level="error"}}[{burst.window}])) > {burst.above}',
            for_=burst.for_ or "0s",
            severity=burst.severity,
            summary="Burst of error events from {{ $labels.source }}",
            description="The bridge logged {{ $value }} error-level " + "{{ $labels.source }} events in the "
            f"last {burst.window}, more than {burst.above}. The Alerts and events dashboard lists them.",
        ),
        alert(
            source,
            "SidecarJobsFailing",
            'sum by (app) (count_over_time({source="sidecar", kind="failed"}'
            f"[{jobs.window}])) > {jobs.above}",
            for_=jobs.for_ or "0s",
            severity=jobs.severity,
            summary="Sidecar jobs of {{ $labels.app }} keep failing",
            description="{{ $value }} jobs of {{ $labels.app }} failed in the last "
            f"{jobs.window}, more than {jobs.above}. Their error messages are in the events.",
        ),
    ]


def rule_file(source: Source) -> dict[str, Any]:
    return {"groups": [group("bundle.log-alerts", alerts(source))]}


def render(source: Source, source_name: str = "monitoring.yml") -> dict[str, str]:
    return {PATH: dump(rule_file(source), source_name)}
