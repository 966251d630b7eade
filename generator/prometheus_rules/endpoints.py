"""Endpoint probes: a service's endpoint failing its blackbox probes, or answering slowly.

The series are the blackbox exporter's, as Prometheus' `endpoints` job scrapes them: `probe_success` and
`probe_duration_seconds` with the labels the bridge's service discovery gives (`service`) and the job's
relabelling sets (`instance`, the endpoint URL).
"""

from __future__ import annotations

from typing import Any

from generator.prometheus_rules.common import alert, group, selector
from generator.source import Source


def rule_file(source: Source) -> dict[str, Any]:
    endpoints = source.endpoints
    job = selector(f'job="{endpoints.job}"')
    slow = endpoints.slow
    return {
        "groups": [
            group(
                "endpoint.alerts",
                [
                    alert(
                        source,
                        "EndpointDown",
                        f"probe_success{job} == 0",
                        for_=endpoints.down_for,
                        severity=endpoints.down_severity,
                        summary="Endpoint of service {{ $labels.service }} is down",
                        description="Every probe of {{ $labels.instance }} failed for "
                        f"{endpoints.down_for}: no answer, or not a 2xx.",
                    ),
                    alert(
                        source,
                        "EndpointSlow",
                        # A failed probe lasts until its timeout: that is EndpointDown, not slowness.
                        f"probe_duration_seconds{job} > {slow.above_seconds:g} and probe_success{job} == 1",
                        for_=slow.for_,
                        severity=slow.severity,
                        summary="Endpoint of service {{ $labels.service }} is slow",
                        description="{{ $labels.instance }} answers, but its last probe took "
                        "{{ $value | humanizeDuration }}; every probe for "
                        f"{slow.for_} took over {slow.above_seconds:g}s.",
                    ),
                ],
            )
        ]
    }
