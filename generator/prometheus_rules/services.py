"""Service rules: reported down, and status reports gone stale (the guide asks for one a minute)."""

from __future__ import annotations

from typing import Any

from generator.prometheus_rules.common import alert, duration, group
from generator.source import Source, seconds


def rule_file(source: Source) -> dict[str, Any]:
    services = source.services
    stale = seconds(services.report_interval) * services.missed_reports
    return {
        "groups": [
            group(
                "service.alerts",
                [
                    alert(
                        source,
                        "ServiceDown",
                        'service_status{status="down"} == 1',
                        for_=services.down_for,
                        severity=services.down_severity,
                        summary="Service {{ $labels.service }} reports itself down",
                        description="{{ $labels.service }} has reported status down for "
                        f"{services.down_for}.",
                    ),
                    alert(
                        source,
                        "ServiceReportStale",
                        f"time() - service_last_report_timestamp_seconds > {stale}",
                        for_="0s",
                        severity="warning",
                        summary="Service {{ $labels.service }} stopped reporting",
                        description="{{ $labels.service }} last reported its status "
                        "{{ $value | humanizeDuration }} ago; it should report every "
                        f"{services.report_interval} (stale after {duration(stale)}).",
                    ),
                ],
            )
        ]
    }
