"""The bridge's own alerts' cases: down, a downstream failing, a backlog growing, writes held back for
delivery, the spool full, deliveries rejected."""

from __future__ import annotations

from rules.alert_cases.case import Case, series

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
        # 120 s waited each minute: two writes waiting at all times.
        "BridgeBackpressure fires when writes have waited for delivery, two at a time, for 15m",
        "BridgeBackpressure",
        {series("bridge_backpressure_seconds_total", **BRIDGE): "0+120x30"},
        "25m",
        [
            (
                {"severity": "warning", **BRIDGE},
                "Writes to the bridge wait for its delivery",
                "2.0 writes to b:8000 wait at once, on average, for delivery to catch up "
                "(backpressure_pending_items): intake outruns the downstreams. Answers are slower; nothing is "
                "refused.",
            )
        ],
    ),
    Case(
        # The same load for 10m only: a burst the backlog absorbed.
        "BridgeBackpressure stays silent when writes waited for less than 15m",
        "BridgeBackpressure",
        {series("bridge_backpressure_seconds_total", **BRIDGE): "0+120x10 1200x20"},
        "25m",
    ),
    Case(
        "BridgeBackpressure stays silent while less than one write waits at a time",
        "BridgeBackpressure",
        {series("bridge_backpressure_seconds_total", **BRIDGE): "0+30x30"},
        "25m",
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
