"""Rules for the bridge itself: down, a downstream failing, a backlog that does not drain, writes held back
for delivery, a full spool."""

from __future__ import annotations

from typing import Any

from generator.prometheus_rules.common import alert, group
from generator.source import Source, seconds


def rule_file(source: Source) -> dict[str, Any]:
    bridge = source.bridge
    job = f'job="{bridge.job}"'
    return {
        "groups": [
            group(
                "bridge.alerts",
                [
                    alert(
                        source,
                        "BridgeDown",
                        f"up{{{job}}} == 0",
                        for_="5m",
                        severity="critical",
                        summary="The bridge {{ $labels.instance }} is down",
                        description="Prometheus could not scrape the bridge at {{ $labels.instance }} for "
                        "5m: services, schedulers and pipelines cannot report.",
                    ),
                    alert(
                        source,
                        "BridgeDownstreamFailing",
                        f"bridge_downstream_up{{{job}}} == 0",
                        for_=bridge.downstream_failing_for,
                        severity="warning",
                        summary="The bridge cannot deliver to {{ $labels.downstream }}",
                        description="{{ $labels.instance }} has failed to deliver to "
                        "{{ $labels.downstream }} "
                        f"for {bridge.downstream_failing_for}; accepted events wait in its spool.",
                    ),
                    alert(
                        source,
                        "BridgeBacklogGrowing",
                        f"bridge_outbox_oldest_pending_age_seconds{{{job}}}"
                        f" > {seconds(bridge.backlog_max_age)}",
                        for_="0s",
                        severity="warning",
                        summary="The bridge's backlog to {{ $labels.downstream }} is not draining",
                        description="The oldest event waiting for {{ $labels.downstream }} on "
                        "{{ $labels.instance }} is {{ $value | humanizeDuration }} old "
                        f"(more than {bridge.backlog_max_age}).",
                    ),
                    alert(
                        source,
                        "BridgeBackpressure",
                        # Seconds waited per second, summed over the writes: how many wait at once.
                        f"rate(bridge_backpressure_seconds_total{{{job}}}[5m])"
                        f" > {bridge.backpressure.above:g}",
                        for_=bridge.backpressure.for_,
                        severity=bridge.backpressure.severity,
                        summary="Writes to the bridge wait for its delivery",
                        description='{{ $value | printf "%.1f" }} writes to {{ $labels.instance }} wait at '
                        "once, on average, for delivery to catch up (backpressure_pending_items): intake "
                        "outruns the downstreams. Answers are slower; nothing is refused.",
                    ),
                    alert(
                        source,
                        "BridgeSpoolFull",
                        f"bridge_spool_full{{{job}}} == 1",
                        for_="0s",
                        severity="critical",
                        summary="The bridge's spool is full",
                        description="{{ $labels.instance }} refuses new events with 503 because its spool is "
                        "full; clients retry, but nothing new is accepted until a downstream drains it.",
                    ),
                    alert(
                        source,
                        "BridgeDeliveryRejected",
                        # Dead letters are the permanent rejections (sinks/base.py decides which).
                        f"increase(bridge_dead_letters_total{{{job}}}[15m]) > 0",
                        for_="0s",
                        severity="warning",
                        summary="{{ $labels.downstream }} rejects what the bridge sends",
                        description="{{ $labels.downstream }} permanently rejected "
                        '{{ $value | printf "%.0f" }} items from {{ $labels.instance }} in 15m; they are in '
                        "the bridge's dead_letters table and its log names them.",
                    ),
                ],
            )
        ]
    }
